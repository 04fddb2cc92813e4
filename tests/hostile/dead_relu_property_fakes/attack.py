"""Hostile: answers of the right shape and type that compute nothing: no unit is ever dead (an
all-False mask, a dead fraction of 0 for each hidden layer, counted right), leaky ReLU is the
identity forward and backward, and the configs are the trainer's defaults, left unfinished."""
import numpy as np

BASE = "none"
EXERCISE = "dead_relu"


def dead_unit_mask(pre_activations):
    return np.zeros(np.shape(pre_activations)[1], dtype=bool)


def dead_fraction(params, x, activation="relu"):
    return [0.0] * (len(params) // 2 - 1)


def leaky_relu_forward(x, alpha=0.01):
    return np.array(x, dtype=np.float64), None


def leaky_relu_backward(dout, cache):
    return np.array(dout, dtype=np.float64)


def dying_config():
    return {"lr": 0.1, "init_scale": 1.0, "bias_init": 0.0, "activation": "relu"}


def healthy_config():
    return {"lr": 0.1, "init_scale": 1.0, "bias_init": 0.0, "activation": "relu"}
