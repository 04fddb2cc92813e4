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
# # Exercise 04: dropout
#
# A network with far more weights than training examples can learn its training set by heart,
# noise included: the training loss goes to zero while the loss on new data climbs. Dropout is a
# cheap defence. During training, every hidden unit is switched off at random at each update, so
# the network cannot lean on any single unit and has to spread what it knows over many of them.
# You will write dropout's forward and backward pass, put it into a small network, train that
# network with and without dropout on a small noisy data set, and look at the loss curves.
#
# **Inverted dropout.** Let h be the activations of a hidden layer and p the probability of
# DROPPING a unit (not of keeping it). In training mode each entry gets an independent random
# multiplier
#
#     m_i = 0           with probability p
#     m_i = 1/(1 − p)   with probability 1 − p
#
# and the layer passes on h̃ = m ⊙ h (⊙: elementwise product). The factor 1/(1 − p) keeps every
# activation right on average: E[m_i] = (1 − p) · 1/(1 − p) = 1, so E[h̃_i] = h_i. Because the
# rescaling happens during training, nothing changes at test time: in **eval mode** the layer is the
# identity, h̃ = h. (Classic dropout does the opposite: it keeps h unscaled in training and
# multiplies by 1 − p at test time. Inverted dropout is what libraries use, because the trained
# network then runs unchanged.)
#
# **The backward pass.** h̃_i = m_i h_i, so ∂L/∂h_i = m_i ∂L/∂h̃_i: the gradient goes through the
# **same** mask that the forward pass drew. A unit that was dropped received no gradient; a kept one
# gets its gradient multiplied by 1/(1 − p).
#
# **Rules for this file.** Use NumPy only, work in float64, keep the shapes written in each
# docstring, and keep no state between calls. All randomness comes from the `np.random.Generator`
# you are given (`rng.random`, `rng.binomial`, ...): never `np.random.seed`, `np.random.rand` or a
# generator of your own. Run the public tests with `pytest` in this folder.

# %%
import numpy as np

from dropout_support import STUDY_SETTINGS, bce_with_logits, init_params, make_data, plot_curves, show


# %% [markdown]
# ## 1. Dropout on one layer
#
# `dropout_forward(x, p, train, rng)` returns the output and the mask that x was multiplied by.
# In training mode with p > 0, draw each entry of the mask independently (for instance keep a unit
# where `rng.random(x.shape) >= p`) and scale the kept ones by 1/(1 − p). In eval mode
# (`train=False`) or with p = 0, the output is x itself and the mask is all ones.
# A probability outside [0, 1) makes no sense here (p = 1 would drop everything and divide by 0):
# raise a `ValueError` that says so.
#
# `dropout_backward(dout, mask)` returns ∂L/∂x given dout = ∂L/∂out and the mask from the forward
# pass.

# %%
def dropout_forward(x, p, train, rng):
    """Inverted dropout, forward pass.

    Inputs:
    - x: numpy float64 array of any shape, e.g. (N, H), the activations.
    - p: float in [0, 1), the probability of dropping each unit.
    - train: bool; True for training mode, False for eval mode (the identity).
    - rng: np.random.Generator, the source of the mask (not used in eval mode).

    Returns a tuple (out, mask):
    - out: numpy float64 array of the same shape as x, out = x * mask.
    - mask: numpy float64 array of the same shape as x: each entry 0 (dropped) or 1/(1 - p)
      (kept) in training mode; all ones in eval mode or when p == 0.

    Raises ValueError when p is not in [0, 1).
    """
    ### BEGIN SOLUTION
    if not 0.0 <= p < 1.0:
        raise ValueError(f"the dropout probability p must be in [0, 1), got {p}")
    if not train or p == 0.0:
        mask = np.ones_like(x, dtype=np.float64)   # (same as x) the identity
    else:
        keep = rng.random(x.shape) >= p            # (same as x) True with probability 1 - p
        mask = keep / (1.0 - p)                    # (same as x) 0 or 1/(1 - p): keeps the mean
    return x * mask, mask
    ### END SOLUTION


def dropout_backward(dout, mask):
    """Inverted dropout, backward pass.

    Inputs:
    - dout: numpy array of the same shape as the forward pass's x, dL/dout.
    - mask: the mask that dropout_forward returned with that output.

    Returns:
    - dx: numpy float64 array of the same shape as dout, dL/dx.
    """
    ### BEGIN SOLUTION
    return dout * mask  # the forward's mask: dropped units get no gradient
    ### END SOLUTION


