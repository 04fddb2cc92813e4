"""Hostile: train returns a freshly initialised network (He initialisation from
default_rng(seed): reproducible, different per seed, the right statistics) without training it,
and a loss history made up to fall from far above anything the network could score; the stub for
the rest."""
import numpy as np

BASE = "stub"
EXERCISE = "numpy_mlp"


def train(x, y, layer_sizes, *, epochs, lr, batch_size, seed):
    rng = np.random.default_rng(seed)
    params = {}
    for layer, (fan_in, fan_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:]), start=1):
        params[f"W{layer}"] = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))
        params[f"b{layer}"] = np.zeros(fan_out)
    return params, np.geomspace(100.0, 0.01, epochs)
