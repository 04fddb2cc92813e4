"""Hostile: random-yet-reproducible values that compute nothing. init_params draws junk from the
given generator (the same seed gives the same junk, another seed other junk) and then resets the
caller's generator to a fixed state; train returns junk drawn from default_rng(seed) with a
made-up, steadily falling loss history; the stub for the rest."""
import numpy as np

BASE = "stub"
EXERCISE = "numpy_mlp"

_FIXED_STATE = np.random.default_rng(0).bit_generator.state


def _junk(layer_sizes, rng):
    params = {}
    for layer, (fan_in, fan_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:]), start=1):
        params[f"W{layer}"] = rng.random((fan_in, fan_out))
        params[f"b{layer}"] = np.zeros(fan_out)
    return params


def init_params(layer_sizes, rng, scheme="he"):
    params = _junk(layer_sizes, rng)
    rng.bit_generator.state = _FIXED_STATE  # later draws from the caller's generator are fixed
    return params


def train(x, y, layer_sizes, *, epochs, lr, batch_size, seed):
    return _junk(layer_sizes, np.random.default_rng(seed)), np.geomspace(10.0, 0.001, epochs)
