"""Benchmarks, run by `make bench`; each module's results become a section of BENCHMARKS.md."""
