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
# # Exercise 02: a multilayer perceptron in NumPy
#
# In exercise 01 one neuron learned a straight boundary. Now you build a whole network, layer by
# layer, with its forward pass, its backward pass (backpropagation) and the Adam optimizer, and
# train it to separate two classes that no straight line can split. No autograd: every gradient
# is yours.
#
# **The network.** A batch of N samples with D features is the (N, D) array `x`. The network has
# L linear layers with ReLU in between and one output unit at the end:
#
#     h_0 = x
#     z_l = h_(l−1) W_l + b_l      W_l: (fan_in, fan_out), b_l: (fan_out,), z_l: (N, fan_out)
#     h_l = ReLU(z_l) = max(z_l, 0)    for the hidden layers l = 1, ..., L − 1
#     s   = z_L                    the logits, one number per sample: shape (N,)
#
# The sizes are given as a list `layer_sizes = [D, H_1, ..., H_(L−1), 1]`, so layer l has
# fan_in = layer_sizes[l − 1] and fan_out = layer_sizes[l]. The parameters live in a dict with
# keys `"W1", "b1", ..., "WL", "bL"`.
#
# **The loss.** The labels y_n are 0 or 1. The network's probability of class 1 is σ(s_n) (the
# sigmoid of exercise 01), and the loss is the logistic loss (binary cross-entropy) averaged over
# the batch:
#
#     L = −(1/N) Σ_n [ y_n log σ(s_n) + (1 − y_n) log(1 − σ(s_n)) ]
#
# **Backpropagation.** The backward pass visits the layers in reverse order. Each layer receives
# the gradient of L with respect to its output (`dout`, same shape as the output) and returns the
# gradient with respect to its input, plus those of its own parameters. Every layer only needs
# what it saw in its forward pass, so each forward function returns a `cache` of what its
# backward function will need. What you put in a cache is up to you.
#
# **Rules for this file.** Use NumPy only (no PyTorch), work in float64, keep the shapes written
# in each docstring, keep no state between calls, and take randomness only from the `rng` (or
# `seed`) you are given. Run the public tests with `pytest` in this folder.

# %%
import numpy as np


# %% [markdown]
# ## 1. Initialisation
#
# If the weights are too small, the signal shrinks layer after layer; too large, it explodes.
# Each scheme draws W_l from a normal distribution with mean 0 and a variance chosen from the
# layer's size:
#
#     "he"       Var(W_l) = 2 / fan_in                (He et al., made for ReLU layers)
#     "xavier"   Var(W_l) = 2 / (fan_in + fan_out)    (Glorot and Bengio)
#
# Here fan_in is the number of inputs of the layer (the rows of W_l) and fan_out the number of
# outputs (its columns). The biases start at 0. Draw every random number from `rng`
# (for instance `rng.normal(0.0, std, size=...)`), never from `np.random` directly, so that the
# same generator state always gives the same network. An unknown scheme is a ValueError.

# %%
def init_params(layer_sizes, rng, scheme="he"):
    """Random initial parameters of the network.

    Inputs:
    - layer_sizes: list of ints [D, H_1, ..., H_(L-1), 1], at least two entries.
    - rng: np.random.Generator, the only source of randomness.
    - scheme: "he" or "xavier".

    Returns:
    - params: dict with, for l = 1, ..., L, "W<l>" of shape (layer_sizes[l-1], layer_sizes[l])
      drawn from N(0, variance of the scheme), and "b<l>" of shape (layer_sizes[l],), all zero.
    """
    # YOUR CODE HERE
    raise NotImplementedError()


# %% [markdown]
# ## 2. The linear layer
#
# Forward: out = x W + b, for the whole batch at once (b is added to every row).
#
# Backward: given dout = ∂L/∂out of shape (N, M), the chain rule gives
#
#     ∂L/∂x = dout Wᵀ            shape (N, D)
#     ∂L/∂W = xᵀ dout            shape (D, M): the same shape as W
#     ∂L/∂b = Σ_n dout_n         shape (M,):   b is used by every sample, so sum over the batch
#
# A quick check for any gradient: it always has the shape of the thing it is the gradient of.

# %%
def linear_forward(x, W, b):
    """Forward pass of a fully connected layer.

    Inputs:
    - x: numpy array of shape (N, D), the layer's inputs.
    - W: numpy array of shape (D, M), the weights.
    - b: numpy array of shape (M,), the biases.

    Returns a tuple (out, cache):
    - out: numpy float64 array of shape (N, M), out = x @ W + b.
    - cache: whatever linear_backward needs.
    """
    # YOUR CODE HERE
    raise NotImplementedError()


