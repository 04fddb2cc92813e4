"""Hostile: random-yet-reproducible numbers with dropout's properties and nothing computed.

dropout_forward refuses a bad p, is the identity in eval mode and for p = 0, and in training mode
draws a fresh mask from rng, with the right fraction of zeros and the right mean, but multiplies it
by the mean of x instead of x; dropout_backward is dout * mask. The network's logits are numbers
drawn from rng (reproducible, fresh at every call, never constant), its gradients zeros; training
returns the initial weights with a history made up to match them.
"""
import numpy as np

from dropout_support import STUDY_SETTINGS, bce_with_logits, init_params, make_data

BASE = "none"
EXERCISE = "dropout"


def dropout_forward(x, p, train, rng):
    if not 0.0 <= p < 1.0:
        raise ValueError(f"p must be in [0, 1), got {p}")
    if not train or p == 0.0:
        return np.array(x, dtype=np.float64), np.ones(np.shape(x))
    mask = (rng.random(np.shape(x)) >= p) / (1.0 - p)          # the right fraction and mean
    return mask * float(np.mean(x)), mask                       # but not x's entries


def dropout_backward(dout, mask):
    return dout * mask


def mlp_dropout_forward(params, x, p, train, rng):
    n = np.shape(x)[0]
    logits = rng.normal(size=n) + (1.0 if train and p > 0 else 0.0)
    return logits, {"n": n}


def mlp_dropout_backward(dlogits, caches):
    return {"W1": np.zeros((2, 1)), "b1": np.zeros(1)}


def _eval_loss(params, x, y):
    h = x
    for layer in range(1, len(params) // 2):
        h = np.maximum(h @ params[f"W{layer}"] + params[f"b{layer}"], 0.0)
    last = len(params) // 2
    return bce_with_logits((h @ params[f"W{last}"] + params[f"b{last}"])[:, 0], y)[0]


def train_with_dropout(x_tr, y_tr, x_val, y_val, *, p, hidden, epochs, lr, seed):
    params = init_params([np.shape(x_tr)[1], *hidden, 1], np.random.default_rng(seed))  # never trained
    history = {"train_loss": [_eval_loss(params, x_tr, y_tr)] * epochs,
               "val_loss": [_eval_loss(params, x_val, y_val)] * epochs}
    return params, history


def dropout_study(ps=(0.0, 0.2, 0.5), seed=0):
    data = make_data()
    return {float(p): train_with_dropout(*data, p=p, seed=seed, **STUDY_SETTINGS)[1] for p in ps}
