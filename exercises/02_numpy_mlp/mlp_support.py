"""Public support for exercise 02: the two-moons data set and a picture of a trained classifier.

    rng = np.random.default_rng(0)
    x, y = make_moons(500, noise=0.15, rng=rng)          # x: (500, 2), y: (500,) of 0.0 / 1.0
    fig = plot_classifier(lambda pts: mlp_forward(params, pts)[0], x, y, losses)
    show(fig, "moons.png")                               # inline in a notebook, else saved as moons.png

Pure NumPy and matplotlib; nothing here uses your code. The grader uses the same functions.
"""
import io

import numpy as np


def make_moons(n, noise, rng):
    """Two interleaving half circles in the plane, one per class, with Gaussian noise.

    Class 0 lies on the upper half circle of radius 1 around (0, 0), class 1 on the lower half
    circle around (1, 0.5); each point gets N(0, noise²) noise per coordinate, and the whole set is
    shifted so that it is centred near the origin. The classes cannot be split by a straight line.

    Inputs:
    - n: int, the number of points (n // 2 of class 0, the rest of class 1).
    - noise: float, the standard deviation of the noise.
    - rng: np.random.Generator, the only source of randomness.

    Returns a tuple (x, y):
    - x: float64 array of shape (n, 2), the points, in a random order.
    - y: float64 array of shape (n,), the labels 0.0 or 1.0.
    """
    if n < 2:
        raise ValueError(f"make_moons needs n >= 2 points, got {n}")
    n_upper = n // 2
    angle = rng.uniform(0.0, np.pi, size=n)                                # (n,)
    upper = np.arange(n) < n_upper                                         # (n,)  class 0
    x = np.where(upper[:, None],
                 np.stack([np.cos(angle), np.sin(angle)], axis=1),
                 np.stack([1.0 - np.cos(angle), 0.5 - np.sin(angle)], axis=1))  # (n, 2)
    x = x + rng.normal(scale=noise, size=(n, 2)) - np.array([0.5, 0.25])  # (n, 2)
    y = (~upper).astype(np.float64)                                        # (n,)
    order = rng.permutation(n)
    return x[order], y[order]


def plot_classifier(logits_fn, x, y, losses=None, title="Two moons", losses_title="Training loss"):
    """The decision regions of a classifier over the data, and optionally its training curve.

    Inputs:
    - logits_fn: callable taking points of shape (P, 2) and returning their logits, shape (P,).
      The class-1 region is where the logit is positive.
    - x: array of shape (N, 2), the points to show.
    - y: array of shape (N,), their labels 0 / 1.
    - losses: optional sequence of the mean training loss per epoch.
    - title: str, the title of the data panel.
    - losses_title: str, the title of the loss panel.

    Returns:
    - fig: a matplotlib Figure (show(fig, "moons.png") shows it inline in a notebook, else saves it).
    """
    from matplotlib.figure import Figure  # here, not at the top: the data alone needs no matplotlib

    x, y = np.asarray(x, dtype=np.float64), np.asarray(y)
    fig = Figure(figsize=(10 if losses is not None else 5, 4.5), layout="constrained")
    axes = fig.subplots(1, 2 if losses is not None else 1, squeeze=False)[0]
    low, high = x.min(axis=0) - 0.5, x.max(axis=0) + 0.5                   # (2,), (2,)
    g0, g1 = np.meshgrid(np.linspace(low[0], high[0], 200), np.linspace(low[1], high[1], 200))
    grid = np.stack([g0.ravel(), g1.ravel()], axis=1)                      # (40000, 2)
    logits = np.asarray(logits_fn(grid), dtype=np.float64).reshape(g0.shape)  # (200, 200)
    axes[0].contourf(g0, g1, logits > 0, levels=[-0.5, 0.5, 1.5], colors=["#c6dbef", "#fdd0a2"])
    axes[0].contour(g0, g1, logits, levels=[0.0], colors="k", linewidths=1)
    for label, colour in ((0, "#2171b5"), (1, "#d94801")):
        chosen = y == label
        axes[0].scatter(x[chosen, 0], x[chosen, 1], s=10, c=colour, label=f"class {label}")
    accuracy = float(np.mean((np.asarray(logits_fn(x)).reshape(-1) > 0) == (y == 1)))
    axes[0].set(title=f"{title}: accuracy {accuracy:.1%}", xlabel="$x_1$", ylabel="$x_2$")
    axes[0].legend(loc="upper right")
    if losses is not None:
        axes[1].plot(np.arange(1, len(losses) + 1), losses)
        axes[1].set(title=losses_title, xlabel="epoch", ylabel="mean loss", yscale="log")
    return fig


def show(figure, filename):
    """Show a Figure in a notebook; outside one, save it as filename (a PNG) and say where."""
    try:
        from IPython import get_ipython
        from IPython.display import Image, display
    except ImportError:
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=100)  # a Figure made without pyplot has no inline display
        display(Image(data=buffer.getvalue(), format="png"))
    else:
        figure.savefig(filename, dpi=100)
        print(f"saved the picture as {filename}")
