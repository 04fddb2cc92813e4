"""The child side of the trust boundary (child.py, codec.py) and the launcher that starts it."""
