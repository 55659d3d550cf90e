"""Benchmarks: figures measured against anchors in the same run, printed as ratios."""
