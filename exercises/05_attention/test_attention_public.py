"""Public tests for exercise 05 (attention).

Run them from this folder with ``pytest``. They check small masks, the shapes and values of one
head and of several on small float64 inputs, and that no token sees the future. The grader runs
these and further hidden tests (float32 too, on every device it has, other sizes), so passing here
is a good sign, not a guarantee.
"""
import math

import torch

from nnex_check import assert_close, expect_tensor, expect_tuple, fail

STUDENT_MODULE = "attention"


def _causal_pattern(q, k):
    """The tests' own causal attention pattern, for expected values (not your code)."""
    T = q.shape[-2]
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])               # (B, T, T)
    future = torch.ones(T, T, dtype=torch.bool).triu(diagonal=1)            # (T, T)
    return torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1)


def _tensor(rng, *shape, scale=1.0):
    return torch.as_tensor(rng.normal(scale=scale, size=shape), dtype=torch.float64)


def _pattern_mistakes(q, k, d_model=None):
    """[(mistake id, the causal pattern that mistake gives)] for q, k of shape (B, T, d): a wrong pattern
    equal to one of these is named by it."""
    T, d = q.shape[-2], q.shape[-1]
    raw = q @ k.transpose(-2, -1)                                            # (B, T, T) unscaled scores
    allowed = torch.ones(T, T, dtype=torch.bool).tril()                      # (T, T)

    def pattern(scores, keep=allowed, fill=float("-inf"), dim=-1, masked=True):
        return torch.softmax(scores.masked_fill(~keep, fill) if masked else scores, dim=dim)

    scaled = raw / math.sqrt(d)
    mistakes = [("no_scaling", pattern(raw)), ("scale_not_sqrt", pattern(raw / d)),
                ("scale_inverted", pattern(raw * math.sqrt(d))), ("scale_seq_len", pattern(raw / math.sqrt(T))),
                ("softmax_dim", pattern(scaled, dim=-2)), ("softmax_dim", pattern(scaled, dim=0)),
                ("causal_ignored", pattern(scaled, masked=False)),
                ("scores_transposed", pattern(scaled.transpose(-2, -1))),
                ("mask_after_softmax", pattern(scaled, masked=False) * allowed),
                ("fill_zero", pattern(scaled, fill=0.0)), ("mask_inverted", pattern(scaled, keep=~allowed)),
                ("triu_diagonal", pattern(scaled, keep=allowed.tril(diagonal=-1))),
                ("future_visible", pattern(scaled, keep=torch.ones(T, T, dtype=torch.bool).tril(diagonal=1))),
                ("fill_too_small", pattern(scaled, fill=-1e4))]
    if d_model is not None:
        mistakes.append(("scale_d_model", pattern(raw / math.sqrt(d_model))))
    return mistakes


def _multi_head_mistakes(x, W_q, W_k, W_v, W_o):
    """[(mistake id, the output of multi_head_attention that mistake gives)]."""
    n_heads, d_model, _ = W_q.shape
    heads, wrong_heads = [], []                                              # wrong_heads[h]: [(mistake, out)]
    for h in range(n_heads):
        q, k, v = x @ W_q[h], x @ W_k[h], x @ W_v[h]
        heads.append(_causal_pattern(q, k) @ v)                              # (B, T, d_head)
        wrong_heads.append([(mistake, wrong @ v) for mistake, wrong in _pattern_mistakes(q, k, d_model)])
    mistakes = [(forms[0][0], torch.cat([out for _, out in forms], dim=-1) @ W_o) for forms in zip(*wrong_heads)]
    for which in range(3):  # head h with W_q[h - 1] (or W_k, W_v): the weights of its neighbour
        shifted = [W if i != which else torch.roll(W, 1, dims=0) for i, W in enumerate((W_q, W_k, W_v))]
        outs = [_causal_pattern(x @ shifted[0][h], x @ shifted[1][h]) @ (x @ shifted[2][h]) for h in range(n_heads)]
        mistakes.append(("head_weights_mixed", torch.cat(outs, dim=-1) @ W_o))
    B, T, d_head = heads[0].shape
    for concat in (torch.stack(heads, dim=-1).flatten(-2),                  # interleaved, feature by feature
                   torch.cat(heads[::-1], dim=-1),                           # the last head first
                   torch.stack(heads, dim=1).reshape(B, T, n_heads * d_head)):  # (B, H, T, .) read as (B, T, H .)
        mistakes.append(("heads_wrong_order", concat @ W_o))
    return mistakes


