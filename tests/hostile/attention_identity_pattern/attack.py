"""Hostile: every token attends to itself alone: the pattern is the identity, a head's output is its
values x W_v and the layer's is concat(x W_v[h]) W_o. Causal and a distribution by construction, and
a change of the future changes exactly the future; it computes no attention."""
import torch

BASE = "none"
EXERCISE = "attention"


def causal_mask(T, device=None):
    return torch.eye(T, dtype=torch.bool, device=device)


def attention_pattern(q, k, causal=True):
    B, T, _ = q.shape
    return torch.eye(T, dtype=q.dtype, device=q.device).expand(B, T, T).clone()


def attention_head(x, W_q, W_k, W_v, causal=True):
    return x @ W_v, attention_pattern(x @ W_q, x @ W_k, causal)


def multi_head_attention(x, W_q, W_k, W_v, W_o, causal=True):
    return torch.cat([x @ W_v[h] for h in range(W_q.shape[0])], dim=-1) @ W_o
