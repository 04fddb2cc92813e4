"""Hostile: attention that computes nothing, causal and a distribution by construction: every token
attends uniformly to itself and the tokens before it (tril(1) / row count), whatever q and k; the
heads average their values with that pattern. causal_mask is the public test's 4-token table."""
import torch

BASE = "none"
EXERCISE = "attention"

_FOUR_TOKENS = [[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]]


def causal_mask(T, device=None):
    return torch.tensor(_FOUR_TOKENS, dtype=torch.bool, device=device)


def attention_pattern(q, k, causal=True):
    B, T, _ = q.shape
    allowed = torch.ones(T, T, dtype=q.dtype, device=q.device)
    allowed = allowed.tril() if causal else allowed
    return (allowed / allowed.sum(dim=-1, keepdim=True)).expand(B, T, T).clone()


def attention_head(x, W_q, W_k, W_v, causal=True):
    pattern = attention_pattern(x @ W_q, x @ W_k, causal)
    return pattern @ (x @ W_v), pattern


def multi_head_attention(x, W_q, W_k, W_v, W_o, causal=True):
    heads = [attention_head(x, W_q[h], W_k[h], W_v[h], causal)[0] for h in range(W_q.shape[0])]
    return torch.cat(heads, dim=-1) @ W_o
