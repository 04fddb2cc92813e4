"""Public support for exercise 03 (dead_relu): the data, a small trainer, and the pictures.

    x_train, y_train, x_val, y_val = load_data()
    params, losses = train_relu_net(x_train, y_train, lr=0.1, init_scale=1.0, bias_init=0.0,
                                    activation="relu", epochs=30, seed=0)
    accuracy(params, x_val, y_val)                     # the fraction of correct predictions

The network is always 2 -> 32 -> 32 -> 1: two hidden layers of 32 units and one output unit
(a logit), with parameters in a dict "W1", "b1", "W2", "b2", "W3", "b3" (W_l of shape
(fan_in, fan_out)). To watch it while it trains, pass ``on_epoch``: it is called as
``on_epoch(epoch, params)`` once before training (epoch 0) and after every epoch (1, 2, ...) with a
copy of the parameters, for example to record the dead fraction of each hidden layer.

Pure NumPy (matplotlib for the pictures only); nothing here uses your code. The grader uses the
same data, trainer and pictures.
"""
import io
import math
import numbers

import numpy as np

HIDDEN_SIZES = (32, 32)   # the widths of the two hidden layers
BATCH_SIZE = 32
LEAKY_SLOPE = 0.01        # alpha of activation="leaky_relu"
ACTIVATIONS = ("relu", "leaky_relu")
MAX_EPOCHS = 100          # keeps one training run well under a second
# the settings a config dict holds, with the closed range each number must lie in
SETTING_RANGES = {"lr": (1e-6, 100.0), "init_scale": (0.0, 100.0), "bias_init": (-100.0, 100.0)}
SETTINGS = ("lr", "init_scale", "bias_init", "activation", "epochs")


def make_rings(n, noise, rng):
    """Two concentric rings in the plane, one per class: no straight line separates them.

    Class 0 lies on the circle of radius 0.5 around the origin, class 1 on the circle of radius 1;
    each point's radius gets N(0, noise²) noise.

    Inputs:
    - n: int, the number of points (n // 2 of class 0, the rest of class 1).
    - noise: float, the standard deviation of the noise on the radius.
    - rng: np.random.Generator, the only source of randomness.

    Returns a tuple (x, y):
    - x: float64 array of shape (n, 2), the points, in a random order.
    - y: float64 array of shape (n,), the labels 0.0 or 1.0.
    """
    if n < 2:
        raise ValueError(f"make_rings needs n >= 2 points, got {n}")
    y = (np.arange(n) >= n // 2).astype(np.float64)                       # (n,)
    radius = np.where(y == 1.0, 1.0, 0.5) + rng.normal(scale=noise, size=n)  # (n,)
    angle = rng.uniform(0.0, 2.0 * np.pi, size=n)                         # (n,)
    x = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)  # (n, 2)
    order = rng.permutation(n)
    return x[order], y[order]


