"""Hostile: the stub, shipped with conftest.py files (here and at the root) that force every test to pass."""
BASE = "stub"
