"""Hostile: a real masked softmax, but of a score that ignores the queries (the first feature of each
key): rows sum to 1, the future is exactly 0, the past does not move and the pattern follows its
inputs. The heads mix their values with it and add a little of their queries, so that the outputs
depend on the queries and on earlier tokens too. None of it is attention."""
import torch

BASE = "none"
EXERCISE = "attention"


def causal_mask(T, device=None):
    return torch.ones(T, T, dtype=torch.bool, device=device).triu()


def attention_pattern(q, k, causal=True):
    B, T, _ = q.shape
    scores = k[..., 0].unsqueeze(1).expand(B, T, T)
    if causal:
        future = torch.ones(T, T, dtype=torch.bool, device=q.device).triu(diagonal=1)
        scores = scores.masked_fill(future, float("-inf"))
    return torch.softmax(scores, dim=-1)


def attention_head(x, W_q, W_k, W_v, causal=True):
    q = x @ W_q
    pattern = attention_pattern(q, x @ W_k, causal)
    return pattern @ (x @ W_v) + 0.1 * q, pattern


def multi_head_attention(x, W_q, W_k, W_v, W_o, causal=True):
    heads = [attention_head(x, W_q[h], W_k[h], W_v[h], causal)[0] for h in range(W_q.shape[0])]
    return torch.cat(heads, dim=-1) @ W_o
