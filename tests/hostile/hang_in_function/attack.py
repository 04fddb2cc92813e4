"""Hostile: sigmoid ignores SIGALRM, SIGINT, SIGTERM (and SIGXCPU) and sleeps forever on the first call; the stub."""
import time

import numpy as np

BASE = "stub"
SHARED = ("ignore_signals",)


def _forever():
    _ignore_signals()
    while True:  # waits forever without burning CPU: only the wall-clock timeout stops it
        time.sleep(1)


_stub_sigmoid = sigmoid


def sigmoid(z):
    if np.shape(z) == (2, 3):  # the first call the grader makes
        _forever()
    return _stub_sigmoid(z)
