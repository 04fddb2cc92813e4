"""Independent PyTorch implementations of the exercises: the oracles of the hidden tests."""
