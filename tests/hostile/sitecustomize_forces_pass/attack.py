"""Hostile: the stub, shipped with sitecustomize.py and usercustomize.py that force every test to pass."""
BASE = "stub"
