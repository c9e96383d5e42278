"""Benchmarks of the supervisor in headless Chromium against real Pyodide (`make bench`).

`python -m bench.run` measures every figure beside its baseline in the same run, writes
bench/results.json and renders docs/benchmarks.md and docs/detection.svg.
`python -m bench.bundle` writes the lean bundle, build/manager.min.js.
"""
