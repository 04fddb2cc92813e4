# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Exercise 05: causal self-attention
#
# After embedding, every token of a sentence is a vector that knows nothing about its neighbours:
# "mole" gets the same vector in "a biopsy of the mole" and in "one mole of carbon". Attention is
# how the tokens share information. You will build one attention head the way GPT does, with the
# causal mask that keeps a token from seeing the tokens after it, and then several heads side by
# side.
#
# **Queries, keys and values.** The input `x` of shape (B, T, d_model) holds a batch of B sequences
# of T tokens, each token a vector of d_model numbers. One head has three weight matrices `W_q`,
# `W_k`, `W_v` of shape (d_model, d_head), which give every token a query ("what am I looking
# for?"), a key ("what do I have to offer?") and a value ("what do I pass along?"):
#
#     Q = x W_q      K = x W_k      V = x W_v          each of shape (B, T, d_head)
#
# **Scores.** How well the query of token i matches the key of token j is their dot product,
# divided by √d_head so that the scores keep a unit scale whatever the size of a head:
#
#     S = Q Kᵀ / √d_head          shape (B, T, T):   S[b, i, j] = q_i · k_j / √d_head
#
# Row i of S holds the scores of query i against every key j.
#
# **The causal mask.** A language model predicts each next token from the tokens before it, so token
# i may look at the tokens j ≤ i (itself included) and never at a later one. The scores of the
# future, j > i, are set to −∞ *before* the softmax, which turns them into weights e^(−∞) = 0:
#
#     A = softmax(S + M), row by row,      M[i, j] = 0 if j ≤ i,  −∞ if j > i
#
# A is the **attention pattern**: each row is a probability distribution over the keys (entries
# ≥ 0 that sum to 1), with exact zeros above the diagonal. The head's output mixes the values with
# these weights:
#
#     out = A V                   shape (B, T, d_head):   out_i = Σ_{j ≤ i} A[i, j] v_j
#
# **Rules for this file.** Use PyTorch. Take plain tensors and return plain tensors that keep the
# input's dtype (float32 or float64) and device (CPU or GPU): create new tensors on the inputs'
# device (`device=q.device`), never move data to another device, and do not change the inputs in
# place. `F.scaled_dot_product_attention` and `nn.MultiheadAttention` are not allowed here (a file
# that uses them scores 0): the point is to write them yourself. Run the public tests
# with `pytest` in this folder.

# %%
import math

import torch


# %% [markdown]
# ## 1. The causal mask
#
# Implement `causal_mask(T, device)`: a bool tensor of shape (T, T), `True` where query i may attend
# to key j (j ≤ i), `False` above the diagonal. For T = 4:
#
#     [[ True, False, False, False],
#      [ True,  True, False, False],
#      [ True,  True,  True, False],
#      [ True,  True,  True,  True]]
#
# Mind the diagonal: every token sees itself. `torch.ones(T, T, dtype=torch.bool, device=device)`
# with `torch.tril` or `torch.triu` (read what their `diagonal` argument does) gets you there.

# %%
def causal_mask(T, device=None):
    """Which keys each query of a sequence of T tokens may attend to.

    Inputs:
    - T: int, the number of tokens.
    - device: the device of the mask (a torch.device or a string such as "cuda"); None: the CPU.

    Returns:
    - mask: bool tensor of shape (T, T) on `device`; mask[i, j] is True when j <= i.
    """
    ### BEGIN SOLUTION
    future = torch.ones(T, T, dtype=torch.bool, device=device).triu(diagonal=1)  # (T, T) True where j > i
    return ~future
    ### END SOLUTION


# %% [markdown]
# ## 2. The attention pattern
#
# `attention_pattern(q, k, causal)` computes A = softmax(Q Kᵀ / √d + M) from queries and keys of
# shape (B, T, d); d is the last dimension of q. With `causal=False` there is no mask (M = 0): every
# token sees every token, as in an encoder.
#
# - `k.transpose(-2, -1)` turns (B, T, d) into (B, d, T), so `q @ k.transpose(-2, -1)` is (B, T, T).
# - The mask goes on the *scores*, as −∞, before the softmax: `scores.masked_fill(~mask, float("-inf"))`
#   (`~` flips a bool tensor). Zeroing weights after the softmax leaves rows that no longer sum to 1,
#   and filling with 0 instead of −∞ still gives the future a weight e^0 / Σ > 0.
# - The softmax normalises each row, over the keys: the last dimension. Use `torch.softmax`: it
#   subtracts the row's maximum before exponentiating, so scores of ±10⁴ do not overflow, and row
#   i = 0 always keeps at least its own key.

# %%
def attention_pattern(q, k, causal=True):
    """Scaled dot-product attention weights, optionally causal.

    Inputs:
    - q: tensor of shape (B, T, d), the queries.
    - k: tensor of shape (B, T, d), the keys (same dtype and device as q).
    - causal: bool; True: query i attends only to keys j <= i.

    Returns:
    - pattern: tensor of shape (B, T, T), dtype and device of q, with
      pattern[b, i, :] = softmax over j of q[b, i] . k[b, j] / sqrt(d) (masked keys excluded).
      Every row sums to 1; with causal=True the entries with j > i are exactly 0.
    """
    ### BEGIN SOLUTION
    T, d = q.shape[-2], q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)             # (B, T, T) scores[b, i, j] = q_i . k_j / sqrt(d)
    if causal:
        allowed = causal_mask(T, device=q.device)               # (T, T), broadcast over the batch
        scores = scores.masked_fill(~allowed, float("-inf"))    # (B, T, T) the future gets weight e^-inf = 0
    return torch.softmax(scores, dim=-1)                        # (B, T, T) each row: a distribution over keys
    ### END SOLUTION