def _name_the_mistake(value, expected, name, mistakes):
    """Fail naming a mistake when ``value`` (checked for shape, nan allowed) is what exactly one of
    ``mistakes`` gives (nan where it has nan) and not ``expected``; return otherwise."""
    if torch.allclose(value, expected, rtol=1e-6, atol=1e-9):
        return
    matches = {mistake: wrong for mistake, wrong in mistakes
               if torch.allclose(value, wrong, rtol=1e-6, atol=1e-9, equal_nan=True)}
    if len(matches) != 1:
        return
    (mistake, wrong), = matches.items()
    if not bool(torch.isfinite(value).all()):
        fail(f"{name} contains nan or inf", mistake)
    assert_close(value, expected, name, rtol=1e-6, atol=1e-9, mistakes={mistake: wrong})


def _mask_mistake(mask, expected):
    """The mistake a wrong causal mask of the right shape shows, or None."""
    known = [("triu_diagonal", expected.tril(diagonal=-1)), ("mask_inverted", ~expected),
             ("mask_inverted", expected.T), ("future_visible", torch.ones_like(expected).tril(diagonal=1))]
    matches = {mistake for mistake, wrong in known if torch.equal(mask, wrong)}
    return matches.pop() if len(matches) == 1 else None


def _expect_mask(mask, T):
    """causal_mask(T) must be the (T, T) mask True where key j <= query i."""
    expected = torch.ones(T, T, dtype=torch.bool).tril()
    if type(mask) is torch.Tensor and mask.dtype == torch.bool and mask.ndim == 2 and mask.shape[0] == mask.shape[1] > T \
            and torch.equal(mask[:T, :T], expected):
        fail(f"causal_mask({T}) has shape {tuple(mask.shape)}; expected ({T}, {T}): its top-left corner is "
             "right", "mask_not_sliced")
    mask = expect_tensor(mask, f"causal_mask({T})", like=expected, shape=(T, T))
    if not torch.equal(mask, expected):
        fail(f"causal_mask({T}) should be True where key j <= query i (the diagonal too); got\n{mask}",
             _mask_mistake(mask, expected))


def _misordered(pattern, scores):
    """(b, i, j, other): two keys of row i (both <= i) where j has the clearly higher score but does not
    weigh more; None if there are none."""
    margin = 0.05 * float(scores.abs().max())
    B, T, _ = scores.shape
    for b in range(B):
        for i in range(T):
            for j in range(i + 1):
                for other in range(i + 1):
                    clearly_higher = scores[b, i, j] > scores[b, i, other] + margin
                    if clearly_higher and not pattern[b, i, j] > pattern[b, i, other]:
                        return b, i, j, other
    return None


def _expect_weights_follow_the_scores(pattern, q, k, name):
    """In each row i, of two keys j <= i the one with the clearly higher score q_i . k_j weighs more.

    A softmax of the scores does that at any scale, so this holds for attention with a wrong scale (or
    with the scores transposed) too; a pattern that ignores the scores (uniform, identity) fails it.
    """
    scores = q @ k.transpose(-2, -1)                                         # (B, T, T)
    where = _misordered(pattern, scores)
    if where is not None and _misordered(pattern, scores.transpose(-2, -1)) is not None:
        b, i, j, other = where
        fail(f"{name} does not follow the scores: in row {i}, key {j} scores higher than key {other} "
             f"({float(scores[b, i, j]):.4g} > {float(scores[b, i, other]):.4g}) but does not weigh more "
             f"({float(pattern[b, i, j]):.4g} vs {float(pattern[b, i, other]):.4g}); a softmax of the scores "
             "gives the higher score the larger weight, whatever its scale")


def test_causal_mask_for_a_few_lengths(student):
    for T in (4, 1, 7):  # the same pattern at every length
        _expect_mask(student.causal_mask(T), T)


def test_attention_pattern_rows_and_mask(student, rng):
    q, k = _tensor(rng, 2, 5, 3), _tensor(rng, 2, 5, 3)
    name = "attention_pattern(q, k) for q, k of shape (2, 5, 3)"
    pattern = expect_tensor(student.attention_pattern(q.clone(), k.clone()), name, like=q, shape=(2, 5, 5), finite=False)
    _name_the_mistake(pattern, _causal_pattern(q, k), name, _pattern_mistakes(q, k))
    pattern = expect_tensor(pattern, name, like=q)
    if torch.any(pattern.triu(diagonal=1) != 0):
        fail("the pattern has non-zero weights above the diagonal: a token attends to later tokens")
    assert_close(pattern.sum(dim=-1), torch.ones(2, 5, dtype=torch.float64),
                 "the sums of the pattern's rows (each row is a distribution over the keys)")
    assert_close(pattern, _causal_pattern(q, k), "attention_pattern(q, k)", rtol=1e-6, atol=1e-9)


