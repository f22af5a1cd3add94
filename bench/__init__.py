"""Benchmarks: figures printed and saved, never timed unit tests. `python -m bench --help`."""
