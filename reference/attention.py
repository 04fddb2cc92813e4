"""Reference for exercise 05 (attention), in PyTorch.

Two independent paths: the heads' outputs come from torch.nn.functional.scaled_dot_product_attention
(is_causal as asked, no dropout); the attention pattern, which that function does not return, from
a softmax of the masked scores written out. Device-agnostic: every function works on the dtype and
device of its tensor inputs and returns tensors there.

``random_inputs`` makes the arguments of ``multi_head_attention`` on any device, for benchmarks:

    ref.multi_head_attention(**ref.random_inputs(8, 256, 512, 8, 64, device="cuda"))
"""
import math

import torch
import torch.nn.functional as F


def causal_mask(T, device=None):
    """bool (T, T) on device: True where query i may attend to key j, that is j <= i."""
    position = torch.arange(T, device=device)                           # (T,)
    return position[None, :] <= position[:, None]                       # (T, T) [i, j] = j <= i


def attention_pattern(q, k, causal=True):
    """softmax(q kᵀ / sqrt(d)) over the keys; q, k: (..., T, d) -> (..., T, T).

    With causal=True the entries of keys after the query are exactly 0.
    """
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])         # (..., T, T)
    if causal:
        scores = scores.masked_fill(~causal_mask(q.shape[-2], q.device), float("-inf"))
    return torch.softmax(scores, dim=-1)                                # (..., T, T)


def attention_head(x, W_q, W_k, W_v, causal=True):
    """x: (B, T, d_model), W_*: (d_model, d_head) -> (out (B, T, d_head), pattern (B, T, T))."""
    q, k, v = x @ W_q, x @ W_k, x @ W_v                                 # (B, T, d_head) each
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.0, is_causal=causal)  # (B, T, d_head)
    return out, attention_pattern(q, k, causal)


def multi_head_attention(x, W_q, W_k, W_v, W_o, causal=True):
    """x: (B, T, d_model), W_q, W_k, W_v: (H, d_model, d_head), W_o: (H d_head, d_model) -> (B, T, d_model).

    The heads are concatenated head 0 first: columns h d_head to (h + 1) d_head - 1 hold head h.
    """
    q, k, v = (torch.einsum("btm,hmd->bhtd", x, W) for W in (W_q, W_k, W_v))  # (B, H, T, d_head) each
    heads = F.scaled_dot_product_attention(q, k, v, dropout_p=0.0, is_causal=causal)  # (B, H, T, d_head)
    B, H, T, d_head = heads.shape
    return heads.transpose(1, 2).reshape(B, T, H * d_head) @ W_o       # (B, T, d_model)


def random_inputs(batch, T, d_model, n_heads, d_head, *, dtype=torch.float32, device=None, seed=0):
    """Keyword arguments of multi_head_attention: unit-scale x and weights that keep that scale.

    Drawn on the CPU from ``seed`` (the same numbers on every device), then moved to ``device``.
    """
    generator = torch.Generator().manual_seed(seed)

    def draw(*shape, fan_in):
        values = torch.randn(*shape, generator=generator, dtype=torch.float64) / math.sqrt(fan_in)
        return values.to(device=device, dtype=dtype)

    return {"x": draw(batch, T, d_model, fan_in=1),
            "W_q": draw(n_heads, d_model, d_head, fan_in=d_model),
            "W_k": draw(n_heads, d_model, d_head, fan_in=d_model),
            "W_v": draw(n_heads, d_model, d_head, fan_in=d_model),
            "W_o": draw(n_heads * d_head, d_model, fan_in=n_heads * d_head)}