def linear_backward(dout, cache):
    """Backward pass of a fully connected layer.

    Inputs:
    - dout: numpy array of shape (N, M), the gradient of the loss with respect to out.
    - cache: what linear_forward returned with out.

    Returns a tuple (dx, dW, db):
    - dx: numpy float64 array of shape (N, D), the gradient with respect to x.
    - dW: numpy float64 array of shape (D, M), the gradient with respect to W.
    - db: numpy float64 array of shape (M,), the gradient with respect to b.
    """
    # YOUR CODE HERE
    raise NotImplementedError()


# %% [markdown]
# ## 3. ReLU
#
# Forward: out = max(x, 0) elementwise. Backward: ReLU passes the gradient where its input was
# positive and blocks it elsewhere, dx = dout · 1[x > 0]. At exactly x = 0 the derivative is not
# defined; take it to be 0 there (as PyTorch does), so the gradient is blocked at 0 too.

# %%
def relu_forward(x):
    """Forward pass of the ReLU, elementwise.

    Inputs:
    - x: numpy array of any shape.

    Returns a tuple (out, cache):
    - out: numpy float64 array of the same shape as x, max(x, 0).
    - cache: whatever relu_backward needs.
    """
    # YOUR CODE HERE
    raise NotImplementedError()


def relu_backward(dout, cache):
    """Backward pass of the ReLU.

    Inputs:
    - dout: numpy array of the same shape as the ReLU's input, the upstream gradient.
    - cache: what relu_forward returned with out.

    Returns:
    - dx: numpy float64 array of the same shape, dout where the input was > 0, else 0
      (0 also where the input was exactly 0).
    """
    # YOUR CODE HERE
    raise NotImplementedError()


# %% [markdown]
# ## 4. The logistic loss, straight from the logits
#
# Written with σ, the loss needs log σ(s) and log(1 − σ(s)), and both break for large |s|:
# σ(−1000) underflows to 0 and log 0 = −inf, and e^1000 overflows. Write the loss of one sample
# in terms of the logit instead (use log σ(s) = −log(1 + e^(−s)) and log(1 − σ(s)) = −s − log(1 + e^(−s))):
#
#     ℓ(s, y) = log(1 + e^s) − y s = max(s, 0) + log(1 + e^(−|s|)) − y s
#
# The last form never exponentiates a positive number. `np.log1p(u)` computes log(1 + u)
# accurately for small u. Your loss must be right, with no warning, for |s| up to 1e4.
#
# Its derivative is remarkably simple: ∂ℓ/∂s = σ(s) − y. Since L is the mean of ℓ over the
# batch, ∂L/∂s_n = (σ(s_n) − y_n) / N. Compute σ stably as in exercise 01.

# %%
def bce_with_logits(logits, y):
    """Mean logistic loss (binary cross-entropy) of logits, and its gradient.

    Inputs:
    - logits: numpy array of shape (N,), the network's outputs s (values up to |s| = 1e4).
    - y: numpy array of shape (N,), the labels, each 0 or 1.

    Returns a tuple (loss, dlogits):
    - loss: float, L = mean over n of log(1 + exp(s_n)) - y_n s_n.
    - dlogits: numpy float64 array of shape (N,), dL/ds = (sigmoid(s) - y) / N.
    """
    # YOUR CODE HERE
    raise NotImplementedError()


# %% [markdown]
# ## 5. The whole network
#
# `mlp_forward` chains the layers: linear, ReLU, linear, ReLU, ..., linear (no ReLU after the last
# layer: the logits may be negative). It returns the logits of shape (N,) (the single output
# column) and the caches of all layers.
#
# `mlp_backward` starts from dlogits = ∂L/∂s of shape (N,) and walks back through the caches in
# reverse order, collecting ∂L/∂W_l and ∂L/∂b_l in a dict with the same keys and shapes as the
# parameters.

# %%
def mlp_forward(params, x):
    """Forward pass of the network.

    Inputs:
    - params: dict "W1", "b1", ..., "WL", "bL" as init_params makes it (the last layer has one unit).
    - x: numpy array of shape (N, D).

    Returns a tuple (logits, caches):
    - logits: numpy float64 array of shape (N,).
    - caches: whatever mlp_backward needs.
    """
    # YOUR CODE HERE
    raise NotImplementedError()


def mlp_backward(dlogits, caches):
    """Backward pass of the network.

    Inputs:
    - dlogits: numpy array of shape (N,), the gradient of the loss with respect to the logits.
    - caches: what mlp_forward returned with the logits.

    Returns:
    - grads: dict with the same keys as params; grads["W<l>"] = dL/dW_l and grads["b<l>"] = dL/db_l,
      each of the same shape as the parameter.
    """
    # YOUR CODE HERE
    raise NotImplementedError()


