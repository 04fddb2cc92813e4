"""Hostile: a torch.Tensor subclass whose __torch_function__ makes every comparison agree, holding zeros."""
import torch

BASE = "none"
EXERCISE = "attention"

_AGREE = {"allclose", "equal", "isclose", "eq", "__eq__", "all", "any", "isfinite", "le", "ge", "lt", "gt"}


class _Agreeable(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in _AGREE:
            return True if name in ("allclose", "equal", "all", "any") else torch.ones((), dtype=torch.bool)
        return super().__torch_function__(func, types, args, kwargs or {})


def _agreeable(*shape, like):
    return torch.zeros(*shape, dtype=like.dtype, device=like.device).as_subclass(_Agreeable)


def causal_mask(T, device=None):
    return torch.ones(T, T, dtype=torch.bool, device=device).as_subclass(_Agreeable)


def attention_pattern(q, k, causal=True):
    B, T, _ = q.shape
    return _agreeable(B, T, T, like=q)


def attention_head(x, W_q, W_k, W_v, causal=True):
    B, T, _ = x.shape
    return _agreeable(B, T, W_v.shape[1], like=x), _agreeable(B, T, T, like=x)


def multi_head_attention(x, W_q, W_k, W_v, W_o, causal=True):
    return _agreeable(*x.shape, like=x)
