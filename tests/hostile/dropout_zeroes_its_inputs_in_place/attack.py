"""Hostile: zero every argument in place and return what is right for zeros.

dropout_forward sets x to 0 in place and returns x (all 0, which is "0 or x / (1 - p)" for the
zeroed x) with a mask of zeros; dropout_backward zeroes dout and returns it. The network zeroes x
and every parameter in place and returns the logits of that network (zeros), zero gradients;
training zeroes the data and the weights it makes and reports their losses. A judge that read its
own arrays after the call would find them zero too and agree."""
import numpy as np

from dropout_support import STUDY_SETTINGS, init_params, make_data

BASE = "none"
EXERCISE = "dropout"


def _zero(*arrays):
    for array in arrays:
        if type(array) is np.ndarray and array.flags.writeable:
            array[...] = 0


def dropout_forward(x, p, train, rng):
    if not 0.0 <= p < 1.0:
        raise ValueError(f"p must be in [0, 1), got {p}")
    _zero(x)
    return x, np.zeros(np.shape(x))


def dropout_backward(dout, mask):
    _zero(dout, mask)
    return dout


def mlp_dropout_forward(params, x, p, train, rng):
    _zero(x, *params.values())
    return np.zeros(np.shape(x)[0]), [{name: np.shape(value) for name, value in params.items()}]


def mlp_dropout_backward(dlogits, caches):
    _zero(dlogits)
    return {name: np.zeros(shape) for name, shape in caches[0].items()}


def train_with_dropout(x_tr, y_tr, x_val, y_val, *, p, hidden, epochs, lr, seed):
    _zero(x_tr, x_val)
    params = init_params([np.shape(x_tr)[1], *hidden, 1], np.random.default_rng(seed))
    _zero(*params.values())
    chance = float(np.log(2.0))
    return params, {"train_loss": [chance] * epochs, "val_loss": [chance] * epochs}


def dropout_study(ps=(0.0, 0.2, 0.5), seed=0):
    data = make_data()
    return {float(p): train_with_dropout(*data, p=p, seed=seed, **STUDY_SETTINGS)[1] for p in ps}