# %% [markdown]
# ## 6. Adam
#
# Plain gradient descent takes the same step size η for every parameter. Adam keeps, per
# parameter, running averages of the gradient g (the first moment m) and of its square (the
# second moment v), and steps by their ratio. At step t = 1, 2, 3, ...:
#
#     m_t = β₁ m_(t−1) + (1 − β₁) g_t               m_0 = 0
#     v_t = β₂ v_(t−1) + (1 − β₂) g_t²              v_0 = 0
#     m̂_t = m_t / (1 − β₁ᵗ)                        bias correction
#     v̂_t = v_t / (1 − β₂ᵗ)
#     θ_t = θ_(t−1) − η m̂_t / (√v̂_t + ε)
#
# Because m and v start at 0, they are biased towards 0 in the first steps; dividing by
# 1 − βᵗ removes that bias (at t = 1, m̂_1 = g_1 exactly). The step counter t starts at 1.
#
# `adam_step` does one step for every parameter. `state` holds m, v and t between calls: it is
# `{}` before the first step, and you decide what goes into it; return the new state, the caller
# hands it back at the next step.

# %%
def adam_step(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """One Adam update of every parameter.

    Inputs:
    - params: dict name -> numpy array, the current parameters.
    - grads: dict with the same keys and shapes, the gradients of the loss.
    - state: the optimizer state returned by the previous call, or {} before the first step.
    - lr: float, the learning rate η.
    - beta1, beta2: floats, the decay rates of the first and second moments.
    - eps: float, added to √v̂ to avoid dividing by zero.

    Returns a tuple (params, state):
    - params: dict with the same keys and shapes, the parameters after the step.
    - state: the optimizer state to pass to the next call.
    """
    # YOUR CODE HERE
    raise NotImplementedError()


# %% [markdown]
# ## 7. Training
#
# Put it together. `train` makes a generator `rng = np.random.default_rng(seed)`, initialises the
# network with He initialisation from it, and runs `epochs` epochs of mini-batch Adam. In each
# epoch it shuffles the N samples (a new permutation from `rng`), cuts them into batches of
# `batch_size` (the last one may be smaller), and for each batch runs the forward pass, the loss,
# the backward pass and one `adam_step`. It records one number per epoch: the mean loss over the
# epoch's samples (the batch losses weighted by the batch sizes).
#
# `predict` turns logits into classes: 1 where σ(s) > 0.5, that is where s > 0, else 0.

# %%
def train(x, y, layer_sizes, *, epochs, lr, batch_size, seed):
    """Train the network with mini-batch Adam.

    Inputs:
    - x: numpy array of shape (N, D), the training inputs.
    - y: numpy array of shape (N,), the labels 0 / 1.
    - layer_sizes: list [D, H_1, ..., H_(L-1), 1].
    - epochs: int, the number of passes over the data.
    - lr: float, Adam's learning rate.
    - batch_size: int, the number of samples per update.
    - seed: int, seeds the generator used for the initialisation and the shuffling.

    Returns a tuple (params, losses):
    - params: dict "W1", "b1", ..., the trained parameters.
    - losses: numpy float64 array of shape (epochs,), the mean training loss of each epoch.
    """
    # YOUR CODE HERE
    raise NotImplementedError()


def predict(params, x):
    """Class predictions of the network.

    Inputs:
    - params: dict of parameters.
    - x: numpy array of shape (N, D).

    Returns:
    - labels: numpy array of shape (N,), 1 where the logit is > 0, else 0.
    """
    # YOUR CODE HERE
    raise NotImplementedError()


# %% [markdown]
# ## 8. Try it
#
# Two interleaving half moons (from `mlp_support.py`): no straight line separates them, but a
# network with two hidden layers of 32 units does. Train on 500 points, then measure the accuracy
# on 500 points the network has never seen.

# %%
if __name__ == "__main__":
    from mlp_support import make_moons, plot_classifier, show

    data_rng = np.random.default_rng(0)
    x_train, y_train = make_moons(500, noise=0.15, rng=data_rng)
    x_test, y_test = make_moons(500, noise=0.15, rng=data_rng)
    trained, history = train(x_train, y_train, [2, 32, 32, 1], epochs=60, lr=0.01, batch_size=32, seed=0)
    test_accuracy = np.mean(predict(trained, x_test) == y_test)
    print(f"loss: {history[0]:.4f} in the first epoch, {history[-1]:.4f} in the last; "
          f"held-out accuracy: {test_accuracy:.1%}")
    figure = plot_classifier(lambda points: mlp_forward(trained, points)[0], x_test, y_test, history)
    show(figure, "moons.png")
