"""Hostile: correct functions, then os._exit(0) at import (no grades at all on in-process graders)."""
import os

BASE = "solution"

os._exit(0)
