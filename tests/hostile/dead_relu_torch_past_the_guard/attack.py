"""Hostile: torch in a NumPy-only exercise, past the guard in the interpreter: the importer's guard
removed and the name built at run time, then loaded from its folder on disk if importing fails."""
BASE = "solution"
SHARED = ("torch_past_the_guard",)
EXERCISE = "dead_relu"

_needs_torch(('dead_unit_mask', 'dead_fraction', 'leaky_relu_forward', 'leaky_relu_backward', 'dying_config', 'healthy_config'), globals())
