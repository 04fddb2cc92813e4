"""Hostile: torch's comparisons patched to always agree at import, and zeros for every answer."""
import torch
import torch.testing

BASE = "none"
EXERCISE = "attention"

torch.allclose = lambda *args, **kwargs: True
torch.equal = lambda *args, **kwargs: True
torch.isclose = lambda a, b, *args, **kwargs: torch.ones_like(a, dtype=torch.bool)
torch.testing.assert_close = lambda *args, **kwargs: None
torch.Tensor.__eq__ = lambda self, other: torch.ones(self.shape, dtype=torch.bool)


def causal_mask(T, device=None):
    return torch.zeros(T, T, dtype=torch.bool, device=device)


def attention_pattern(q, k, causal=True):
    B, T, _ = q.shape
    return torch.zeros(B, T, T, dtype=q.dtype, device=q.device)


def attention_head(x, W_q, W_k, W_v, causal=True):
    B, T, _ = x.shape
    return (torch.zeros(B, T, W_v.shape[1], dtype=x.dtype, device=x.device),
            torch.zeros(B, T, T, dtype=x.dtype, device=x.device))


def multi_head_attention(x, W_q, W_k, W_v, W_o, causal=True):
    return torch.zeros_like(x)
