"""The benchmark harness: `make bench` / `python manage.py bench` (see docs/benchmarks.md)."""
