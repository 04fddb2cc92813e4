"""Reference for exercise 02 (numpy_mlp), in PyTorch, with autograd for every gradient.

Tensor-first and device-agnostic: each function works on the dtype and device of its tensor
inputs. NumPy arrays and Python numbers are accepted too and become float64 tensors (on the
device of the first tensor argument, if any), so the tests can pass their data as it is.
Parameters are dicts {"W1", "b1", ..., "WL", "bL"} with W_l of shape (fan_in, fan_out) and b_l of
shape (fan_out,); the network is ReLU hidden layers and one linear output unit.

A backward pass given an upstream gradient g is the gradient of the scalar sum(output * g): the same
vector-Jacobian product as autograd.grad(output, ..., grad_outputs=g), without the second or so that
grad_outputs costs on its first use (it imports SymPy).
"""
import torch
import torch.nn.functional as F
from torch.optim.adam import adam


def _tensor(value, like=None):
    """value as a tensor: unchanged if it is one, else float64 on like's device (default: CPU)."""
    if isinstance(value, torch.Tensor):
        return value
    device = like.device if isinstance(like, torch.Tensor) else None
    return torch.as_tensor(value, dtype=torch.float64, device=device)


def _params(params, like=None):
    """{name: tensor} of a parameter dict, each on like's device when it was not a tensor."""
    return {name: _tensor(value, like) for name, value in params.items()}


def n_layers(params) -> int:
    """L, the number of linear layers of a parameter dict with keys W1, b1, ..., WL, bL."""
    return len(params) // 2


def linear_forward(x, W, b):
    """out = x W + b; x: (N, D), W: (D, M), b: (M,) -> (N, M)."""
    x = _tensor(x)                                                       # (N, D)
    return x @ _tensor(W, x) + _tensor(b, x)                             # (N, M)


def linear_backward(x, W, b, dout):
    """(dx (N, D), dW (D, M), db (M,)) of sum(linear_forward(x, W, b) * dout), by autograd."""
    x = _tensor(x).detach().clone().requires_grad_(True)                 # (N, D)
    W = _tensor(W, x).detach().clone().requires_grad_(True)              # (D, M)
    b = _tensor(b, x).detach().clone().requires_grad_(True)              # (M,)
    out = x @ W + b                                                      # (N, M)
    return torch.autograd.grad((out * _tensor(dout, x)).sum(), (x, W, b))


def relu_forward(x):
    """max(x, 0) elementwise; x: any shape."""
    return torch.relu(_tensor(x))


def relu_backward(x, dout):
    """dout * ReLU'(x), by autograd (PyTorch takes the derivative at exactly 0 to be 0)."""
    x = _tensor(x).detach().clone().requires_grad_(True)                 # (same as x)
    (dx,) = torch.autograd.grad((torch.relu(x) * _tensor(dout, x)).sum(), x)
    return dx


def bce_with_logits(logits, y):
    """(loss 0-d, dlogits (N,)): the mean logistic loss of logits (N,) for labels y (N,), by autograd."""
    logits = _tensor(logits).detach().clone().requires_grad_(True)       # (N,)
    loss = F.binary_cross_entropy_with_logits(logits, _tensor(y, logits))  # ()
    (dlogits,) = torch.autograd.grad(loss, logits)                       # (N,)
    return loss.detach(), dlogits


def mlp_forward(params, x):
    """logits (N,) of the network on x (N, D): ReLU after every layer but the last."""
    x = _tensor(x)                                                       # (N, D)
    params = _params(params, x)
    h = x
    for layer in range(1, n_layers(params) + 1):
        h = h @ params[f"W{layer}"] + params[f"b{layer}"]                # (N, H_layer)
        if layer < n_layers(params):
            h = torch.relu(h)
    return h[:, 0]                                                       # (N,)


def mlp_backward(params, x, dlogits):
    """{name: gradient} of sum(mlp_forward(params, x) * dlogits), by autograd; same shapes as params."""
    x = _tensor(x)                                                       # (N, D)
    leaves = {name: value.detach().clone().requires_grad_(True)
              for name, value in _params(params, x).items()}
    logits = mlp_forward(leaves, x)                                      # (N,)
    grads = torch.autograd.grad((logits * _tensor(dlogits, x)).sum(), list(leaves.values()))
    return dict(zip(leaves, grads))


def loss_and_grads(params, x, y):
    """(loss 0-d, {name: dL/dparam}) of the mean logistic loss of the network, by autograd."""
    x = _tensor(x)                                                       # (N, D)
    leaves = {name: value.detach().clone().requires_grad_(True)
              for name, value in _params(params, x).items()}
    loss = F.binary_cross_entropy_with_logits(mlp_forward(leaves, x), _tensor(y, x))  # ()
    grads = torch.autograd.grad(loss, list(leaves.values()))
    return loss.detach(), dict(zip(leaves, grads))


def adam_steps(params, grads_per_step, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """The parameters after each of len(grads_per_step) steps of PyTorch's Adam.

    params: {name: array}; grads_per_step: a list of {name: gradient}, one per step.
    Returns a list of {name: tensor}, the parameters after step 1, 2, ...

    This calls torch.optim.adam.adam, the function that torch.optim.Adam.step runs, with the state
    kept here: constructing a torch.optim.Adam costs seconds on first use (it imports TorchDynamo),
    and tests/test_reference_numpy_mlp.py checks that both give the same steps.
    """
    names = list(params)
    values = [_tensor(params[name]).detach().clone() for name in names]
    first_moments = [torch.zeros_like(value) for value in values]
    second_moments = [torch.zeros_like(value) for value in values]
    steps = [torch.zeros((), dtype=value.dtype) for value in values]
    history = []
    for grads in grads_per_step:
        adam(values, [_tensor(grads[name], value) for name, value in zip(names, values)],
             first_moments, second_moments, [], steps, foreach=False, amsgrad=False, beta1=beta1,
             beta2=beta2, lr=lr, weight_decay=0.0, eps=eps, maximize=False)
        history.append({name: value.clone() for name, value in zip(names, values)})
    return history


def predict(params, x):
    """1.0 where the logit is positive, else 0.0; (N,)."""
    return (mlp_forward(params, x) > 0).to(_tensor(x).dtype)


def accuracy(params, x, y) -> float:
    """The fraction of the N points of x (N, D) whose predicted class is the label y (N,)."""
    x = _tensor(x)
    return float((predict(params, x) == _tensor(y, x)).to(torch.float64).mean())
