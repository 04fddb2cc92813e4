"""Reference for exercise 03 (dead_relu), in PyTorch, with autograd for the leaky ReLU's gradient.

Tensor-first and device-agnostic: each function works on the dtype and device of its tensor
inputs. NumPy arrays and Python numbers are accepted too and become float64 tensors (on the
device of the first tensor argument, if any), so the tests can pass their data as it is.
Parameters are dicts {"W1", "b1", ..., "WL", "bL"} with W_l of shape (fan_in, fan_out); layers
1, ..., L - 1 are hidden (ReLU or leaky ReLU), layer L gives one logit per input.
"""
import torch
import torch.nn.functional as F

from reference.neuron_gradient import _tensor

LEAKY_SLOPE = 0.01  # the slope of the trainer's "leaky_relu" (exercises/03_dead_relu/dead_relu_support.py)


def _slope(activation):
    if activation not in ("relu", "leaky_relu"):
        raise ValueError(f"activation should be 'relu' or 'leaky_relu', got {activation!r}")
    return 0.0 if activation == "relu" else LEAKY_SLOPE


def dead_unit_mask(pre_activations):
    """True for the units that fire on none of the inputs; pre_activations: (N, H) -> bool (H,)."""
    return (_tensor(pre_activations) <= 0).all(dim=0)                    # (H,)


def hidden_pre_activations(params, x, activation="relu"):
    """[z_1, ..., z_(L-1)]: the pre-activations of every hidden layer, each (N, H_l)."""
    x = _tensor(x)                                                      # (N, D)
    slope = _slope(activation)
    n_layers = len(params) // 2
    h, result = x, []
    for layer in range(1, n_layers):
        z = h @ _tensor(params[f"W{layer}"], x) + _tensor(params[f"b{layer}"], x)  # (N, H_l)
        result.append(z)
        h = F.leaky_relu(z, slope)                                      # (N, H_l)
    return result


def dead_fraction(params, x, activation="relu"):
    """The fraction of dead units of each hidden layer over the inputs x -> (L - 1,)."""
    masks = [dead_unit_mask(z) for z in hidden_pre_activations(params, x, activation)]
    x = _tensor(x)
    return torch.stack([m.to(x.dtype).mean() for m in masks])           # (L - 1,)


def logits(params, x, activation="relu"):
    """The network's output, one logit per input -> (N,)."""
    x = _tensor(x)                                                      # (N, D)
    pre = hidden_pre_activations(params, x, activation)
    h = F.leaky_relu(pre[-1], _slope(activation)) if pre else x         # (N, H_(L-1))
    n_layers = len(params) // 2
    return (h @ _tensor(params[f"W{n_layers}"], x) + _tensor(params[f"b{n_layers}"], x))[:, 0]


def accuracy(params, x, y, activation="relu"):
    """The fraction of inputs whose class (1 where the logit is positive) equals y -> 0-d."""
    s = logits(params, x, activation)                                   # (N,)
    return ((s > 0) == (_tensor(y, s) == 1)).to(s.dtype).mean()         # ()


def leaky_relu_forward(x, alpha=0.01):
    """x where x > 0, alpha * x elsewhere; any shape."""
    return F.leaky_relu(_tensor(x), alpha)


def leaky_relu_backward(x, dout, alpha=0.01):
    """The gradient of sum(dout * leaky_relu(x)) with respect to x, by autograd; any shape.

    At x = 0 PyTorch takes the slope alpha, as the exercise does (0 counts as not firing).
    """
    x = _tensor(x).detach().clone().requires_grad_(True)                # (same as x)
    (dx,) = torch.autograd.grad((F.leaky_relu(x, alpha) * _tensor(dout, x)).sum(), x)
    return dx
