"""Public support for exercise 04: the data set, the study's settings, the network's initialisation
and loss, and the plot of the loss curves.

Use them in dropout.py:

    from dropout_support import STUDY_SETTINGS, bce_with_logits, init_params, make_data

    x_train, y_train, x_val, y_val = make_data()
    params = init_params([2, 32, 32, 1], np.random.default_rng(0))
    loss, dlogits = bce_with_logits(logits, y_train)

and, to look at a study's curves, ``show(plot_curves(histories))``. Pure NumPy (matplotlib and
IPython only inside the plot functions); nothing here uses your code.
"""
import io

import numpy as np

# The settings of dropout_study: a network far bigger than 40 noisy points need (about 1200
# weights), trained long enough to learn them by heart without dropout.
STUDY_SETTINGS = {"hidden": (32, 32), "epochs": 300, "lr": 0.2}


def make_data(n_train=40, n_val=200, seed=1):
    """Two interleaved half-moons in the plane, with noise and 10% of the labels flipped.

    Few training points and wrong labels: a large network can fit the training set exactly, noise
    included, and then does worse on new points. The validation set is drawn the same way.

    Inputs:
    - n_train: int, the number of training points.
    - n_val: int, the number of validation points.
    - seed: int, the seed of the draw; the default gives the exercise's data set.

    Returns a tuple (x_train, y_train, x_val, y_val):
    - x_train: float64 array of shape (n_train, 2); y_train: float64 array of shape (n_train,) of 0/1.
    - x_val: float64 array of shape (n_val, 2); y_val: float64 array of shape (n_val,) of 0/1.
    """
    rng = np.random.default_rng(seed)

    def draw(n):
        label = rng.integers(0, 2, size=n)                                   # (n,)
        angle = rng.uniform(0.0, np.pi, size=n)                              # (n,)
        upper = np.stack([np.cos(angle), np.sin(angle)], axis=1)             # (n, 2) moon of class 0
        lower = np.stack([1.0 - np.cos(angle), 0.5 - np.sin(angle)], axis=1)  # (n, 2) moon of class 1
        x = np.where(label[:, None] == 0, upper, lower)                      # (n, 2)
        x = x + rng.normal(scale=0.2, size=x.shape)                          # (n, 2)
        x = (x - [0.5, 0.25]) / [0.85, 0.5]                                  # (n, 2) about zero mean, unit spread
        flipped = rng.random(n) < 0.1                                        # (n,) label noise
        y = np.where(flipped, 1 - label, label).astype(np.float64)           # (n,)
        return x, y

    x_train, y_train = draw(n_train)
    x_val, y_val = draw(n_val)
    return x_train, y_train, x_val, y_val


def init_params(layer_sizes, rng):
    """He initialisation of a network with the given layer sizes.

    Inputs:
    - layer_sizes: sequence of ints [D, H_1, ..., H_{L-1}, 1]: the input size, the hidden sizes and
      the single output unit.
    - rng: np.random.Generator, the source of the weights.

    Returns:
    - params: dict with keys W1, b1, ..., WL, bL; W_l of shape (layer_sizes[l-1], layer_sizes[l])
      drawn from N(0, 2 / fan_in), b_l of shape (layer_sizes[l],) of zeros.
    """
    params = {}
    for layer, (fan_in, fan_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:]), start=1):
        params[f"W{layer}"] = rng.normal(scale=np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))
        params[f"b{layer}"] = np.zeros(fan_out)
    return params


def bce_with_logits(logits, y):
    """The mean logistic loss of logits for 0/1 labels, and its gradient; stable for large |logit|.

    L = mean(log(1 + exp(z)) - y z) over the N samples, that is the cross-entropy of sigmoid(z).

    Inputs:
    - logits: float64 array of shape (N,), the network's outputs z.
    - y: array of shape (N,) of 0/1 labels.

    Returns a tuple (loss, dlogits):
    - loss: float.
    - dlogits: float64 array of shape (N,), dL/dz = (sigmoid(z) - y) / N.
    """
    logits = np.asarray(logits, dtype=np.float64)                         # (N,)
    y = np.asarray(y, dtype=np.float64)                                   # (N,)
    loss = float(np.mean(np.logaddexp(0.0, logits) - y * logits))
    e = np.exp(-np.abs(logits))                                           # (N,) never overflows
    sigmoid = np.where(logits >= 0, 1.0 / (1.0 + e), e / (1.0 + e))      # (N,)
    return loss, (sigmoid - y) / logits.shape[0]


def plot_curves(histories, title="Loss curves with and without dropout"):
    """The training and validation losses of a study, one colour per dropout probability.

    Inputs:
    - histories: dict {p: {"train_loss": [...], "val_loss": [...]}}, as dropout_study returns it.
    - title: str, the figure's title.

    Returns:
    - figure: a matplotlib Figure with two panels, training loss (left) and validation loss
      (right) against the epoch.
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 4), layout="constrained")
    train_axes, val_axes = figure.subplots(1, 2, sharey=True)
    for p in sorted(histories):
        epochs = np.arange(1, len(histories[p]["train_loss"]) + 1)
        train_axes.plot(epochs, histories[p]["train_loss"], label=f"p = {p:g}")
        val_axes.plot(epochs, histories[p]["val_loss"], label=f"p = {p:g}")
    for axes, name in ((train_axes, "training"), (val_axes, "validation")):
        axes.set_title(f"{name} loss (eval mode)")
        axes.set_xlabel("epoch")
        axes.grid(alpha=0.3)
    train_axes.set_ylabel("logistic loss")
    val_axes.legend(title="dropout probability")
    figure.suptitle(title)
    return figure


def show(figure, path="dropout_curves.png"):
    """Display a figure in a notebook; elsewhere save it as a PNG file and say where."""
    try:
        from IPython import get_ipython
        from IPython.display import Image, display
    except ImportError:
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        png = io.BytesIO()
        figure.savefig(png, format="png", dpi=100)  # a PNG: a Figure made without pyplot has no inline display
        display(Image(png.getvalue()))
    else:
        figure.savefig(path, dpi=100)
        print(f"saved the figure as {path}")
