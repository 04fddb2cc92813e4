"""Hostile: torch in a NumPy-only exercise, past the guard in the interpreter: the importer's guard
removed and the name built at run time, then loaded from its folder on disk if importing fails."""
BASE = "solution"
SHARED = ("torch_past_the_guard",)
EXERCISE = "numpy_mlp"

_needs_torch(('init_params', 'linear_forward', 'linear_backward', 'relu_forward', 'relu_backward', 'bce_with_logits', 'mlp_forward', 'mlp_backward', 'adam_step', 'train', 'predict'), globals())
