"""Hostile: correct functions, then allocates and touches 8 GiB at import (numpy, then a bytearray)."""
import numpy as np

BASE = "solution"

_HOARD = []
for _ in range(32):
    _HOARD.append(np.ones(2**25))  # 256 MiB each, every page written
_HOARD.append(bytearray(8 * 2**30))
