"""Public support for exercise 05: a picture of an attention pattern.

    figure = plot_attention_pattern(pattern[0], tokens=["the", "cat", "sat"])
    show(figure, "pattern.png")          # inline in a notebook, else saved as pattern.png

Nothing here uses your code. The grader draws the pattern your `attention_head` returns with this
same function.
"""
import io

import numpy as np


def plot_attention_pattern(pattern, tokens=None, title="Attention pattern"):
    """Heatmap of one attention pattern: row i is query i, column j is key j.

    Inputs:
    - pattern: tensor (any device) or array of shape (T, T): one sequence of one head.
    - tokens: optional list of T strings that label the rows and the columns.
    - title: str, the figure's title.

    Returns:
    - figure: a matplotlib Figure (no pyplot state is touched). Weights are coloured from 0 to 1
      and written in the cells when T <= 12; nan is left blank.
    """
    # imported here so that importing this module (as the exercise file does) stays cheap
    from matplotlib.figure import Figure

    if hasattr(pattern, "detach"):  # a torch tensor, perhaps on a GPU
        pattern = pattern.detach().cpu().double().numpy()
    weights = np.asarray(pattern, dtype=np.float64)                     # (T, T)
    if weights.ndim != 2 or weights.shape[0] != weights.shape[1]:
        raise ValueError(f"pattern should have shape (T, T) for one sequence, got {weights.shape}")
    T = weights.shape[0]
    labels = [str(i) for i in range(T)] if tokens is None else [str(t) for t in tokens]
    if len(labels) != T:
        raise ValueError(f"{len(labels)} tokens given for a pattern of {T} positions")

    size = 2.5 + 0.45 * T
    figure = Figure(figsize=(size + 1.2, size), layout="constrained")
    axes = figure.add_subplot()
    image = axes.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=axes, label="attention weight")
    axes.set_xticks(range(T), labels, rotation=45, ha="right")
    axes.set_yticks(range(T), labels)
    axes.set_xlabel("key j (the token looked at)")
    axes.set_ylabel("query i (the token looking)")
    axes.set_title(title)
    if T <= 12:
        for i in range(T):
            for j in range(T):
                if np.isfinite(weights[i, j]) and weights[i, j] != 0.0:  # blank: masked, or nan
                    axes.text(j, i, f"{weights[i, j]:.2f}", ha="center", va="center", fontsize=8,
                              color="black" if weights[i, j] > 0.6 else "white")
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
        figure.savefig(buffer, format="png", dpi=100)  # a Figure made without pyplot has no inline display
        display(Image(data=buffer.getvalue(), format="png"))
    else:
        figure.savefig(filename, dpi=100)
        print(f"saved the picture as {filename}")
