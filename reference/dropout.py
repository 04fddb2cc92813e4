"""Reference for exercise 04 (dropout), in PyTorch, with autograd for every gradient.

Tensor-first and device-agnostic: each function works on the dtype and device of its tensor
inputs. NumPy arrays and Python numbers are accepted too and become float64 tensors (on the
device of the first tensor argument, if any), so the tests can pass their data as it is.
Parameters are dicts {"W1", "b1", ..., "WL", "bL"} with W_l of shape (fan_in, fan_out) and b_l of
shape (fan_out,); the network is ReLU hidden layers, each followed by inverted dropout, and one
linear output unit. Masks are drawn with torch's own generator: the reference never tries to
reproduce the numbers a NumPy solution draws.
"""
import torch
import torch.nn.functional as F


def _tensor(value, like=None):
    """value as a tensor: unchanged if it is one, else float64 on like's device (default: CPU)."""
    if isinstance(value, torch.Tensor):
        return value
    device = like.device if isinstance(like, torch.Tensor) else None
    return torch.as_tensor(value, dtype=torch.float64, device=device)


def _params(params, like):
    """{name: tensor} of a parameter dict, each on like's device when it was not a tensor."""
    return {name: _tensor(value, like) for name, value in params.items()}


def n_layers(params) -> int:
    """L, the number of linear layers of a parameter dict with keys W1, b1, ..., WL, bL."""
    return len(params) // 2


def dropout_mask(shape, p, like, generator=None):
    """A mask of the given shape: 0 with probability p, else 1/(1 - p); dtype and device of like."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"the dropout probability p must be in [0, 1), got {p}")
    keep = torch.full(shape, 1.0 - p, dtype=like.dtype, device=like.device)
    return torch.bernoulli(keep, generator=generator) / (1.0 - p)


def dropout(x, p, train=True, generator=None):
    """Inverted dropout -> (out, mask) with out = x * mask; the identity in eval mode or for p == 0."""
    x = _tensor(x)                                                       # (any shape)
    if not train or p == 0.0:
        mask = torch.ones_like(x)                                        # (same as x)
    else:
        mask = dropout_mask(x.shape, p, x, generator)                    # (same as x)
    return x * mask, mask


def dropout_backward(x, mask, dout):
    """dL/dx of out = x * mask for dL/dout = dout, by autograd."""
    x = _tensor(x).detach().clone().requires_grad_(True)                 # (same as x)
    # the gradient of sum(out * dout), not grad_outputs=dout: the same numbers, without the SymPy
    # import that grad_outputs costs on first use
    (dx,) = torch.autograd.grad((x * _tensor(mask, x) * _tensor(dout, x)).sum(), x)
    return dx


def mlp_forward(params, x, masks=None):
    """logits (N,) of the network on x (N, D).

    masks: None for eval mode, else one multiplier per hidden layer, masks[l - 1] of shape
    (N, H_l), applied after that layer's ReLU.
    """
    x = _tensor(x)                                                       # (N, D)
    params = _params(params, x)
    h = x
    for layer in range(1, n_layers(params)):
        h = torch.relu(h @ params[f"W{layer}"] + params[f"b{layer}"])    # (N, H_l)
        if masks is not None:
            h = h * _tensor(masks[layer - 1], x)                          # (N, H_l)
    last = n_layers(params)
    return (h @ params[f"W{last}"] + params[f"b{last}"])[:, 0]           # (N,)


def draw_masks(params, n, p, like, generator=None):
    """Fresh dropout masks for the hidden layers of params on a batch of n samples."""
    params = _params(params, like)
    return [dropout_mask((n, params[f"b{layer}"].shape[0]), p, like, generator)
            for layer in range(1, n_layers(params))]


def bce_with_logits(logits, y):
    """The mean logistic loss (0-d) of logits (N,) for 0/1 labels y (N,)."""
    logits = _tensor(logits)                                             # (N,)
    return F.binary_cross_entropy_with_logits(logits, _tensor(y, logits))


def loss(params, x, y, masks=None):
    """bce_with_logits(mlp_forward(params, x, masks), y): 0-d."""
    return bce_with_logits(mlp_forward(params, x, masks), _tensor(y, _tensor(x)))


def mlp_backward(params, x, dlogits, masks=None):
    """{name: gradient} of sum(mlp_forward(params, x, masks) * dlogits), by autograd."""
    x = _tensor(x)                                                       # (N, D)
    leaves = {name: value.detach().clone().requires_grad_(True) for name, value in _params(params, x).items()}
    logits = mlp_forward(leaves, x, masks)                               # (N,)
    grads = torch.autograd.grad((logits * _tensor(dlogits, x)).sum(), list(leaves.values()))
    return dict(zip(leaves, grads))


def loss_gradients(params, x, y, masks=None):
    """dlogits (N,) of the mean logistic loss at mlp_forward(params, x, masks), by autograd."""
    logits = mlp_forward(params, x, masks).detach().requires_grad_(True)  # (N,)
    (dlogits,) = torch.autograd.grad(bce_with_logits(logits, y), logits)
    return dlogits


def train(x_tr, y_tr, x_val, y_val, params0, p, epochs, lr, generator=None):
    """Full-batch gradient descent with dropout from params0 -> (params, history).

    Each epoch: fresh masks, one step W <- W - lr dL/dW (autograd), then the training and the
    validation loss of the updated network in eval mode. history: {"train_loss": (epochs,),
    "val_loss": (epochs,)}, entry k after update k + 1.
    """
    x_tr = _tensor(x_tr)                                                 # (N, D)
    params = {name: value.detach().clone() for name, value in _params(params0, x_tr).items()}
    history = {"train_loss": torch.empty(epochs, dtype=x_tr.dtype, device=x_tr.device),
               "val_loss": torch.empty(epochs, dtype=x_tr.dtype, device=x_tr.device)}
    for epoch in range(epochs):
        masks = draw_masks(params, x_tr.shape[0], p, x_tr, generator) if p > 0 else None
        leaves = {name: value.requires_grad_(True) for name, value in params.items()}
        grads = torch.autograd.grad(loss(leaves, x_tr, y_tr, masks), list(leaves.values()))
        with torch.no_grad():
            params = {name: value - lr * grad for (name, value), grad in zip(leaves.items(), grads)}
            history["train_loss"][epoch] = loss(params, x_tr, y_tr)
            history["val_loss"][epoch] = loss(params, x_val, y_val)
    return params, history
