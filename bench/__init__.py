"""Benchmarks (run as scripts: ``python -m bench.bench_recommend``)."""
