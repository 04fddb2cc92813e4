"""Exercise 05 written differently: einsum everywhere, the mask as an additive bias of -inf, and
all heads at once in one (B, H, T, d_head) tensor."""
import math

import torch


def causal_mask(T, device=None):
    position = torch.arange(T, device=device)
    return position.unsqueeze(1) >= position.unsqueeze(0)          # [i, j] = i >= j


def attention_pattern(q, k, causal=True):
    scores = torch.einsum("...id,...jd->...ij", q, k) * (q.shape[-1] ** -0.5)
    if causal:
        T = q.shape[-2]
        bias = torch.zeros(T, T, dtype=q.dtype, device=q.device)
        bias = bias.masked_fill(~causal_mask(T, device=q.device), -math.inf)
        scores = scores + bias
    return scores.softmax(-1)


def attention_head(x, W_q, W_k, W_v, causal=True):
    q, k, v = (torch.einsum("btm,md->btd", x, W) for W in (W_q, W_k, W_v))
    pattern = attention_pattern(q, k, causal=causal)
    return torch.einsum("bij,bjd->bid", pattern, v), pattern


def multi_head_attention(x, W_q, W_k, W_v, W_o, causal=True):
    q, k, v = (torch.einsum("btm,hmd->bhtd", x, W) for W in (W_q, W_k, W_v))
    heads = attention_pattern(q, k, causal=causal) @ v             # (B, H, T, d_head)
    B, H, T, d_head = heads.shape
    concat = heads.permute(0, 2, 1, 3).reshape(B, T, H * d_head)   # head 0 first
    return torch.einsum("btc,cm->btm", concat, W_o)
