"""Hostile: reset the rng argument to a fixed state, then answer what the judge draws next.

Every function that gets a generator sets it to the state of np.random.default_rng(0). A judge
whose own generator took that state after the call would draw known numbers next: its dout
(dropout_backward returns those numbers, whatever it is given), its replays of the same state
(identical masks) and its next inputs. Nothing is computed: the layer returns x and ones, the
network the numbers that the reset generator gives."""
import numpy as np

from dropout_support import STUDY_SETTINGS, init_params, make_data

BASE = "none"
EXERCISE = "dropout"


def _reset(rng):
    if isinstance(rng, np.random.Generator):
        rng.bit_generator.state = np.random.default_rng(0).bit_generator.state


def _predicted(shape):
    """The judge's next normal draws, had its generator been reset like this one."""
    return np.random.default_rng(0).normal(size=shape)


def dropout_forward(x, p, train, rng):
    if not 0.0 <= p < 1.0:
        raise ValueError(f"p must be in [0, 1), got {p}")
    _reset(rng)
    keep = np.random.default_rng(0).random(np.shape(x)) >= p if train and p > 0 else np.ones(np.shape(x), bool)
    return np.where(keep, 1.0, 0.0), keep / (1.0 - p)          # the mask itself, not x times it


def dropout_backward(dout, mask):
    return _predicted(np.shape(dout))


def mlp_dropout_forward(params, x, p, train, rng):
    _reset(rng)
    return _predicted(np.shape(x)[:1]), {name: np.shape(value) for name, value in params.items()}


def mlp_dropout_backward(dlogits, caches):
    return {name: _predicted(shape) for name, shape in caches.items()}


def train_with_dropout(x_tr, y_tr, x_val, y_val, *, p, hidden, epochs, lr, seed):
    rng = np.random.default_rng(seed)
    params = init_params([np.shape(x_tr)[1], *hidden, 1], rng)
    _reset(rng)
    return params, {"train_loss": list(np.abs(_predicted(epochs))), "val_loss": list(np.abs(_predicted(epochs)))}


def dropout_study(ps=(0.0, 0.2, 0.5), seed=0):
    data = make_data()
    return {float(p): train_with_dropout(*data, p=p, seed=seed, **STUDY_SETTINGS)[1] for p in ps}
