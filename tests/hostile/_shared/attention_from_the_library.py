"""Shared part: the four functions of exercise 05 computed by the library's own attention.

``_LIBRARY_PATTERN(q, k, causal)`` is set by the attack: a route to the library that gives the
attention weights (B, T, T). Every function here uses it, so where the route works the file
scores full marks, and where the library's attention is unusable each raises.
"""
import torch as _t


def causal_mask(T, device=None):
    zeros = _t.zeros(1, T, 1, dtype=_t.float64, device=device)
    return _LIBRARY_PATTERN(zeros, zeros, True)[0] > 0


def attention_pattern(q, k, causal=True):
    return _LIBRARY_PATTERN(q, k, causal)


def attention_head(x, W_q, W_k, W_v, causal=True):
    pattern = _LIBRARY_PATTERN(x @ W_q, x @ W_k, causal)
    return pattern @ (x @ W_v), pattern


def multi_head_attention(x, W_q, W_k, W_v, W_o, causal=True):
    heads = [attention_head(x, W_q[h], W_k[h], W_v[h], causal)[0] for h in range(W_q.shape[0])]
    return _t.cat(heads, dim=-1) @ W_o


def _weights_from_mha_forward(forward):
    """The weights of one head with identity projections, from F.multi_head_attention_forward."""
    def pattern(q, k, causal):
        B, T, d = q.shape
        eye = _t.eye(d, dtype=q.dtype, device=q.device)
        mask = _t.ones(T, T, dtype=_t.bool, device=q.device).triu(1) if causal else None
        _, weights = forward(q.transpose(0, 1), k.transpose(0, 1), k.transpose(0, 1), d, 1,
                             _t.cat([eye, eye, eye]), _t.zeros(3 * d, dtype=q.dtype, device=q.device), None, None,
                             False, 0.0, eye, _t.zeros(d, dtype=q.dtype, device=q.device), training=False,
                             need_weights=True, attn_mask=mask)
        return weights

    return pattern


def _weights_from_module_class(module_class):
    """The weights of one head with identity projections, from an nn.MultiheadAttention class."""
    def pattern(q, k, causal):
        layer = module_class(q.shape[-1], 1, bias=False, batch_first=True, dtype=q.dtype, device=q.device)
        with _t.no_grad():
            layer.in_proj_weight.copy_(_t.eye(q.shape[-1]).repeat(3, 1))
        T = q.shape[1]
        mask = _t.ones(T, T, dtype=_t.bool, device=q.device).triu(1) if causal else None
        return layer(q, k, k, attn_mask=mask, need_weights=True)[1].detach()

    return pattern


def _weights_from_attention_output(attention):
    """The weights from a function that returns softmax(q kᵀ / √d) v: with v the identity, it is them."""
    def pattern(q, k, causal):
        B, T, _ = q.shape
        eye = _t.eye(T, dtype=q.dtype, device=q.device).expand(B, T, T)
        return attention(q[:, None], k[:, None], eye[:, None], causal)[:, 0]

    return pattern


def _first_route(routes):
    """The pattern of the first route that works; the errors of all when none does."""
    def pattern(q, k, causal):
        errors = []
        for route in routes:
            try:
                return route()(q, k, causal)
            except Exception as error:
                errors.append(f"{type(error).__name__}: {error}")
        raise RuntimeError("; ".join(errors))

    return pattern
