"""The hostile submissions are data, never collected by pytest (one ships a conftest.py)."""
collect_ignore = ["submissions"]
