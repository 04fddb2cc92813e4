"""Exercise 05 written differently: the mask as an additive bias kept in float32 whatever the inputs'
dtype, filled with float32's own lowest number (torch.finfo(torch.float32).min), the scale 1/sqrt(d)
as a float32 tensor, and all heads at once in an (H, B, T, d_head) layout."""
import torch


def causal_mask(T, device=None):
    return torch.ones(T, T, device=device).tril() == 1


def attention_pattern(q, k, causal=True):
    scale = torch.tensor(q.shape[-1], dtype=torch.float32, device=q.device).rsqrt()
    scores = (q @ k.transpose(-2, -1)) * scale                      # a float32 0-d tensor keeps q's dtype
    if causal:
        T = q.shape[-2]
        bias = torch.zeros(T, T, dtype=torch.float32, device=q.device)
        bias = bias.masked_fill(~causal_mask(T, device=q.device), torch.finfo(torch.float32).min)
        scores = scores + bias                                      # float64 + float32 is float64
    return torch.softmax(scores, dim=-1)


def attention_head(x, W_q, W_k, W_v, causal=True):
    q, k, v = x @ W_q, x @ W_k, x @ W_v
    pattern = attention_pattern(q, k, causal)
    return pattern @ v, pattern


def multi_head_attention(x, W_q, W_k, W_v, W_o, causal=True):
    q, k, v = (x.unsqueeze(0) @ W.unsqueeze(1) for W in (W_q, W_k, W_v))  # (H, B, T, d_head)
    heads = attention_pattern(q, k, causal) @ v                     # (H, B, T, d_head)
    H, B, T, d_head = heads.shape
    return heads.permute(1, 2, 0, 3).reshape(B, T, H * d_head) @ W_o
