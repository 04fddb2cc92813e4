"""Hostile: torch in a NumPy-only exercise, past the guard in the interpreter: the importer's guard
removed and the name built at run time, then loaded from its folder on disk if importing fails."""
BASE = "solution"
SHARED = ("torch_past_the_guard",)
EXERCISE = "neuron_gradient"

_needs_torch(('sigmoid', 'sigmoid_prime', 'neuron_forward', 'mse_loss', 'neuron_gradients', 'numerical_gradient', 'gradient_descent'), globals())
