"""Hostile: the cheapest code with dropout's special cases: a layer that is always the identity
(it refuses a bad p), a backward pass that returns dout, a network whose logits and gradients are
zeros (a constant forward pass agrees with finite differences), and training that returns zero
weights with the history of zero weights (log 2 everywhere: no gap at all)."""
import numpy as np

from dropout_support import STUDY_SETTINGS, make_data

BASE = "none"
EXERCISE = "dropout"


def dropout_forward(x, p, train, rng):
    if not 0.0 <= p < 1.0:
        raise ValueError(f"p must be in [0, 1), got {p}")
    return np.array(x, dtype=np.float64), np.ones(np.shape(x))


def dropout_backward(dout, mask):
    return np.array(dout, dtype=np.float64)


def mlp_dropout_forward(params, x, p, train, rng):
    return np.zeros(np.shape(x)[0]), [{name: np.shape(value) for name, value in params.items()}]


def mlp_dropout_backward(dlogits, caches):
    return {name: np.zeros(shape) for name, shape in caches[0].items()}


def train_with_dropout(x_tr, y_tr, x_val, y_val, *, p, hidden, epochs, lr, seed):
    sizes = [np.shape(x_tr)[1], *hidden, 1]
    params = {}
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"W{layer}"], params[f"b{layer}"] = np.zeros((fan_in, fan_out)), np.zeros(fan_out)
    chance = float(np.log(2.0))  # the loss of logits 0
    return params, {"train_loss": [chance] * epochs, "val_loss": [chance] * epochs}


def dropout_study(ps=(0.0, 0.2, 0.5), seed=0):
    data = make_data()
    return {float(p): train_with_dropout(*data, p=p, seed=seed, **STUDY_SETTINGS)[1] for p in ps}
