"""Public support for exercise 01: the scalar functions that `numerical_gradient` is tested on.

Each builder below returns a callable ``f(theta) -> float`` of a flat parameter vector ``theta`` of
shape (P,). The tests name them instead of passing a function, for example

    FixtureRef("neuron_support:neuron_loss", x=x, y=y)

so that the same ``f`` can be built in your Python process (when you run pytest) or inside the
grader's sandbox. You can use them yourself too:

    f = neuron_loss(x, y)
    numerical_gradient(f, np.concatenate([w, [b]]))

Pure NumPy; nothing here uses your code. The callables never modify ``theta``.
"""
import numpy as np


def _sigmoid(z):
    """Stable logistic sigmoid of an array z (any shape), without overflow warnings."""
    e = np.exp(-np.abs(z))                                   # (same as z), in (0, 1]
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def neuron_loss(x, y):
    """The neuron's loss as a function of all its parameters packed into one vector.

    Inputs:
    - x: array of shape (N, D), the inputs.
    - y: array of shape (N,), the targets.

    Returns:
    - f: callable; f(theta) with theta of shape (D + 1,) = concatenate([w, [b]]) returns the float
      mean((sigmoid(x @ w + b) - y) ** 2).
    """
    x = np.array(x, dtype=np.float64)                        # (N, D)
    y = np.array(y, dtype=np.float64)                        # (N,)

    def f(theta):
        theta = np.asarray(theta, dtype=np.float64)          # (D + 1,)
        a = _sigmoid(x @ theta[:-1] + theta[-1])             # (N,)
        return float(np.mean((a - y) ** 2))

    return f


def curved_function(scale=3.0):
    """A smooth function with strong curvature, on which one-sided differences are visibly off.

    f(theta) = sum_i exp(scale * theta_i) + 0.5 * (sum_i theta_i) ** 2

    Its exact gradient is  scale * exp(scale * theta) + sum(theta)  (shape (P,)). With eps = 1e-5
    the central difference matches it to about 1e-9 (relative), while the forward difference
    (f(theta + eps e_i) - f(theta)) / eps is off by about eps * scale / 2 = 1.5e-5 (relative).

    Inputs:
    - scale: float, how sharply the exponentials bend.

    Returns:
    - f: callable; f(theta) with theta of any shape (P,) returns a float.
    """
    scale = float(scale)

    def f(theta):
        theta = np.asarray(theta, dtype=np.float64)          # (P,)
        return float(np.sum(np.exp(scale * theta)) + 0.5 * np.sum(theta) ** 2)

    return f


def quadratic(c):
    """f(theta) = sum_i c_i * theta_i ** 2, whose gradient is 2 * c * theta.

    Central differences are exact on a quadratic (up to rounding), so this is an easy first check.

    Inputs:
    - c: array of shape (P,), the coefficients.

    Returns:
    - f: callable; f(theta) with theta of shape (P,) returns a float.
    """
    c = np.array(c, dtype=np.float64)                        # (P,)

    def f(theta):
        theta = np.asarray(theta, dtype=np.float64)          # (P,)
        return float(np.sum(c * theta ** 2))

    return f
