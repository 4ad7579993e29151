"""`make bench` (issue 12): data generators at production volumes, a load generator that
runs as its own process on loopback, and the statistics they report. `scripts/bench`
drives them; docs/benchmarks.md says what each figure means."""
