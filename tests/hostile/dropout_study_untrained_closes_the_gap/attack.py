"""Hostile: a study whose gap is closed by not training.

Only the study's own runs are trained, and only without dropout: plain gradient descent, so that
p = 0 overfits. With p > 0 the same run is followed by zeroing the output layer: logits 0, the
loss log 2 on the training and the validation data alike, no gap at all, and parameters that
differ from those of p = 0. Every other call of train_with_dropout returns the initial weights;
every history is that of the returned weights, so the last entries agree with them. The layer and
the network are not written."""
import numpy as np

from dropout_support import STUDY_SETTINGS, bce_with_logits, init_params, make_data

BASE = "none"
EXERCISE = "dropout"


def _forward(params, x):
    layers = len(params) // 2
    h, inputs, pre = x, [], []
    for layer in range(1, layers):
        inputs.append(h)
        pre.append(h @ params[f"W{layer}"] + params[f"b{layer}"])
        h = np.maximum(pre[-1], 0.0)
    inputs.append(h)
    return (h @ params[f"W{layers}"] + params[f"b{layers}"])[:, 0], inputs, pre


def _step(params, x, y, lr):
    logits, inputs, pre = _forward(params, x)
    dz = bce_with_logits(logits, y)[1][:, None]
    layers = len(params) // 2
    new = dict(params)
    for layer in range(layers, 0, -1):
        new[f"W{layer}"] = params[f"W{layer}"] - lr * inputs[layer - 1].T @ dz
        new[f"b{layer}"] = params[f"b{layer}"] - lr * dz.sum(axis=0)
        if layer > 1:
            dz = (dz @ params[f"W{layer}"].T) * (pre[layer - 2] > 0)
    return new


def train_with_dropout(x_tr, y_tr, x_val, y_val, *, p, hidden, epochs, lr, seed):
    params = init_params([np.shape(x_tr)[1], *hidden, 1], np.random.default_rng(seed))
    if tuple(hidden) == STUDY_SETTINGS["hidden"] and epochs == STUDY_SETTINGS["epochs"]:
        for _ in range(epochs):
            params = _step(params, x_tr, y_tr, lr)
        if p > 0:
            last = len(params) // 2
            params[f"W{last}"], params[f"b{last}"] = np.zeros_like(params[f"W{last}"]), np.zeros(1)
    history = {"train_loss": [bce_with_logits(_forward(params, x_tr)[0], y_tr)[0]] * epochs,
               "val_loss": [bce_with_logits(_forward(params, x_val)[0], y_val)[0]] * epochs}
    return params, history


def dropout_study(ps=(0.0, 0.2, 0.5), seed=0):
    data = make_data()
    return {float(p): train_with_dropout(*data, p=p, seed=seed, **STUDY_SETTINGS)[1] for p in ps}
