"""Benchmarks: run as ``python -m tests.perf.bench_<name>``; not collected by pytest."""