def test_attention_head_shapes_and_values(student, rng):
    x = _tensor(rng, 2, 6, 8)
    W_q, W_k, W_v = (_tensor(rng, 8, 3, scale=8 ** -0.5) for _ in range(3))
    out, pattern = expect_tuple(student.attention_head(x.clone(), W_q.clone(), W_k.clone(), W_v.clone()),
                                "attention_head(x, W_q, W_k, W_v)", 2)
    out = expect_tensor(out, "out for x of shape (2, 6, 8) and d_head = 3", like=x, shape=(2, 6, 3), finite=False)
    if type(pattern) is torch.Tensor and pattern.shape == (2, 6, 6):  # a pattern with nan: name its mistake
        _name_the_mistake(pattern.to(torch.float64), _causal_pattern(x @ W_q, x @ W_k), "the pattern of attention_head",
                          _pattern_mistakes(x @ W_q, x @ W_k, d_model=8))
    out = expect_tensor(out, "out for x of shape (2, 6, 8) and d_head = 3", like=x)
    pattern = expect_tensor(pattern, "pattern for x of shape (2, 6, 8)", like=x, shape=(2, 6, 6))
    expected = _causal_pattern(x @ W_q, x @ W_k)
    assert_close(pattern, expected, "the pattern of attention_head", rtol=1e-6, atol=1e-9,
                 mistakes=_pattern_mistakes(x @ W_q, x @ W_k, d_model=8))
    assert_close(out, expected @ (x @ W_v), "out of attention_head", rtol=1e-6, atol=1e-9)


def test_multi_head_attention_shape_and_values(student, rng):
    n_heads, d_model, d_head = 3, 8, 2
    x = _tensor(rng, 2, 5, d_model)
    W_q, W_k, W_v = (_tensor(rng, n_heads, d_model, d_head, scale=d_model ** -0.5) for _ in range(3))
    W_o = _tensor(rng, n_heads * d_head, d_model, scale=(n_heads * d_head) ** -0.5)
    out = expect_tensor(student.multi_head_attention(x.clone(), W_q.clone(), W_k.clone(), W_v.clone(),
                                                     W_o.clone()),
                        "multi_head_attention(x, W_q, W_k, W_v, W_o) for 3 heads", like=x, shape=(2, 5, d_model),
                        finite=False)
    heads = [_causal_pattern(x @ W_q[h], x @ W_k[h]) @ (x @ W_v[h]) for h in range(n_heads)]
    name = "multi_head_attention (head 0 in the first d_head columns of the concatenation)"
    mistakes = _multi_head_mistakes(x, W_q, W_k, W_v, W_o)
    _name_the_mistake(out, torch.cat(heads, dim=-1) @ W_o, name, mistakes)
    out = expect_tensor(out, "multi_head_attention(x, W_q, W_k, W_v, W_o) for 3 heads", like=x)
    assert_close(out, torch.cat(heads, dim=-1) @ W_o, name, rtol=1e-6, atol=1e-9, mistakes=mistakes)


def test_future_tokens_do_not_change_the_past(student, rng):
    x = _tensor(rng, 1, 7, 6)
    W_q, W_k, W_v = (_tensor(rng, 6, 4, scale=6 ** -0.5) for _ in range(3))
    changed = x.clone()
    changed[:, 4:] += 3.0 * _tensor(rng, 1, 3, 6)  # tokens 4, 5 and 6 change
    before, pattern = expect_tuple(student.attention_head(x, W_q, W_k, W_v), "attention_head", 2)
    after, _ = expect_tuple(student.attention_head(changed, W_q, W_k, W_v), "attention_head", 2)
    before = expect_tensor(before, "out", like=x, shape=(1, 7, 4))
    after = expect_tensor(after, "out", like=x, shape=(1, 7, 4))
    pattern = expect_tensor(pattern, "pattern", like=x, shape=(1, 7, 7))
    assert_close(after[:, :4], before[:, :4],
                 "the outputs of tokens 0 to 3 after changing tokens 4 to 6 (they must not see them)",
                 rtol=1e-12, atol=1e-12)
    if torch.allclose(after[:, 4:], before[:, 4:]):
        fail("the outputs of tokens 4 to 6 did not change when those tokens did: the output must depend "
             "on the input")
    # out = x @ W_v never sees the future either: the head must also attend (at any scale)
    _expect_weights_follow_the_scores(pattern, x @ W_q, x @ W_k, "the pattern of attention_head")
    assert_close(before, pattern @ (x @ W_v), "out, which should be pattern @ v", rtol=1e-6, atol=1e-9)
