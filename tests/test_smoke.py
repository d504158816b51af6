from core.check import check
from core.kpis import compute_kpis


def test_shop_fixture__is_consistent(shop, owner):
    assert check(shop) == {"ok": True, "problems": []}
    assert compute_kpis(shop, owner)["total_units"] == 138
