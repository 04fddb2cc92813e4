"""Hostile: a bounded fork bomb at import (up to 10000 processes in 2 s, each sleeping 20 s); the stub."""
import os
import time

BASE = "stub"

FORKS, FORK_FOR_S, SLEEP_S = 10000, 2.0, 20.0


def _bomb():
    started, begun = 0, time.monotonic()
    for _ in range(FORKS):
        if time.monotonic() - begun > FORK_FOR_S:
            break
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            try:
                time.sleep(SLEEP_S)
            finally:
                os._exit(0)
        started += 1
    return started


STARTED = _bomb()
