"""Reference for exercise 01 (neuron_gradient), in PyTorch, with autograd for every gradient.

Tensor-first and device-agnostic: each function works on the dtype and device of its tensor
inputs. NumPy arrays and Python numbers are accepted too and become float64 tensors (on the
device of the first tensor argument, if any), so the tests can pass their data as it is.
"""
import torch


def _tensor(value, like=None):
    """value as a tensor: unchanged if it is one, else float64 on like's device (default: CPU)."""
    if isinstance(value, torch.Tensor):
        return value
    device = like.device if isinstance(like, torch.Tensor) else None
    return torch.as_tensor(value, dtype=torch.float64, device=device)


def sigmoid(z):
    """σ(z) elementwise; z: any shape."""
    return torch.sigmoid(_tensor(z))                                    # (same as z)


def sigmoid_prime(z):
    """dσ/dz elementwise, by autograd; z: any shape."""
    z = _tensor(z).detach().requires_grad_(True)                        # (same as z)
    (dz,) = torch.autograd.grad(torch.sigmoid(z).sum(), z)              # (same as z)
    return dz


def neuron_forward(x, w, b):
    """a = σ(x w + b); x: (N, D), w: (D,), b: scalar -> a: (N,)."""
    x = _tensor(x)                                                      # (N, D)
    return torch.sigmoid(x @ _tensor(w, x) + _tensor(b, x))             # (N,)


def mse_loss(a, y):
    """mean((a - y)²); a, y: (N,) -> 0-d tensor."""
    a = _tensor(a)                                                      # (N,)
    return ((a - _tensor(y, a)) ** 2).mean()                            # ()


def neuron_gradients(x, w, b, y):
    """(dL/dw (D,), dL/db 0-d) of mse_loss(neuron_forward(x, w, b), y), by autograd."""
    x = _tensor(x)                                                      # (N, D)
    w = _tensor(w, x).detach().clone().requires_grad_(True)             # (D,)
    b = _tensor(b, x).detach().clone().requires_grad_(True)             # ()
    loss = mse_loss(neuron_forward(x, w, b), _tensor(y, x))             # ()
    dw, db = torch.autograd.grad(loss, (w, b))                          # (D,), ()
    return dw, db


def numerical_gradient(f, theta, eps=1e-5):
    """Central differences of a scalar f at theta (P,) -> (P,); theta is not modified."""
    theta = _tensor(theta)                                              # (P,)
    grad = torch.empty_like(theta)                                      # (P,)
    for i in range(theta.numel()):
        step = torch.zeros_like(theta)                                  # (P,)
        step[i] = eps
        grad[i] = (float(f(theta + step)) - float(f(theta - step))) / (2 * eps)
    return grad


def gradient_descent(x, y, w0, b0, lr, steps):
    """Full-batch gradient descent with autograd -> (w (D,), b 0-d, losses (steps,)).

    losses[i] is the loss before update i.
    """
    x = _tensor(x)                                                      # (N, D)
    y = _tensor(y, x)                                                   # (N,)
    w = _tensor(w0, x).detach().clone().requires_grad_(True)            # (D,)
    b = _tensor(b0, x).detach().clone().requires_grad_(True)            # ()
    losses = torch.empty(steps, dtype=x.dtype, device=x.device)        # (steps,)
    for i in range(steps):
        loss = mse_loss(neuron_forward(x, w, b), y)                     # ()
        losses[i] = loss.detach()
        dw, db = torch.autograd.grad(loss, (w, b))                      # (D,), ()
        with torch.no_grad():
            w -= lr * dw
            b -= lr * db
    return w.detach(), b.detach(), losses
