"""Exercise 05 written differently: loops (the mask filled entry by entry, the pattern one query at a
time, the heads one by one), a seq-first layout inside ((T, B, d), as torch.nn's attention modules
use), and the future filled with the finite -1e9 through masked_fill, as many tutorials do."""
import math

import torch


def causal_mask(T, device=None):
    mask = torch.zeros(T, T, dtype=torch.bool, device=device)
    for i in range(T):
        for j in range(i + 1):
            mask[i, j] = True
    return mask


def attention_pattern(q, k, causal=True):
    q_seq, k_seq = q.transpose(0, 1), k.transpose(0, 1)            # (T, B, d): seq-first
    T, _, d = q_seq.shape
    allowed = causal_mask(T, device=q.device) if causal else None
    rows = []
    for i in range(T):
        scores = (k_seq * q_seq[i]).sum(dim=-1) / math.sqrt(d)      # (T, B): query i against every key
        if causal:
            scores = scores.masked_fill(~allowed[i].unsqueeze(-1), -1e9)
        rows.append(torch.softmax(scores, dim=0))                   # over the keys
    return torch.stack(rows).permute(2, 0, 1)                       # (T_q, T_k, B) -> (B, T_q, T_k)


def attention_head(x, W_q, W_k, W_v, causal=True):
    x_seq = x.transpose(0, 1)                                       # (T, B, d_model)
    q, k, v = (x_seq @ W for W in (W_q, W_k, W_v))                  # (T, B, d_head)
    pattern = attention_pattern(q.transpose(0, 1), k.transpose(0, 1), causal)
    out = torch.zeros_like(v)                                       # (T, B, d_head)
    for i in range(x_seq.shape[0]):
        out[i] = (pattern[:, i, :].transpose(0, 1).unsqueeze(-1) * v).sum(dim=0)
    return out.transpose(0, 1), pattern


def multi_head_attention(x, W_q, W_k, W_v, W_o, causal=True):
    heads = []
    for h in range(W_q.shape[0]):
        out, _ = attention_head(x, W_q[h], W_k[h], W_v[h], causal)
        heads.append(out)
    return torch.cat(heads, dim=-1) @ W_o
