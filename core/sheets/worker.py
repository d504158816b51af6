"""Reading a workbook (XLSX/XLS/ODS) in a bounded child process, so that the parser cannot take the app down.

python-calamine is native code: a hostile workbook can make it abort the whole process (a Rust abort is not an
exception) or allocate gigabytes. ``parse_workbook`` therefore runs this file as a fresh Python process (``python
-P core/sheets/worker.py``: it imports the standard library, ``guard`` beside it and python-calamine,
never the app), sends it the file's bytes on stdin and reads the first sheet back as JSON: a grid of text cells.
The child limits its own address space (RLIMIT_AS) and CPU time first, then checks the archive and the sheet's
extent (``core.sheets.guard``), and only then lets the parser see the file. The parent kills it after a timeout
and, waiting, holds neither the GIL nor the file's inflated XML.

Invariants: ``parse_workbook`` returns the first sheet's rows (lists of ``str``, trailing blank cells dropped) or
raises ``Refused`` with a sentence for a person; a crash, a memory blow-up or a timeout of the child is such a
sentence, never an exception of another kind and never a dead parent. The child also refuses a sheet whose parsed
extent is over the bounds before converting a cell, and an answer larger than the unzipped-size bound.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
from datetime import date, datetime, time
from typing import Any

if __name__ == "__main__":  # the child: the guard beside this file, without the app's package and its imports
    sys.path.append(os.path.dirname(os.path.abspath(__file__)))
    from guard import Bounds, Refused, inspect_workbook, too_many_cells, too_many_rows
else:
    from core.sheets.guard import Bounds, Refused, inspect_workbook, too_many_cells, too_many_rows

WORKER_PATH = os.path.abspath(__file__)
CSV_HINT = "save it as CSV and import that instead"
last_child_peak_kb = 0  # the last child's peak resident memory (for the benchmark)


def cell_text(value: Any) -> str:
    """A parsed cell as text: blank ``""``, whole numbers without ``.0``, dates in ISO form."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return str(value)


def worker_command(bounds: Bounds) -> list[str]:
    """The child's command line (tests replace it to simulate a crash)."""
    # -P: the script's folder (core/) is not put first on sys.path, so it cannot shadow a standard module
    return [sys.executable, "-P", WORKER_PATH, json.dumps(dataclasses.asdict(bounds))]


def parse_workbook(data: bytes, bounds: Bounds) -> list[list[str]]:
    """The first sheet of a workbook as rows of text cells, checked and parsed in a bounded child process.

    Raises ``Refused`` (a sentence) for a workbook out of bounds, damaged or empty, and for a child that crashed,
    ran out of memory or of time."""
    global last_child_peak_kb
    try:
        done = subprocess.run(
            worker_command(bounds),
            input=data,
            capture_output=True,
            timeout=bounds.seconds,
            check=False,
            env={**os.environ, "RUST_BACKTRACE": "0", "PYTHONWARNINGS": "ignore"},
        )
    except subprocess.TimeoutExpired:
        raise Refused(
            f"Reading the workbook took longer than {bounds.seconds:,} seconds, so it was stopped; {CSV_HINT}."
        ) from None
    except OSError as exc:
        raise Refused(f"The workbook reader could not be started ({exc.strerror or exc}).") from None
    answer = None
    if done.returncode == 0:
        try:
            answer = json.loads(done.stdout)
        except ValueError:
            pass
    if isinstance(answer, dict):
        last_child_peak_kb = int(answer.get("peak_kb") or 0)
        if isinstance(answer.get("problem"), str):
            raise Refused(answer["problem"])
        if isinstance(answer.get("rows"), list):
            return answer["rows"]
    if b"memory allocation" in done.stderr or b"MemoryError" in done.stderr:
        raise Refused(
            f"The workbook needs more memory to read than an import may use ({bounds.memory_mb:,} MB); {CSV_HINT}."
        )
    raise Refused(
        "The workbook could not be read: the reader stopped on it (it is damaged, or built to break readers)."
    )


# ---- the child ------------------------------------------------------------------------------------------------


def _grid(data: bytes, bounds: Bounds) -> dict[str, Any]:
    import io

    inspect_workbook(data, bounds)
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        if not book.sheet_names:
            return {"problem": "The workbook has no sheets."}
        sheet = book.get_sheet_by_index(0)
        if sheet.end is None:
            return {"rows": []}
        rows, columns = sheet.end[0] + 1, sheet.end[1] + 1
        if rows * columns > bounds.max_cells:
            return {"problem": too_many_cells(rows, columns, bounds.max_cells)}
        if rows > bounds.max_rows + 1:
            return {"problem": too_many_rows(bounds.max_rows)}
        grid = sheet.to_python(skip_empty_area=False)
    except MemoryError:
        raise
    except Exception as exc:
        return {"problem": f"The workbook could not be read ({type(exc).__name__}); is it a damaged file?"}
    del book, sheet
    out = []
    for row in grid:
        cells = [c if type(c) is str else cell_text(c) for c in row]
        while cells and not cells[-1]:
            cells.pop()
        out.append(cells)
    return {"rows": out}


def _peak_kb() -> int:
    """This process's peak resident memory (VmHWM: since its exec, unlike ru_maxrss after a fork)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def main(argv: list[str]) -> int:
    import resource

    bounds = Bounds(**json.loads(argv[0]))
    limit = bounds.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CPU, (bounds.seconds, bounds.seconds + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    try:
        data = sys.stdin.buffer.read()
        try:
            answer = _grid(data, bounds)
        except Refused as exc:
            answer = {"problem": str(exc)}
        del data
        answer["peak_kb"] = _peak_kb()
        text = json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        del answer
    except MemoryError:
        sys.stderr.write("MemoryError\n")
        return 3
    if len(text) > bounds.max_unzipped:
        too_much = f"The workbook's first sheet holds more text than an import may read; {CSV_HINT}."
        text = json.dumps({"problem": too_much, "peak_kb": _peak_kb()}).encode()
    sys.stdout.buffer.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
