# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Exercise 01: the gradient of one neuron
#
# Before a whole network, one neuron. You will compute its output, measure how wrong it is, work
# out by hand how the error changes when you nudge each weight (the chain rule), check that
# answer numerically, and finally let gradient descent use it to learn.
#
# **The model.** The input is a batch of N samples with D features each, stored as the rows of
# `x` of shape (N, D). The neuron has a weight vector `w` of shape (D,) and a scalar bias `b`.
# For every sample n it computes a weighted sum and squashes it with the sigmoid σ:
#
#     z = x·w + b            z has shape (N,):  z_n = Σ_i x_ni w_i + b
#     a = σ(z)               a has shape (N,):  σ(z) = 1 / (1 + e^(−z)), a value in (0, 1)
#
# **The loss.** With targets `y` of shape (N,), the cost is the mean squared error over the batch:
#
#     L = mean((a − y)²) = (1/N) Σ_n (a_n − y_n)²
#
# **The chain rule.** L depends on w only through z and a, so its sensitivity to one weight is a
# product of three local sensitivities, one per step of the computation:
#
#     ∂L/∂w_i = Σ_n  ∂z_n/∂w_i · ∂a_n/∂z_n · ∂L/∂a_n
#
# The three factors are simple: ∂L/∂a_n = 2(a_n − y_n)/N (the error, scaled by 2 from the square
# and 1/N from the mean), ∂a_n/∂z_n = σ'(z_n) = a_n(1 − a_n), and ∂z_n/∂w_i = x_ni (for the bias,
# ∂z_n/∂b = 1). Every sample contributes, so the contributions are **summed over the batch**.
#
# **Rules for this file.** Use NumPy only, work in float64, keep the shapes written in each
# docstring, and keep no state between calls. Run the public tests with `pytest` in this folder.

# %%
import numpy as np


# %% [markdown]
# ## 1. The sigmoid and its derivative
#
# Implement `sigmoid(z)` for an array `z` of any shape. The formula 1 / (1 + e^(−z)) is right in
# exact arithmetic but not in float64: for z = −1000, e^(−z) = e^1000 overflows to inf and NumPy
# warns (`RuntimeWarning: overflow encountered in exp`); written as e^z / (1 + e^z) it even gives
# inf/inf = nan for large positive z. Your sigmoid must give the right value for |z| up to 1e4
# **without any warning**. Hint: e^(−|z|) never overflows, and σ(z) = e^z / (1 + e^z) is the same
# function written for negative z. Careful with `np.where`: it computes *both* branches for every
# element before choosing, so each branch must be safe for every z.
#
# Then implement `sigmoid_prime(z)`, the derivative dσ/dz. It has a neat form in terms of σ(z)
# itself: σ'(z) = σ(z)(1 − σ(z)). Note where σ is applied: to z, not to the output.

# %%
def sigmoid(z):
    """Numerically stable logistic sigmoid, elementwise.

    Inputs:
    - z: numpy array of any shape, e.g. (N,) or (N, M); values may be as large as |z| = 1e4.

    Returns:
    - s: numpy float64 array of the same shape as z, s = 1 / (1 + exp(-z)), each value in [0, 1].
      No overflow warning and no nan for any finite z.
    """
    # YOUR CODE HERE
    raise NotImplementedError()


def sigmoid_prime(z):
    """Derivative of the sigmoid with respect to its input, elementwise.

    Inputs:
    - z: numpy array of any shape (the pre-activation, NOT the sigmoid's output).

    Returns:
    - ds: numpy float64 array of the same shape as z, ds = dσ/dz evaluated at z.
    """
    # YOUR CODE HERE
    raise NotImplementedError()


# %% [markdown]
# ## 2. Forward pass and loss
#
# `neuron_forward` computes a = σ(x·w + b) for the whole batch at once (no loop over samples
# needed: `x @ w` has shape (N,)). `mse_loss` returns L = mean((a − y)²) as one number.

# %%
def neuron_forward(x, w, b):
    """Forward pass of one sigmoid neuron on a batch.

    Inputs:
    - x: numpy array of shape (N, D), one sample per row.
    - w: numpy array of shape (D,), the weights.
    - b: float, the bias.

    Returns:
    - a: numpy float64 array of shape (N,), a = sigmoid(x @ w + b).
    """
    # YOUR CODE HERE
    raise NotImplementedError()


def mse_loss(a, y):
    """Mean squared error over the batch.

    Inputs:
    - a: numpy array of shape (N,), the neuron's outputs.
    - y: numpy array of shape (N,), the targets.

    Returns:
    - loss: float, mean((a - y) ** 2) (the mean over the N samples, no factor 1/2).
    """
    # YOUR CODE HERE
    raise NotImplementedError()


