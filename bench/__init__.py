"""Benchmarks run by ``make bench``; each returns a flat dict of metric name → number."""