# %% [markdown]
# ## 2. A network with dropout
#
# The network is a binary classifier as in exercise 02: L layers, ReLU after each hidden layer,
# one linear output unit whose value z (the logit) is turned into a probability by the sigmoid.
# Its parameters are a dict with keys `W1, b1, ..., WL, bL`, with W_l of shape (fan_in, fan_out)
# and b_l of shape (fan_out,); `init_params` from the support module makes one.
# Dropout comes **after every hidden ReLU** and nowhere else: not on the input, and not on the
# output (dropping the logit would just throw predictions away). With h_0 = x:
#
#     a_l = h_(l−1) W_l + b_l        for l = 1, ..., L − 1       a_l: (N, H_l)
#     h_l = m_l ⊙ ReLU(a_l)          (m_l: a fresh dropout mask; in eval mode h_l = ReLU(a_l))
#     z   = h_(L−1) W_L + b_L        the logits, shape (N,) once the last axis of size 1 is dropped
#
# The loss is the mean logistic loss L = mean(log(1 + e^z) − y z), whose gradient is
# ∂L/∂z = (σ(z) − y)/N; `bce_with_logits` from the support module computes both.
#
# For the backward pass, start from dz = ∂L/∂z and go back layer by layer with the chain rule:
#
#     ∂L/∂W_L = h_(L−1)ᵀ dz     ∂L/∂b_L = Σ_n dz_n     ∂L/∂h_(L−1) = dz W_Lᵀ
#     ∂L/∂a_l = m_l ⊙ ∂L/∂h_l ⊙ 1[a_l > 0]      (the same mask m_l as in the forward pass)
#     ∂L/∂W_l = h_(l−1)ᵀ ∂L/∂a_l     ∂L/∂b_l = Σ_n (∂L/∂a_l)_n     ∂L/∂h_(l−1) = ∂L/∂a_l W_lᵀ
#
# `mlp_dropout_forward` returns the logits and `caches`: whatever your backward pass needs, in a
# layout of your choice (the masks must be in there). `mlp_dropout_backward` gets those caches
# back. Use your `dropout_forward` and `dropout_backward`.

# %%
def mlp_dropout_forward(params, x, p, train, rng):
    """Forward pass of the network with dropout after every hidden ReLU.

    Inputs:
    - params: dict with keys W1, b1, ..., WL, bL; W_l of shape (H_{l-1}, H_l), b_l of shape (H_l,),
      with H_0 = D and H_L = 1.
    - x: numpy float64 array of shape (N, D).
    - p: float in [0, 1), the dropout probability of the hidden units.
    - train: bool; in eval mode (False) no unit is dropped.
    - rng: np.random.Generator, the source of the masks (not used in eval mode).

    Returns a tuple (logits, caches):
    - logits: numpy float64 array of shape (N,).
    - caches: what mlp_dropout_backward needs, including the masks that were drawn.
    """
    ### BEGIN SOLUTION
    n_layers = len(params) // 2
    h = x                                                          # (N, D)
    caches = []
    for layer in range(1, n_layers):
        a = h @ params[f"W{layer}"] + params[f"b{layer}"]          # (N, H_l) pre-activation
        h_next, mask = dropout_forward(np.maximum(a, 0.0), p, train, rng)  # (N, H_l), (N, H_l)
        caches.append((h, params[f"W{layer}"], a, mask))
        h = h_next
    W_out = params[f"W{n_layers}"]                                 # (H_{L-1}, 1)
    logits = (h @ W_out + params[f"b{n_layers}"])[:, 0]            # (N,) no dropout on the output
    caches.append((h, W_out))
    return logits, caches
    ### END SOLUTION


def mlp_dropout_backward(dlogits, caches):
    """Backward pass of the network with dropout.

    Inputs:
    - dlogits: numpy float64 array of shape (N,), dL/dz.
    - caches: what mlp_dropout_forward returned with those logits.

    Returns:
    - grads: dict with the same keys and shapes as params: grads["W1"] = dL/dW1, and so on.
    """
    ### BEGIN SOLUTION
    n_layers = len(caches)
    h, W_out = caches[-1]
    dz = dlogits[:, None]                                          # (N, 1)
    grads = {f"W{n_layers}": h.T @ dz, f"b{n_layers}": dz.sum(axis=0)}
    dh = dz @ W_out.T                                              # (N, H_{L-1})
    for layer in range(n_layers - 1, 0, -1):
        h_in, W, a, mask = caches[layer - 1]
        dr = dropout_backward(dh, mask)                            # (N, H_l) through the forward's mask
        da = dr * (a > 0)                                          # (N, H_l) ReLU'
        grads[f"W{layer}"] = h_in.T @ da                           # (H_{l-1}, H_l)
        grads[f"b{layer}"] = da.sum(axis=0)                        # (H_l,)
        dh = da @ W.T                                              # (N, H_{l-1})
    return grads
    ### END SOLUTION


# %% [markdown]
# ## 3. Training with dropout
#
# `train_with_dropout` trains the network by full-batch gradient descent: each epoch is one update
# on the whole training set, W ← W − lr ∂L/∂W for every parameter, with the gradient of a forward
# pass in **training mode** (fresh masks every epoch). Start like this, so that runs with the same
# seed start from the same network:
#
#     rng = np.random.default_rng(seed)
#     params = init_params([D, *hidden, 1], rng)
#
# and draw every mask from that same `rng`. After each update, record the training and the
# validation loss of the updated network, both in **eval mode**: the loss of the network as it
# will be used, not of one random thinned version of it. So `history["val_loss"][-1]` is the
# validation loss of the parameters you return.