# %% [markdown]
# ## 3. One attention head
#
# `attention_head(x, W_q, W_k, W_v, causal)` projects the tokens to queries, keys and values, takes
# their attention pattern and returns both the output A V and the pattern A. The scale is √d_head,
# the size of the queries and keys, not √d_model, the width of `x`.

# %%
def attention_head(x, W_q, W_k, W_v, causal=True):
    """One self-attention head.

    Inputs:
    - x: tensor of shape (B, T, d_model), the tokens.
    - W_q, W_k, W_v: tensors of shape (d_model, d_head), the projections to queries, keys, values.
    - causal: bool; True: token i attends only to tokens j <= i.

    Returns a tuple (out, pattern), both with the dtype and device of x:
    - out: tensor of shape (B, T, d_head), out[b, i] = sum_j pattern[b, i, j] * v[b, j].
    - pattern: tensor of shape (B, T, T), the attention pattern of the head.
    """
    ### BEGIN SOLUTION
    q = x @ W_q                                     # (B, T, d_head) one query per token
    k = x @ W_k                                     # (B, T, d_head)
    v = x @ W_v                                     # (B, T, d_head)
    pattern = attention_pattern(q, k, causal)       # (B, T, T)
    return pattern @ v, pattern                     # (B, T, d_head), (B, T, T)
    ### END SOLUTION


# %% [markdown]
# ## 4. Several heads
#
# One head computes one pattern: one way of choosing what to look at. A multi-head layer runs
# n_heads heads, each with its own W_q, W_k, W_v, on the same x, and combines what they found.
# The weights of all heads come stacked: `W_q[h]` is the (d_model, d_head) matrix of head h. The
# heads' outputs are concatenated along the features, head 0 first,
#
#     concat = [out_0 | out_1 | ... | out_{n_heads−1}]      shape (B, T, n_heads · d_head)
#
# so that columns h·d_head to (h+1)·d_head − 1 hold head h, and the output projection
# `W_o` of shape (n_heads · d_head, d_model) brings the result back to the model's width:
# `concat @ W_o`. (n_heads · d_head is usually d_model, but nothing here requires it.)

# %%
def multi_head_attention(x, W_q, W_k, W_v, W_o, causal=True):
    """Multi-head self-attention: n_heads heads side by side, concatenated, then projected.

    Inputs:
    - x: tensor of shape (B, T, d_model).
    - W_q, W_k, W_v: tensors of shape (n_heads, d_model, d_head); head h uses W_q[h], W_k[h], W_v[h].
    - W_o: tensor of shape (n_heads * d_head, d_model), the output projection.
    - causal: bool; True: token i attends only to tokens j <= i, in every head.

    Returns:
    - out: tensor of shape (B, T, d_model), dtype and device of x:
      concat(head_0, ..., head_{n_heads-1}) @ W_o, head h filling columns h*d_head to (h+1)*d_head - 1.
    """
    ### BEGIN SOLUTION
    n_heads = W_q.shape[0]
    heads = [attention_head(x, W_q[h], W_k[h], W_v[h], causal)[0]  # n_heads tensors of (B, T, d_head)
             for h in range(n_heads)]
    concat = torch.cat(heads, dim=-1)               # (B, T, n_heads * d_head), head 0 first
    return concat @ W_o                             # (B, T, d_model)
    ### END SOLUTION


# %% [markdown]
# ## 5. Look at a pattern
#
# Random stand-ins for the embeddings of six tokens go through one head and through a layer of four
# heads. The heatmap shows the pattern: row i is query i, column j key j. Every row sums to 1 and
# the upper triangle is empty: no token looks ahead. Trained weights give heads with a purpose (one
# that looks at the previous token, one that looks at the first); random weights look anywhere.

# %%
if __name__ == "__main__":
    from attention_support import plot_attention_pattern, show

    generator = torch.Generator().manual_seed(0)
    tokens = ["the", "cat", "sat", "on", "the", "mat"]
    d_model, d_head, n_heads = 16, 4, 4
    x_demo = torch.randn(1, len(tokens), d_model, generator=generator)            # (1, T, d_model)
    W_demo = torch.randn(3, n_heads, d_model, d_head, generator=generator) / math.sqrt(d_model)
    W_o_demo = torch.randn(n_heads * d_head, d_model, generator=generator) / math.sqrt(n_heads * d_head)
    out_demo, pattern_demo = attention_head(x_demo, W_demo[0, 0], W_demo[1, 0], W_demo[2, 0])
    print("row sums of the pattern:", pattern_demo[0].sum(dim=-1))
    layer_out = multi_head_attention(x_demo, W_demo[0], W_demo[1], W_demo[2], W_o_demo)
    print("one head:", tuple(out_demo.shape), " four heads:", tuple(layer_out.shape))
    figure = plot_attention_pattern(pattern_demo[0], tokens=tokens, title="One causal attention head")
    show(figure, "attention_pattern.png")