# %% [markdown]
# ## 3. Derive the gradient by hand
#
# Using the chain rule above, derive ∂L/∂w (a vector of shape (D,)) and ∂L/∂b (a number) for
# L = mean((σ(x·w + b) − y)²). Write each step: the three local derivatives, why σ'(z) = a(1 − a),
# how the N samples are combined, and the final formulas, first per component and then in matrix
# form (with `x.T`). Then implement your result in `neuron_gradients` below.

# %% [markdown] tags=["derivation"]
# YOUR ANSWER HERE

# %%
def neuron_gradients(x, w, b, y):
    """Gradient of L = mse_loss(neuron_forward(x, w, b), y) with respect to w and b.

    Inputs:
    - x: numpy array of shape (N, D).
    - w: numpy array of shape (D,).
    - b: float.
    - y: numpy array of shape (N,), the targets.

    Returns a tuple (dw, db):
    - dw: numpy float64 array of shape (D,), dL/dw.
    - db: float, dL/db (one number for the whole batch).
    """
    # YOUR CODE HERE
    raise NotImplementedError()


# %% [markdown]
# ## 4. Check the gradient numerically
#
# A derivative is a limit of difference quotients, so any gradient can be checked without
# calculus. For one coordinate i of a parameter vector θ, the **central difference**
#
#     ∂f/∂θ_i ≈ (f(θ + ε e_i) − f(θ − ε e_i)) / (2ε)
#
# (e_i is the i-th unit vector) has an error of order ε², while the one-sided forward difference
# (f(θ + ε e_i) − f(θ)) / ε has an error of order ε, which is much larger for a curved f.
# Implement `numerical_gradient(f, theta, eps)` with central differences, one coordinate at a time.
# `f` takes a parameter vector of shape (P,) and returns a float. Do not change the caller's
# `theta`: work on a copy.
#
# To check `neuron_gradients`, pack the parameters as θ = [w_1, ..., w_D, b] and compare:
#
#     f = lambda theta: mse_loss(neuron_forward(x, theta[:-1], theta[-1]), y)
#     numerical_gradient(f, np.concatenate([w, [b]]))   # should be close to [*dw, db]

# %%
def numerical_gradient(f, theta, eps=1e-5):
    """Gradient of a scalar function by central differences.

    Inputs:
    - f: callable taking a numpy array of shape (P,) and returning a float.
    - theta: numpy array of shape (P,), the point at which to differentiate. Not modified.
    - eps: float, the step size.

    Returns:
    - grad: numpy float64 array of shape (P,), with
      grad[i] = (f(theta + eps * e_i) - f(theta - eps * e_i)) / (2 * eps).
    """
    # YOUR CODE HERE
    raise NotImplementedError()


# %% [markdown]
# ## 5. Gradient descent
#
# Now let the neuron learn. Starting from `w0`, `b0`, repeat `steps` times: measure the loss,
# compute the gradient, and take a step of size `lr` (the learning rate η) against it:
#
#     w ← w − η ∂L/∂w        b ← b − η ∂L/∂b
#
# Record the loss **before** each update, so `losses[0]` is the loss of the starting point and
# `losses[i]` the loss just before update i. Do not modify `w0`.

# %%
def gradient_descent(x, y, w0, b0, lr, steps):
    """Full-batch gradient descent on the MSE loss of one sigmoid neuron.

    Inputs:
    - x: numpy array of shape (N, D).
    - y: numpy array of shape (N,).
    - w0: numpy array of shape (D,), the starting weights (not modified).
    - b0: float, the starting bias.
    - lr: float, the learning rate.
    - steps: int, the number of updates.

    Returns a tuple (w, b, losses):
    - w: numpy float64 array of shape (D,), the weights after `steps` updates.
    - b: float, the bias after `steps` updates.
    - losses: numpy float64 array of shape (steps,); losses[i] is the loss before update i.
    """
    # YOUR CODE HERE
    raise NotImplementedError()


# %% [markdown]
# ## 6. Try it
#
# A small data set the neuron can fit: the target is 1 when x·w_true > 0. The loss should fall.

# %%
if __name__ == "__main__":
    rng = np.random.default_rng(0)
    x_demo = rng.normal(size=(200, 3))
    y_demo = (x_demo @ np.array([1.5, -2.0, 0.5]) > 0).astype(np.float64)
    w_fit, b_fit, history = gradient_descent(x_demo, y_demo, np.zeros(3), 0.0, lr=2.0, steps=300)
    final_loss = mse_loss(neuron_forward(x_demo, w_fit, b_fit), y_demo)
    print(f"loss before training: {history[0]:.4f}, after {len(history)} steps: {final_loss:.4f}")