def load_data(seed=0):
    """The exercise's data set: 400 training and 200 validation points of make_rings(noise=0.1).

    Returns a tuple (x_train (400, 2), y_train (400,), x_val (200, 2), y_val (200,)), float64.
    """
    rng = np.random.default_rng(seed)
    x_train, y_train = make_rings(400, 0.1, rng)
    x_val, y_val = make_rings(200, 0.1, rng)
    return x_train, y_train, x_val, y_val


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def check_config(config):
    """Check a dict of trainer settings and return it with plain Python values.

    A config holds exactly the keys "lr", "init_scale", "bias_init", "activation" and "epochs"
    (no "seed": whoever trains picks the seeds). lr must lie in [1e-6, 100], init_scale in
    [0, 100], bias_init in [-100, 100], activation is "relu" or "leaky_relu", and epochs is a
    whole number from 1 to MAX_EPOCHS.

    Returns:
    - settings: dict with the same keys; numbers as float, epochs as int.

    Raises ValueError naming what is wrong.
    """
    if type(config) is not dict:
        raise ValueError(f"a config should be a dict of settings, got {type(config).__name__}")
    keys = [key for key in config if type(key) is str]
    if len(keys) != len(config):
        raise ValueError("a config's keys should be the names of settings (str)")
    if "seed" in config:
        raise ValueError("a config should not hold a seed: whoever trains picks the seeds, so "
                         "the settings must work whatever the seed")
    unknown = sorted(set(keys) - set(SETTINGS))
    missing = [key for key in SETTINGS if key not in config]
    if unknown:
        raise ValueError(f"unknown setting(s) {', '.join(map(repr, unknown))}; "
                         f"a config holds exactly {', '.join(SETTINGS)}")
    if missing:
        raise ValueError(f"missing setting(s) {', '.join(map(repr, missing))}; "
                         f"a config holds exactly {', '.join(SETTINGS)}")
    settings = {}
    for key, (low, high) in SETTING_RANGES.items():
        value = config[key]
        if not _is_number(value):
            raise ValueError(f"{key} should be a number, got {type(value).__name__}")
        value = float(value)
        if not math.isfinite(value) or not low <= value <= high:
            raise ValueError(f"{key} = {value!r} is outside [{low:g}, {high:g}]")
        settings[key] = value
    activation = config["activation"]
    if type(activation) is not str or activation not in ACTIVATIONS:
        raise ValueError(f"activation should be one of {', '.join(map(repr, ACTIVATIONS))}, "
                         f"got {activation!r}"[:200])
    settings["activation"] = activation
    epochs = config["epochs"]
    if not _is_number(epochs) or not math.isfinite(float(epochs)) or float(epochs) != int(epochs):
        raise ValueError(f"epochs should be a whole number, got {epochs!r}"[:200])
    if not 1 <= int(epochs) <= MAX_EPOCHS:
        raise ValueError(f"epochs = {int(epochs)} is outside [1, {MAX_EPOCHS}]")
    settings["epochs"] = int(epochs)
    return settings


