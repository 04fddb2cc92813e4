"""Hostile: torch in a NumPy-only exercise, past the guard in the interpreter: the importer's guard
removed and the name built at run time, then loaded from its folder on disk if importing fails."""
BASE = "solution"
SHARED = ("torch_past_the_guard",)
EXERCISE = "dropout"

_needs_torch(('dropout_forward', 'dropout_backward', 'mlp_dropout_forward', 'mlp_dropout_backward', 'train_with_dropout', 'dropout_study'), globals())