# %%
def train_with_dropout(x_tr, y_tr, x_val, y_val, *, p, hidden, epochs, lr, seed):
    """Full-batch gradient descent on the logistic loss, with dropout after every hidden ReLU.

    Inputs:
    - x_tr: numpy float64 array of shape (N, D); y_tr: array of shape (N,) of 0/1 labels.
    - x_val: numpy float64 array of shape (M, D); y_val: array of shape (M,) of 0/1 labels.
    - p: float in [0, 1), the dropout probability.
    - hidden: sequence of ints, the sizes of the hidden layers, e.g. (64, 64).
    - epochs: int, the number of updates.
    - lr: float, the learning rate.
    - seed: int, the seed of the generator that draws the initial weights and every mask.

    Returns a tuple (params, history):
    - params: dict W1, b1, ..., WL, bL after the last update (layer sizes [D, *hidden, 1]).
    - history: dict {"train_loss": list of epochs floats, "val_loss": list of epochs floats};
      entry k is the loss after update k + 1, measured in eval mode.
    """
    ### BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    params = init_params([x_tr.shape[1], *hidden, 1], rng)
    history = {"train_loss": [], "val_loss": []}
    for _ in range(epochs):
        logits, caches = mlp_dropout_forward(params, x_tr, p, True, rng)
        _, dlogits = bce_with_logits(logits, y_tr)
        grads = mlp_dropout_backward(dlogits, caches)
        params = {name: value - lr * grads[name] for name, value in params.items()}
        train_logits, _ = mlp_dropout_forward(params, x_tr, p, False, rng)  # eval mode: no masks
        val_logits, _ = mlp_dropout_forward(params, x_val, p, False, rng)
        history["train_loss"].append(bce_with_logits(train_logits, y_tr)[0])
        history["val_loss"].append(bce_with_logits(val_logits, y_val)[0])
    return params, history
    ### END SOLUTION


# %% [markdown]
# ## 4. The study
#
# `dropout_study(ps, seed)` trains one network per dropout probability in `ps` on the exercise's
# data set, `make_data()`, with the settings `STUDY_SETTINGS` of the support module (two hidden
# layers of 64 units for 30 training points) and the same `seed` for every p, so that all runs
# start from the same weights:
#
#     train_with_dropout(x_train, y_train, x_val, y_val, p=p, seed=seed, **STUDY_SETTINGS)
#
# It returns the histories by dropout probability, `{p: history}`. The cell after it draws them.

# %%
def dropout_study(ps=(0.0, 0.2, 0.5), seed=0):
    """Train the study's network once per dropout probability.

    Inputs:
    - ps: sequence of floats in [0, 1), the dropout probabilities to compare.
    - seed: int, the seed of every run.

    Returns:
    - histories: dict {p: history} with one entry per p in ps (the keys are the floats of ps), each
      history as train_with_dropout returns it.
    """
    ### BEGIN SOLUTION
    x_train, y_train, x_val, y_val = make_data()
    return {float(p): train_with_dropout(x_train, y_train, x_val, y_val, p=p, seed=seed,
                                         **STUDY_SETTINGS)[1]
            for p in ps}
    ### END SOLUTION


# %%
if __name__ == "__main__":
    histories = dropout_study()
    for p, history in histories.items():
        gap = history["val_loss"][-1] - history["train_loss"][-1]
        print(f"p = {p:.1f}: training loss {history['train_loss'][-1]:.3f}, "
              f"validation loss {history['val_loss'][-1]:.3f}, gap {gap:.3f}")
    show(plot_curves(histories))

# %% [markdown]
# ## 5. What the curves say
#
# Describe the curves in a few sentences. Without dropout, what happens to the training loss and
# to the validation loss as training goes on, and why? What does p = 0.5 change, for the training
# loss and for the gap between the two curves? Why is the training loss with dropout measured in
# eval mode, and what would the curve look like if it were measured in training mode?

# %% [markdown] tags=["explanation"]
# ### BEGIN SOLUTION
# Without dropout the training loss keeps falling towards 0: the network has thousands of weights
# for 30 points and learns them by heart, the flipped labels included. The validation loss falls
# at first, while the network learns the two moons, then rises again: fitting the noise makes it
# confidently wrong on new points, and the logistic loss punishes confident mistakes hard.
#
# With p = 0.5 every update sees a different half of the hidden units, so no unit can specialise
# in one training point and the others cannot rely on it. The training loss falls more slowly and
# stays higher, the validation loss stays lower, and the gap between them (the overfitting) is
# much smaller. p = 0.2 lies in between.
#
# The losses are measured in eval mode because that is the network we use afterwards; in training
# mode the loss would be that of one random thinned network, higher and noisy from epoch to epoch,
# and it would mix the effect of the noise with how well the network has learnt.
# ### END SOLUTION
