"""``make bench``: benchmarks whose results and target checks are written to docs/benchmarks.md."""
