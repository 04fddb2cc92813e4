"""Hostile: correct functions, then an endless loop at import that ignores SIGALRM, SIGINT, SIGTERM (and SIGXCPU)."""
BASE = "solution"
SHARED = ("ignore_signals",)

_ignore_signals()
while True:
    pass
