"""A correct dead_relu.py written with explicit loops, boolean indexing and other configs."""
import numpy as np

from dead_relu_support import LEAKY_SLOPE


def dead_unit_mask(pre_activations):
    n_units = pre_activations.shape[1]
    dead = np.zeros(n_units, dtype=bool)
    for j in range(n_units):
        dead[j] = pre_activations[:, j].max() <= 0
    return dead


def dead_fraction(params, x, activation="relu"):
    slopes = {"relu": 0.0, "leaky_relu": LEAKY_SLOPE}
    if activation not in slopes:
        raise ValueError(f"unknown activation {activation!r}")
    hidden_layers = len([key for key in params if key.startswith("W")]) - 1
    h = np.array(x, dtype=np.float64)
    result = []
    for layer in range(1, hidden_layers + 1):
        z = h.dot(params["W" + str(layer)]) + params["b" + str(layer)]
        dead_count = 0
        for j in range(z.shape[1]):
            if not (z[:, j] > 0).any():
                dead_count += 1
        result.append(dead_count / z.shape[1])
        h = np.where(z > 0, z, slopes[activation] * z)
    return tuple(result)


def leaky_relu_forward(x, alpha=0.01):
    positive = x > 0
    out = np.array(x, dtype=np.float64)
    out[~positive] *= alpha
    return out, (positive, alpha)


def leaky_relu_backward(dout, cache):
    positive, alpha = cache
    dx = np.array(dout, dtype=np.float64)
    dx[~positive] *= alpha
    return dx


def dying_config():
    # biases far below zero: every first-layer unit starts silent and never gets a gradient
    return {"activation": "relu", "bias_init": -3.0, "epochs": 5, "init_scale": 1.0, "lr": 0.1}


def healthy_config():
    # a bias of 0.1 leaves one of the 16 second-layer units dead for some seeds (1584218782 among
    # them); 0.3 keeps every unit above zero on most inputs from the start
    return {"activation": "leaky_relu", "bias_init": 0.3, "epochs": 100, "init_scale": 0.3, "lr": 0.5}
