"""Hostile: each function zeroes its tensor arguments in place and returns what is right for zeros
(q = k = 0: every allowed key weighs the same; x = 0: outputs of zeros, of the right dtype and
device), so that a test that recomputed its expectation from its own, changed inputs would agree."""
import torch

BASE = "none"
EXERCISE = "attention"


def _zero(*tensors):
    for tensor in tensors:
        tensor.zero_()


def _pattern_of_zeros(B, T, causal, like):
    allowed = torch.ones(T, T, dtype=like.dtype, device=like.device)
    allowed = allowed.tril() if causal else allowed
    return (allowed / allowed.sum(dim=-1, keepdim=True)).expand(B, T, T).clone()


def causal_mask(T, device=None):
    return torch.zeros(T, T, dtype=torch.bool, device=device)


def attention_pattern(q, k, causal=True):
    _zero(q, k)
    return _pattern_of_zeros(q.shape[0], q.shape[1], causal, q)


def attention_head(x, W_q, W_k, W_v, causal=True):
    _zero(x, W_q, W_k, W_v)
    B, T, _ = x.shape
    out = torch.zeros(B, T, W_v.shape[-1], dtype=x.dtype, device=x.device)
    return out, _pattern_of_zeros(B, T, causal, x)


def multi_head_attention(x, W_q, W_k, W_v, W_o, causal=True):
    _zero(x, W_q, W_k, W_v, W_o)
    return torch.zeros_like(x)
