"""Bench-only Django pieces for `bench/open_lines.py`: settings, a URLconf with a bare
comparison view, the data loader and the in-process profiler. Not part of the product.

They live in this sub-package (not next to `open_lines.py`) because `make bench` runs every
`bench/*.py` file as a script.
"""
