"""Helpers shared by the tests (importable as ``support``: pytest puts ``tests/`` on the path):
Hypothesis strategies (``strategies``), fixed programs (``programs``) and the in-process CLI (``cli``)."""