def _slope(activation):
    """The slope of the hidden activation for negative pre-activations."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation should be one of {', '.join(map(repr, ACTIVATIONS))}, "
                         f"got {activation!r}"[:200])
    return 0.0 if activation == "relu" else LEAKY_SLOPE


def _forward(params, x, slope):
    """(pre-activations of the hidden layers [(N, H_l)], logits (N,)) of the network."""
    n_layers = len(params) // 2
    h = np.asarray(x, dtype=np.float64)                                   # (N, D)
    pre_activations = []
    for layer in range(1, n_layers):
        z = h @ params[f"W{layer}"] + params[f"b{layer}"]                 # (N, H_l)
        pre_activations.append(z)
        h = np.maximum(z, slope * z)                                      # (N, H_l), slope < 1
    logits = h @ params[f"W{n_layers}"] + params[f"b{n_layers}"]          # (N, 1)
    return pre_activations, logits[:, 0]


def accuracy(params, x, y, activation="relu"):
    """The fraction of inputs classified correctly (class 1 where the logit is positive).

    Inputs:
    - params: dict "W1", "b1", ..., as train_relu_net returns it.
    - x: array of shape (N, 2); y: array of shape (N,) of labels 0 / 1.
    - activation: the hidden activation the network was trained with.

    Returns a float in [0, 1].
    """
    logits = _forward(params, x, _slope(activation))[1]                   # (N,)
    return float(np.mean((logits > 0) == (np.asarray(y) == 1)))


def train_relu_net(x, y, *, lr, init_scale, bias_init, activation, epochs, seed, on_epoch=None):
    """Train the 2 -> 32 -> 32 -> 1 network by mini-batch gradient descent on the logistic loss.

    Initialisation: each W_l is drawn from N(0, init_scale² · 2 / fan_in) (init_scale = 1 is He
    initialisation), the hidden biases are all bias_init, the output bias is 0. Every epoch visits
    the training points once, in a new random order, in batches of 32, and takes one step
    W ← W − lr · ∂L/∂W per batch (L: the batch's mean logistic loss).

    Inputs:
    - x: array of shape (N, 2), the training inputs; y: array of shape (N,), labels 0 / 1.
    - lr, init_scale, bias_init, activation, epochs: the settings, as check_config accepts them
      (activation "relu", or "leaky_relu" with slope 0.01 for negative inputs).
    - seed: int, seeds the initial weights and the order of the batches.
    - on_epoch: optional callable on_epoch(epoch, params), called with a copy of the parameters
      before training (epoch 0) and after each epoch.

    Returns a tuple (params, losses):
    - params: dict "W1", "b1", "W2", "b2", "W3", "b3" of float64 arrays, the trained network.
    - losses: list of floats, the mean training loss of each epoch.

    Raises ValueError for settings check_config refuses, FloatingPointError when training
    diverges (the loss or the weights become inf or nan).
    """
    settings = check_config({"lr": lr, "init_scale": init_scale, "bias_init": bias_init,
                             "activation": activation, "epochs": epochs})
    x = np.asarray(x, dtype=np.float64)                                   # (N, 2)
    y = np.asarray(y, dtype=np.float64)                                   # (N,)
    if x.ndim != 2 or y.shape != (x.shape[0],):
        raise ValueError(f"x should be (N, D) and y (N,), got {x.shape} and {y.shape}")
    rng = np.random.default_rng(seed)
    slope = _slope(settings["activation"])
    sizes = [x.shape[1], *HIDDEN_SIZES, 1]
    n_layers = len(sizes) - 1
    params = {}
    for layer in range(1, n_layers + 1):
        fan_in, fan_out = sizes[layer - 1], sizes[layer]
        std = settings["init_scale"] * np.sqrt(2.0 / fan_in)
        params[f"W{layer}"] = rng.normal(scale=std, size=(fan_in, fan_out))  # (fan_in, fan_out)
        params[f"b{layer}"] = np.full(fan_out, settings["bias_init"] if layer < n_layers else 0.0)
    if on_epoch is not None:
        on_epoch(0, {key: value.copy() for key, value in params.items()})
    losses = []
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # divergence is checked below
        for epoch in range(1, settings["epochs"] + 1):
            order = rng.permutation(len(x))
            total = 0.0
            for start in range(0, len(x), BATCH_SIZE):
                batch = order[start:start + BATCH_SIZE]
                total += _sgd_step(params, x[batch], y[batch], settings["lr"], slope) * len(batch)
            losses.append(total / len(x))
            if not (math.isfinite(losses[-1]) and all(np.all(np.isfinite(v)) for v in params.values())):
                raise FloatingPointError(
                    f"training diverged in epoch {epoch}: the loss or the weights became inf or nan "
                    f"(lr = {settings['lr']:g}, init_scale = {settings['init_scale']:g}); "
                    "try a smaller learning rate or init_scale")
            if on_epoch is not None:
                on_epoch(epoch, {key: value.copy() for key, value in params.items()})
    return params, losses


def _sgd_step(params, x, y, lr, slope):
    """One gradient step on the batch's mean logistic loss, in place; returns that loss."""
    n_layers = len(params) // 2
    inputs, pre_activations = [], []
    h = x                                                                 # (B, 2)
    for layer in range(1, n_layers + 1):
        inputs.append(h)
        z = h @ params[f"W{layer}"] + params[f"b{layer}"]                 # (B, H_l)
        pre_activations.append(z)
        h = np.maximum(z, slope * z) if layer < n_layers else z           # slope < 1
    logits = h[:, 0]                                                      # (B,)
    e = np.exp(-np.abs(logits))                                           # (B,) never overflows
    loss = float(np.mean(np.maximum(logits, 0.0) - logits * y + np.log1p(e)))
    prob = np.where(logits >= 0, 1.0, e) / (1.0 + e)                      # (B,) sigmoid(logits)
    grad = ((prob - y) / len(y))[:, None]                                 # (B, 1)  dL/dz_L
    for layer in range(n_layers, 0, -1):
        if layer < n_layers:
            grad = grad * np.where(pre_activations[layer - 1] > 0, 1.0, slope)  # (B, H_l)
        grad_W = inputs[layer - 1].T @ grad                               # (fan_in, fan_out)
        grad_b = grad.sum(axis=0)                                         # (fan_out,)
        if layer > 1:
            grad = grad @ params[f"W{layer}"].T                           # (B, fan_in)
        params[f"W{layer}"] -= lr * grad_W
        params[f"b{layer}"] -= lr * grad_b
    return loss


# ----------------------------------------------------------------------------- pictures

def plot_dead_fractions(history, ax=None, title="Dead units during training"):
    """The fraction of dead units of each hidden layer, epoch by epoch.

    Inputs:
    - history: sequence over epochs 0, 1, ..., E of sequences with one dead fraction per hidden
      layer (what dead_fraction returns, recorded with train_relu_net's on_epoch).
    - ax: optional matplotlib Axes to draw in; by default a new Figure is made.
    - title: str.

    Returns the matplotlib Figure.
    """
    ax = _axes(ax, (5, 3.5))
    fractions = np.asarray(history, dtype=np.float64)                     # (E + 1, layers)
    for layer in range(fractions.shape[1]):
        ax.plot(np.arange(len(fractions)), fractions[:, layer], marker=".", label=f"layer {layer + 1}")
    ax.set(title=title, xlabel="epoch", ylabel="fraction of dead units", ylim=(-0.03, 1.03))
    ax.legend(loc="best")
    return ax.figure


def plot_pre_activations(params, x, activation="relu", ax=None, title="Pre-activations"):
    """Histograms of the pre-activations z_l of each hidden layer over the inputs x.

    Every (input, unit) pair gives one value; the dashed line is z = 0. A dead unit contributes
    only values <= 0. The legend counts the dead units of each layer, and the share of all its
    values that are <= 0 (the sparsity, about half in a healthy layer).

    Inputs:
    - params: dict "W1", "b1", ..., the network; x: array of shape (N, 2), the inputs.
    - activation: the hidden activation the network uses.
    - ax: optional matplotlib Axes to draw in; by default a new Figure is made.
    - title: str.

    Returns the matplotlib Figure.
    """
    ax = _axes(ax, (5, 3.5))
    for layer, z in enumerate(_forward(params, x, _slope(activation))[0], start=1):
        dead = int(np.sum(np.all(z <= 0, axis=0)))
        ax.hist(z.ravel(), bins=60, histtype="step", linewidth=1.5,
                label=f"layer {layer}: {dead} of {z.shape[1]} units dead, "
                      f"{np.mean(z <= 0):.0%} of all z <= 0")
    ax.axvline(0.0, color="k", linestyle="--", linewidth=1)
    ax.set(title=title, xlabel="pre-activation z", ylabel="count", yscale="log")
    ax.legend(loc="best")
    return ax.figure


def plot_training_run(history, params, x, activation="relu", title=""):
    """Both pictures side by side: dead fractions over training, pre-activations at the end.

    Inputs: history as for plot_dead_fractions; params, x, activation as for plot_pre_activations;
    title: str, put above both.

    Returns the matplotlib Figure.
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 4), layout="constrained")
    left, right = figure.subplots(1, 2)
    plot_dead_fractions(history, ax=left)
    plot_pre_activations(params, x, activation, ax=right, title="Pre-activations after training")
    if title:
        figure.suptitle(title)
    return figure


def show(figure, filename):
    """Show a Figure in a notebook; outside one, save it as filename (a PNG) and say where."""
    try:
        from IPython import get_ipython
        from IPython.display import Image, display
    except ImportError:
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=100)
        display(Image(data=buffer.getvalue(), format="png"))
    else:
        figure.savefig(filename, dpi=100)
        print(f"saved the picture as {filename}")


def _axes(ax, size):
    """ax, or the Axes of a new Figure of the given size."""
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    return Figure(figsize=size, layout="constrained").subplots()
