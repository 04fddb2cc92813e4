"""Hidden tests for exercise 05 (attention). Never shown to students.

Fresh seeded unit-scale inputs with d_head != d_model and several sequence lengths, in float64 and
float32, on the CPU and on CUDA when the judge has a GPU; the PyTorch reference as the oracle
(F.scaled_dot_product_attention for the outputs, a softmax written out for the pattern); and
properties any correct answer has: rows that sum to 1, exact zeros in the future, a past that a
change of the future leaves alone, no nan at logits of ±1e4 and still no weight on the future when
the keys a token may see score -1e4 (a finite fill of -1e9 or the dtype's lowest number passes, -1e4
does not), the same behaviour at T = 300 as at T = 8 (a mask made once for a fixed length does not),
inputs left untouched. Expected values
and the values of the catalogued mistakes are computed here in float64; when a wrong answer equals
what a mistake gives, the failure names it (see the manifest's hints).

A property earns points only from a function that attends (see "gates" below): code that is causal
or a distribution by construction (a uniform causal pattern, out = x W_v, zeros of the right dtype)
has the properties and computes nothing. The gates are loose on purpose: a wrong scale or any
catalogued mistake passes them, so that one mistake costs its own tests and not every property too.
"""
import math
import re

import pytest
import torch

from attention_support import plot_attention_pattern
from nnex_check import (CheckFailed, assert_close, call_with_arguments, expect_tensor, expect_tuple, fail,
                        relative_error)
from reference import attention as ref

STUDENT_MODULE = "attention"
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])  # never skipped: a skip scores 0
# float64: loose enough for a correct answer with a float32 constant in it (1/sqrt(d) as a float32 tensor:
# measured 3e-8 beyond rtol over 300 random heads, hence atol 1e-7); every catalogued mistake is far off
TOLERANCE = {torch.float64: {"rtol": 1e-6, "atol": 1e-7}, torch.float32: {"rtol": 1e-4, "atol": 1e-5}}
LENGTHS = (6, 11, 1)  # T = 1 last: there several mistakes look alike
SIZE_CLASH = re.compile(r"size of tensor a \((\d+)\) must match the size of tensor b \((\d+)\)")

on_every_device = pytest.mark.parametrize("device", DEVICES)
in_both_dtypes = pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])


# ---------------------------------------------------------------- helpers (judge side only)

def _tensor(rng, shape, dtype, device, scale=1.0):
    return torch.as_tensor(rng.normal(scale=scale, size=shape), dtype=dtype, device=device)


def _weights(rng, shape, dtype, device):
    """W_q, W_k, W_v of shape (..., d_model, d_head), scaled so that unit-scale x gives unit-scale q, k, v."""
    return tuple(_tensor(rng, shape, dtype, device, scale=shape[-2] ** -0.5) for _ in range(3))


def _exact(tensor):
    """float64 on the CPU: where expected values and mistakes are compared."""
    return tensor.detach().cpu().double()


def _call(student, function, *args, length, **kwargs):
    """function(*args, **kwargs). A shape clash between T = length and a larger size is named a mask not
    cut to the sequence where the student's causal_mask(length) is one: a larger square whose top left
    block is right (other clashes, a product with * for @ say, are left to the judge). An IndexError is
    named for what it is: an index past the end."""
    try:
        return function(*args, **kwargs)
    except Exception as error:
        message = str(error)
        sizes = SIZE_CLASH.search(message)
        if sizes and length in map(int, sizes.groups()) and max(map(int, sizes.groups())) > length \
                and _mask_too_large(student, length):
            fail(f"{message.splitlines()[0]} (for a sequence of T = {length} tokens); causal_mask({length}) "
                 "is larger than (T, T)", "mask_not_sliced")
        if re.match(r"\S+ raised IndexError", message):
            fail(message, "index_out_of_range")
        raise


def _mask_too_large(student, T):
    """Whether the student's causal_mask(T) is a square larger than (T, T) whose top left block is right."""
    try:
        mask = student.causal_mask(T)
    except Exception:
        return False
    return type(mask) is torch.Tensor and mask.ndim == 2 and mask.shape[0] == mask.shape[1] > T \
        and torch.equal(mask[:T, :T].cpu(), ref.causal_mask(T).cpu())


def _pattern_mistakes(q, k, causal, d_model=None):
    """[(mistake id, the pattern it gives)] for q, k (float64, CPU) of shape (..., T, d_head)."""
    T, d_head = q.shape[-2], q.shape[-1]
    raw = q @ k.transpose(-2, -1)                                       # (..., T, T) unscaled scores
    allowed = torch.ones(T, T, dtype=torch.bool).tril()                 # (T, T)

    def pattern(scores, keep=allowed, fill=float("-inf"), dim=-1, masked=causal):
        return torch.softmax(scores.masked_fill(~keep, fill) if masked else scores, dim=dim)

    scaled = raw / math.sqrt(d_head)
    mistakes = [("no_scaling", pattern(raw)), ("scale_not_sqrt", pattern(raw / d_head)),
                ("scale_inverted", pattern(raw * math.sqrt(d_head))), ("scale_seq_len", pattern(raw / math.sqrt(T))),
                ("softmax_dim", pattern(scaled, dim=-2)), ("causal_ignored", pattern(scaled, masked=not causal)),
                ("scores_transposed", pattern(scaled.transpose(-2, -1)))]
    if scaled.ndim == 3:  # over the batch
        mistakes.append(("softmax_dim", pattern(scaled, dim=0)))
    if d_model is not None:
        mistakes.append(("scale_d_model", pattern(raw / math.sqrt(d_model))))
    if causal:
        mistakes += [("mask_after_softmax", pattern(scaled, masked=False) * allowed),
                     ("fill_zero", pattern(scaled, fill=0.0)),
                     ("mask_inverted", pattern(scaled, keep=~allowed)),
                     ("triu_diagonal", pattern(scaled, keep=allowed.tril(diagonal=-1))),
                     ("future_visible", pattern(scaled, keep=torch.ones(T, T, dtype=torch.bool).tril(diagonal=1))),
                     ("fill_too_small", pattern(scaled, fill=-1e4))]
    return mistakes


def _matching_mistake(value, mistakes, tolerance):
    """The mistake whose value equals ``value`` (nan where it has nan); None if none or several do."""
    matches = {mistake for mistake, wrong in mistakes if wrong.shape == value.shape
               and torch.allclose(value, wrong, equal_nan=True, **tolerance)}
    return matches.pop() if len(matches) == 1 else None


def _compare(value, expected, name, mistakes, tolerance):
    """value (float64, CPU) must be close to expected; a failure names the mistake value matches.

    mistakes: a function returning [(mistake id, its value)], called only when value is wrong.
    """
    if torch.allclose(value, expected, **tolerance):
        return
    mistake = _matching_mistake(value, mistakes(), tolerance)
    if not bool(torch.isfinite(value).all()):
        fail(f"{name} contains nan or inf", mistake)
    if mistake is not None:
        fail(f"{name} is wrong: relative error {relative_error(value, expected):.3g}", mistake)
    assert_close(value, expected, name, **tolerance)


def _check_pattern(result, q, k, name, causal=True, d_model=None):
    """The student's pattern for q, k (their dtype and device) against the reference."""
    pattern = expect_tensor(result, name, like=q, shape=q.shape[:-1] + (q.shape[-2],), finite=False)
    expected = _exact(ref.attention_pattern(q.double(), k.double(), causal))
    _compare(_exact(pattern), expected, name, lambda: _pattern_mistakes(_exact(q), _exact(k), causal, d_model),
             TOLERANCE[q.dtype])
    return _exact(pattern)


def _check_head(result, x, W_q, W_k, W_v, name, causal=True):
    """The student's (out, pattern) of one head against the reference (F.scaled_dot_product_attention)."""
    B, T, d_model = x.shape
    d_head = W_q.shape[-1]
    out, pattern = expect_tuple(result, name, 2)
    out = expect_tensor(out, f"out of {name}", like=x, shape=(B, T, d_head), finite=False)
    ref_out, _ = ref.attention_head(*(t.double() for t in (x, W_q, W_k, W_v)), causal)
    q, k, v = (_exact(x) @ _exact(W) for W in (W_q, W_k, W_v))
    _check_pattern(pattern, x @ W_q, x @ W_k, f"pattern of {name}", causal, d_model)
    _compare(_exact(out), _exact(ref_out), f"out of {name}",
             lambda: [(m, p @ v) for m, p in _pattern_mistakes(q, k, causal, d_model)], TOLERANCE[x.dtype])


def _multi_head_mistakes(x, W_q, W_k, W_v, W_o, causal):
    """[(mistake id, the output it gives)] of multi_head_attention; arguments float64 on the CPU."""
    n_heads, d_model, _ = W_q.shape
    heads, wrong_heads = [], []                                        # wrong_heads[h]: [(mistake, out)]
    for h in range(n_heads):
        q, k, v = x @ W_q[h], x @ W_k[h], x @ W_v[h]
        heads.append(ref.attention_pattern(q, k, causal) @ v)          # (B, T, d_head)
        wrong_heads.append([(mistake, pattern @ v) for mistake, pattern in _pattern_mistakes(q, k, causal, d_model)])
    mistakes = [(forms[0][0], torch.cat([out for _, out in forms], dim=-1) @ W_o) for forms in zip(*wrong_heads)]
    for which in range(3):  # head h with W_q[h - 1] (or W_k, W_v): the weights of its neighbour
        shifted = [W if i != which else torch.roll(W, 1, dims=0) for i, W in enumerate((W_q, W_k, W_v))]
        outs = [ref.attention_pattern(x @ shifted[0][h], x @ shifted[1][h], causal) @ (x @ shifted[2][h])
                for h in range(n_heads)]
        mistakes.append(("head_weights_mixed", torch.cat(outs, dim=-1) @ W_o))
    by_head = torch.stack(heads, dim=1)                                 # (B, H, T, d_head)
    B, H, T, d_head = by_head.shape
    for concat in (torch.stack(heads, dim=-1).flatten(-2),              # feature-major: interleaved
                   torch.cat(heads[::-1], dim=-1),                      # last head first
                   by_head.reshape(B, T, H * d_head)):                  # (B, H, T, .) read as (B, T, H .)
        mistakes.append(("heads_wrong_order", concat @ W_o))
    return mistakes


def _check_multi_head(result, x, W_q, W_k, W_v, W_o, name, causal=True):
    out = expect_tensor(result, name, like=x, shape=x.shape, finite=False)
    expected = ref.multi_head_attention(*(t.double() for t in (x, W_q, W_k, W_v, W_o)), causal)
    exact = [_exact(t) for t in (x, W_q, W_k, W_v, W_o)]
    _compare(_exact(out), _exact(expected), name, lambda: _multi_head_mistakes(*exact, causal), TOLERANCE[x.dtype])


def _multi_head_inputs(rng, B, T, n_heads, d_model, d_head, dtype, device):
    x = _tensor(rng, (B, T, d_model), dtype, device)
    W_q, W_k, W_v = _weights(rng, (n_heads, d_model, d_head), dtype, device)
    W_o = _tensor(rng, (n_heads * d_head, d_model), dtype, device, scale=(n_heads * d_head) ** -0.5)
    return x, W_q, W_k, W_v, W_o


def _check_past_unchanged(before, after, first_changed, name, dtype, mistake=lambda: None):
    """Outputs of the tokens before ``first_changed`` must not move when later tokens change.

    mistake: a function returning the mistake to name, called only when they move.
    """
    if not torch.allclose(_exact(after)[:, :first_changed], _exact(before)[:, :first_changed],
                          **TOLERANCE[dtype]):
        fail(f"{name}: changing tokens {first_changed} and later changed the outputs of earlier tokens; "
             "token i must see only tokens j <= i", mistake())
    if torch.allclose(_exact(after)[:, first_changed:], _exact(before)[:, first_changed:], **TOLERANCE[dtype]):
        fail(f"{name}: changing tokens {first_changed} and later did not change their own outputs; "
             "the output must depend on the input")


# ---------------------------------------------------------------- gates of the property tests
#
# A softmax gives the larger score the larger weight whatever its scale, so "the weights of each row are
# ordered as the scores q·k" tells attention from code that computes nothing (a uniform or an identity
# pattern, weights from the keys alone, zeros) and lets every scale through (no 1/sqrt(d), sqrt(d_model),
# 1/d). Patterns that a catalogued mistake gives pass too: that mistake costs its own tests.

ORDER_MARGIN = 0.05  # keys whose scores differ by less than this share of the largest |score| are not compared
RESOLUTION = {torch.float64: 1e-9, torch.float32: 1e-5}  # to which weights solved for from an output are known
PROBE_T, PROBE_D = 5, 8  # the probe's tokens and width: T < d, so that an output that mixes no values shows


def _misordered(weights, scores, allowed, resolution):
    """(b, i, a, c): a row i where key a scores clearly above key c (both allowed) but does not weigh more
    by over ``resolution``; None when the allowed keys of every row are weighted in the order of their scores."""
    margin = ORDER_MARGIN * float(scores.abs().max())
    above = (scores.unsqueeze(-1) - scores.unsqueeze(-2)) > margin          # (B, T, T, T) [b, i, a, c]
    heavier = (weights.unsqueeze(-1) - weights.unsqueeze(-2)) > resolution  # nan is never heavier
    both_allowed = allowed.unsqueeze(-1) & allowed.unsqueeze(-2)            # (T, T, T) [i, a, c]
    found = (both_allowed & above & ~heavier).nonzero()                     # row-major: the first one
    return tuple(int(index) for index in found[0]) if len(found) else None


def _check_attends(weights, q, k, name, dtype, resolution=0.0):
    """The gate: weights (float64, CPU, (B, T, T)) must be a causal attention pattern of q and k.

    In every row the keys j <= i are weighted in the order of their scores q·k (at any scale; or of the
    scores transposed, k_i·q_j, another mistake), or the weights are what a catalogued mistake gives.
    """
    q, k = _exact(q), _exact(k)
    scores = q @ k.transpose(-2, -1)                                    # (B, T, T), unscaled
    allowed = torch.ones(scores.shape[-2:], dtype=torch.bool).tril()
    where = _misordered(weights, scores, allowed, resolution)
    if where is None or _misordered(weights, scores.transpose(-2, -1), allowed, resolution) is None \
            or any(torch.allclose(weights, wrong, equal_nan=True, **TOLERANCE[dtype])
                   for _, wrong in _pattern_mistakes(q, k, True)):
        return
    b, i, a, c = where

    def weight(j):  # what is below the resolution shows as 0
        value = float(weights[b, i, j])
        return f"{value if abs(value) > max(resolution, 1e-12) else 0.0:.4g}"
    fail(f"{name} does not attend by the scores: in row {i} (batch {b}) key {a} has the larger score q·k "
         f"({float(scores[b, i, a]):.4g} > {float(scores[b, i, c]):.4g}) but not the larger weight "
         f"({weight(a)} vs {weight(c)}); a softmax of the scores weighs the keys in the order of their "
         "scores, whatever its scale. The properties of this test earn points only for weights computed "
         "from q and k")


def _rotation(rng, d):
    """A random orthogonal (d, d) matrix, float64 on the CPU."""
    return torch.linalg.qr(torch.as_tensor(rng.normal(size=(d, d))))[0]


def _probe_inputs(rng, dtype, device):
    """x, W_q, W_k, W_v, W_o on which a head's output shows its weights: out = weights @ (x W_v) is solved
    for them, as x has orthogonal rows and W_v, W_o are rotations; gentle scores (q·k about unit scale
    unscaled) keep every weight far above the resolution, even for a softmax without its 1/sqrt(d)."""
    x = torch.stack([_rotation(rng, PROBE_D)[:PROBE_T] for _ in range(2)]) * math.sqrt(PROBE_D)  # (2, T, d)
    W_q, W_k = (torch.as_tensor(rng.normal(scale=0.6 / math.sqrt(PROBE_D), size=(PROBE_D, PROBE_D)))
                for _ in range(2))
    return tuple(t.to(dtype=dtype, device=device) for t in (x, W_q, W_k, _rotation(rng, PROBE_D),
                                                             _rotation(rng, PROBE_D)))


def _one_head(x, W_q, W_k, W_v, W_o):
    """The probe as the arguments of multi_head_attention: one head of d_head = d_model."""
    return x, W_q[None], W_k[None], W_v[None], W_o


def _check_probe_output(out, probe, name, dtype, one_head=False):
    """The gate of a head (or of one head of multi_head_attention) on the probe: its output must be the
    values mixed by weights that pass _check_attends."""
    x, W_q, W_k, W_v, W_o = probe
    out = _exact(expect_tensor(out, name, like=x, shape=x.shape, finite=False))
    values = _exact(x) @ _exact(W_v) @ (_exact(W_o) if one_head else torch.eye(PROBE_D, dtype=torch.float64))
    weights = out @ torch.linalg.pinv(values)                          # (B, T, T): out = weights @ values
    if not torch.allclose(weights @ values, out, equal_nan=True, **TOLERANCE[dtype]):
        fail(f"{name} does not attend: the output of each token should be a weighted sum of the values v_j "
             f"(pattern @ v), and no weights give yours (the nearest sum is off by relative error "
             f"{relative_error(weights @ values, out):.3g}). The properties of this test earn points only for "
             "outputs that attend")
    _check_attends(weights, x @ W_q, x @ W_k, name, dtype, resolution=RESOLUTION[dtype])


def _check_head_attends(student, rng, dtype, device):
    probe = _probe_inputs(rng, dtype, device)
    name = f"attention_head on {dtype} inputs of shape (2, {PROBE_T}, {PROBE_D}) with d_head = {PROBE_D}"
    out, _ = expect_tuple(_call(student, student.attention_head, *(t.clone() for t in probe[:4]), length=PROBE_T),
                          name, 2)
    _check_probe_output(out, probe, f"out of {name}", dtype)


def _check_multi_head_attends(student, rng, dtype, device):
    probe = _probe_inputs(rng, dtype, device)
    name = f"multi_head_attention with one head on {dtype} inputs of shape (2, {PROBE_T}, {PROBE_D})"
    out = _call(student, student.multi_head_attention, *(t.clone() for t in _one_head(*probe)), length=PROBE_T)
    _check_probe_output(out, probe, name, dtype, one_head=True)


# ---------------------------------------------------------------- the causal mask

def _mask_mistake(mask, expected):
    """The catalogued mistake that a wrong causal mask (of the right shape) shows, or None."""
    known = [("triu_diagonal", expected.tril(diagonal=-1)), ("mask_inverted", ~expected),
             ("mask_inverted", expected.T), ("future_visible", torch.ones_like(expected).tril(diagonal=1))]
    matches = {m for m, wrong in known if torch.equal(mask, wrong)}
    return matches.pop() if len(matches) == 1 else None


@on_every_device
def test_causal_mask_matches_reference(student, device):
    for T in LENGTHS + (16,):
        expected = ref.causal_mask(T, device)
        name = f"causal_mask({T}, device={device!r})"
        mask = student.causal_mask(T, device=device)
        if type(mask) is torch.Tensor and mask.ndim == 2 and mask.shape[0] == mask.shape[1] > T \
                and torch.equal(mask[:T, :T].cpu(), expected.cpu()):
            fail(f"{name} has shape {tuple(mask.shape)}; expected ({T}, {T})", "mask_not_sliced")
        mask = expect_tensor(mask, name, like=expected, shape=(T, T))
        if not torch.equal(mask, expected):
            fail(f"{name} is wrong: it should be True exactly where key j <= query i", _mask_mistake(mask, expected))
    default = expect_tensor(student.causal_mask(3), "causal_mask(3) (no device given)",
                            like=ref.causal_mask(3), shape=(3, 3))
    if not torch.equal(default, ref.causal_mask(3)):
        fail("causal_mask(3) is wrong: it should be True exactly where key j <= query i")


# ---------------------------------------------------------------- the attention pattern

# Equivalent mutant (nnex validate): k.transpose(-1, -2) for k.transpose(-2, -1), the same swap.
@in_both_dtypes
@on_every_device
def test_attention_pattern_matches_reference(student, rng, dtype, device):
    for T in LENGTHS:
        q, k = _tensor(rng, (2, T, 5), dtype, device), _tensor(rng, (2, T, 5), dtype, device)
        result = _call(student, student.attention_pattern, q.clone(), k.clone(), length=T)
        _check_pattern(result, q, k, f"attention_pattern(q, k) for q, k of shape (2, {T}, 5)")


@on_every_device
def test_attention_pattern_without_mask(student, rng, device):
    q, k = _tensor(rng, (3, 7, 4), torch.float64, device), _tensor(rng, (3, 7, 4), torch.float64, device)
    result = student.attention_pattern(q.clone(), k.clone(), causal=False)
    _check_pattern(result, q, k, "attention_pattern(q, k, causal=False) for q, k of shape (3, 7, 4)",
                   causal=False)


@in_both_dtypes
@on_every_device
def test_attention_pattern_properties(student, rng, dtype, device):
    B, T, d, first_changed = 2, 9, 6, 5
    q, k = _tensor(rng, (B, T, d), dtype, device), _tensor(rng, (B, T, d), dtype, device)
    name = f"attention_pattern(q, k) for q, k of shape ({B}, {T}, {d})"
    pattern = expect_tensor(_call(student, student.attention_pattern, q.clone(), k.clone(), length=T), name,
                            like=q, shape=(B, T, T), finite=False)
    got, tolerance = _exact(pattern), TOLERANCE[dtype]

    def mistake():  # the mistakes' patterns are computed only for a failure
        return _matching_mistake(got, _pattern_mistakes(_exact(q), _exact(k), True), tolerance)

    if not bool(torch.isfinite(got).all()):
        fail(f"{name} contains nan or inf", mistake())
    if not bool((got.triu(diagonal=1) == 0).all()):
        fail(f"{name}: the weights of future keys (j > i) should be exactly 0; the largest is "
             f"{float(got.triu(diagonal=1).abs().max()):.3g}", mistake())
    if not bool((got >= 0).all()) or not torch.allclose(got.sum(dim=-1), torch.ones(B, T, dtype=got.dtype),
                                                         **tolerance):
        fail(f"{name}: each row should be a distribution over the keys (weights >= 0 that sum to 1); "
             f"the row sums range from {float(got.sum(-1).min()):.6g} to {float(got.sum(-1).max()):.6g}",
             mistake())
    q2, k2 = q.clone(), k.clone()
    q2[:, first_changed:] += 2.0
    k2[:, first_changed:] -= 2.0
    changed = expect_tensor(student.attention_pattern(q2, k2), f"{name} after changing tokens "
                            f"{first_changed} and later", like=q, shape=(B, T, T), finite=False)
    _check_past_unchanged(pattern, changed, first_changed, "the pattern's rows", dtype, mistake)
    _check_attends(got, q, k, name, dtype)  # last: a real mistake is named by the property it breaks


@in_both_dtypes
def test_attention_pattern_large_logits(student, rng, dtype):
    # integer multiples of 2500 against keys of -1, 0, 1: every score q.k / sqrt(4) is an exact
    # multiple of 1250 in float32 too, and the largest are +-1e4. Row 1 scores -1e4 against both keys
    # it may see and has four future keys: a finite fill of the future that is not far below -1e4
    # (-1e4 itself, say) gives them weight; -1e9 or the dtype's lowest number do not.
    T, d = 6, 4
    q = torch.as_tensor(2500.0 * rng.integers(-2, 3, size=(2, T, d)), dtype=dtype)
    k = torch.as_tensor(rng.integers(-1, 2, size=(2, T, d)), dtype=dtype)
    q[:, 0], q[:, 1], q[:, -1], k[:, 0], k[:, 1] = 5000.0, -5000.0, -5000.0, 1.0, 1.0  # scores of +-1e4
    name = "attention_pattern(q, k) with scores of up to ±1e4"
    pattern = expect_tensor(student.attention_pattern(q.clone(), k.clone()), name, like=q,
                            shape=(2, T, T), finite=False)

    def at_unit_scale():
        return _exact(expect_tensor(student.attention_pattern(q / 2500.0, k.clone()), "attention_pattern at "
                                    "unit scale", like=q, shape=(2, T, T), finite=False))
    if not bool(torch.isfinite(pattern).all()):
        small = at_unit_scale()
        fail(f"{name} contains nan or inf", "softmax_overflow" if bool(torch.isfinite(small).all()) else None)
    future = _exact(pattern).triu(diagonal=1)
    if bool((future != 0).any()) and bool((at_unit_scale().triu(diagonal=1) == 0).all()):
        b, i, j = (int(index) for index in (future != 0).nonzero()[0])
        fail(f"{name}: the future key {j} of row {i} (batch {b}) has the weight {float(future[b, i, j]):.4g}, "
             f"where the keys row {i} may see score -1e4; at unit scale your future weights are exactly 0, so "
             "the future's scores are filled with a finite number that real scores can reach", "fill_too_small")
    _check_pattern(pattern, q, k, name)


# ---------------------------------------------------------------- one head

@in_both_dtypes
@on_every_device
def test_attention_head_matches_reference(student, rng, dtype, device):
    d_model, d_head = 10, 4
    for T in LENGTHS:
        x = _tensor(rng, (2, T, d_model), dtype, device)
        W_q, W_k, W_v = _weights(rng, (d_model, d_head), dtype, device)
        result = _call(student, student.attention_head, x.clone(), W_q.clone(), W_k.clone(), W_v.clone(), length=T)
        _check_head(result, x, W_q, W_k, W_v, f"attention_head(x, W_q, W_k, W_v) for x of shape (2, {T}, "
                    f"{d_model}) and d_head = {d_head}")


@on_every_device
def test_attention_head_without_mask(student, rng, device):
    x = _tensor(rng, (2, 8, 6), torch.float64, device)
    W_q, W_k, W_v = _weights(rng, (6, 3), torch.float64, device)
    result = student.attention_head(x.clone(), W_q.clone(), W_k.clone(), W_v.clone(), causal=False)
    _check_head(result, x, W_q, W_k, W_v, "attention_head(x, W_q, W_k, W_v, causal=False) for x of shape "
                "(2, 8, 6) and d_head = 3", causal=False)


@in_both_dtypes
@on_every_device
def test_attention_head_future_does_not_change_the_past(student, rng, dtype, device):
    T, d_model, d_head, first_changed = 10, 8, 5, 6
    x = _tensor(rng, (2, T, d_model), dtype, device)
    W_q, W_k, W_v = _weights(rng, (d_model, d_head), dtype, device)
    changed = x.clone()
    changed[:, first_changed:] = _tensor(rng, (2, T - first_changed, d_model), dtype, device, scale=3.0)
    name = f"attention_head(x, W_q, W_k, W_v) for x of shape (2, {T}, {d_model})"
    out, pattern = expect_tuple(_call(student, student.attention_head, x.clone(), W_q, W_k, W_v, length=T), name, 2)
    out = expect_tensor(out, f"out of {name}", like=x, shape=(2, T, d_head), finite=False)
    pattern = expect_tensor(pattern, f"pattern of {name}", like=x, shape=(2, T, T), finite=False)
    later, _ = expect_tuple(student.attention_head(changed, W_q, W_k, W_v), name, 2)
    later = expect_tensor(later, f"out of {name}", like=x, shape=(2, T, d_head), finite=False)
    q, k = _exact(x) @ _exact(W_q), _exact(x) @ _exact(W_k)
    _check_past_unchanged(out, later, first_changed, "out", dtype, lambda: _matching_mistake(
        _exact(pattern), _pattern_mistakes(q, k, True, d_model), TOLERANCE[dtype]))
    _check_head_attends(student, rng, dtype, device)  # out = x W_v, say, never sees the future either


# ---------------------------------------------------------------- several heads

@in_both_dtypes
@on_every_device
def test_multi_head_attention_matches_reference(student, rng, dtype, device):
    for n_heads, d_model, d_head in ((3, 12, 4), (2, 7, 5)):  # n_heads * d_head = d_model, and not
        for T in LENGTHS:
            inputs = _multi_head_inputs(rng, 2, T, n_heads, d_model, d_head, dtype, device)
            result = _call(student, student.multi_head_attention, *(t.clone() for t in inputs), length=T)
            _check_multi_head(result, *inputs, f"multi_head_attention for x of shape (2, {T}, {d_model}), "
                              f"{n_heads} heads of d_head = {d_head}")


@on_every_device
def test_multi_head_attention_without_mask(student, rng, device):
    inputs = _multi_head_inputs(rng, 2, 6, 4, 8, 2, torch.float64, device)
    result = student.multi_head_attention(*(t.clone() for t in inputs), causal=False)
    _check_multi_head(result, *inputs, "multi_head_attention(..., causal=False) for 4 heads of d_head = 2",
                      causal=False)


@in_both_dtypes
@on_every_device
def test_multi_head_attention_future_does_not_change_the_past(student, rng, dtype, device):
    T, first_changed = 9, 3
    x, W_q, W_k, W_v, W_o = _multi_head_inputs(rng, 2, T, 3, 9, 3, dtype, device)
    changed = x.clone()
    changed[:, first_changed:] += _tensor(rng, (2, T - first_changed, 9), dtype, device, scale=3.0)
    name = "multi_head_attention for x of shape (2, 9, 9), 3 heads"
    before = expect_tensor(_call(student, student.multi_head_attention, x.clone(), W_q, W_k, W_v, W_o, length=T),
                           name, like=x, shape=x.shape, finite=False)
    after = expect_tensor(student.multi_head_attention(changed, W_q, W_k, W_v, W_o), name, like=x,
                          shape=x.shape, finite=False)
    _check_past_unchanged(before, after, first_changed, name, dtype)
    _check_multi_head_attends(student, rng, dtype, device)  # concat(x W_v[h]) W_o never sees the future either


# ---------------------------------------------------------------- long sequences

SHORT_T, LONG_T = 8, 300  # the other tests use T <= 16; a mask made once for 64, 128 or 256 tokens fits those


def _same_at_both_lengths(check_short, check_long, function):
    """The gate and the test of the long sequences: check_short() runs ``function`` at T = SHORT_T and
    returns its failure (None when right), check_long() the same at T = LONG_T. The gate, loose: at
    SHORT_T the function is right, or wrong as a recognised mistake makes it (that mistake costs its
    own tests, not this one); code that raises or computes nothing recognisable fails it. At LONG_T
    it must do the same as at SHORT_T: right, or the same recognised mistake. One that is right at
    SHORT_T but not at LONG_T was made for a fixed length."""
    short = check_short()
    if short is not None and short.mistake is None:
        fail(f"long sequences are checked only for functions that work on short ones: {short.detail}")
    long = check_long()
    if long is None or (short is not None and long.mistake == short.mistake):
        return
    if "did not return within" in long.detail:
        raise long
    if short is None:
        fail(f"{function} is right for T = {SHORT_T} but not for T = {LONG_T}: {long.detail}", "mask_fixed_length")
    fail(f"{function} goes wrong in one way for T = {SHORT_T} ({short.detail}) and in another for T = {LONG_T}: "
         f"{long.detail}")


def _failure(check):
    """The CheckFailed that check() raises (a function's own exception too), or None."""
    try:
        check()
    except CheckFailed as failure:
        return failure
    except Exception as error:  # noqa: BLE001 - what the student's function raised, relayed
        return CheckFailed(str(error).splitlines()[0])
    return None


def test_attention_on_long_sequences(student, rng):
    def mask_at(T):
        def check():
            expected = ref.causal_mask(T)
            mask = expect_tensor(student.causal_mask(T), f"causal_mask({T})", like=expected, shape=(T, T))
            if not torch.equal(mask, expected):
                fail(f"causal_mask({T}) is wrong: it should be True exactly where key j <= query i",
                     _mask_mistake(mask, expected))
        return check

    def pattern_at(T):
        q, k = _tensor(rng, (1, T, 4), torch.float64, "cpu"), _tensor(rng, (1, T, 4), torch.float64, "cpu")
        return lambda: _check_pattern(_call(student, student.attention_pattern, q.clone(), k.clone(), length=T), q, k,
                                      f"attention_pattern(q, k) for q, k of shape (1, {T}, 4)")

    def multi_head_at(T):
        inputs = _multi_head_inputs(rng, 1, T, 2, 6, 3, torch.float64, "cpu")
        return lambda: _check_multi_head(_call(student, student.multi_head_attention, *(t.clone() for t in inputs),
                                               length=T), *inputs,
                                         f"multi_head_attention for x of shape (1, {T}, 6), 2 heads")

    for make, function in ((mask_at, "causal_mask"), (pattern_at, "attention_pattern"),
                           (multi_head_at, "multi_head_attention")):
        short, long = make(SHORT_T), make(LONG_T)
        _same_at_both_lengths(lambda: _failure(short), lambda: _failure(long), function)


# ---------------------------------------------------------------- inputs, dtypes and devices

@on_every_device
def test_inputs_are_not_modified(student, rng, device):
    probe = _probe_inputs(rng, torch.float64, device)
    x, W_q, W_k = probe[:3]
    q, k = x @ W_q, x @ W_k
    calls = [("attention_pattern", ("q", "k"), (q, k),
              lambda pattern, name: _check_attends(_exact(expect_tensor(
                  pattern, name, like=q, shape=(2, PROBE_T, PROBE_T), finite=False)), q, k, name, torch.float64)),
             ("attention_head", ("x", "W_q", "W_k", "W_v"), probe[:4],
              lambda result, name: _check_probe_output(expect_tuple(result, name, 2)[0], probe, f"out of {name}",
                                                       torch.float64)),
             ("multi_head_attention", ("x", "W_q", "W_k", "W_v", "W_o"), _one_head(*probe),
              lambda out, name: _check_probe_output(out, probe, name, torch.float64, one_head=True))]
    for function, names, args, check in calls:
        # the student's code works on copies: ask for them as the call left them
        result, after, _ = _call(student, call_with_arguments, getattr(student, function), *args, length=PROBE_T)
        changed = [name for name, arg, new in zip(names, args, after) if not (
            type(new) is torch.Tensor and new.shape == arg.shape and torch.equal(new.cpu(), arg.cpu()))]
        if changed:
            fail(f"{function} changed its argument {changed[0]} in place; compute new tensors (q = q / s, not "
                 "q /= s)", "input_modified")
        check(result, function)  # leaving the inputs alone earns points only from a function that attends


@in_both_dtypes
@on_every_device
def test_outputs_keep_dtype_and_device(student, rng, dtype, device):
    T = 4
    name = f"causal_mask({T}, device={device!r})"
    mask = expect_tensor(student.causal_mask(T, device=device), name,
                         like=torch.ones(1, dtype=torch.bool, device=device), shape=(T, T))
    # the gate of the mask: triangular (which side, and the diagonal, are the mask tests' business)
    ones = torch.ones(T, T, dtype=torch.bool)
    if not any(torch.equal(mask.cpu(), triangle) for triangle in (ones.tril(), ones.tril(-1), ones.triu(),
                                                                  ones.triu(1))):
        fail(f"{name} is not a triangular mask; it should be True exactly where key index <= query index")
    probe = _probe_inputs(rng, dtype, device)
    x, W_q, W_k, W_v, _ = probe
    q, k = x @ W_q, x @ W_k
    kind = f"for {dtype} inputs on {device}"
    # right dtype and device earn points only from functions that attend (loosely: see the gates)
    name = f"attention_pattern {kind}"
    pattern = expect_tensor(_call(student, student.attention_pattern, q.clone(), k.clone(), length=PROBE_T), name,
                            like=q, shape=(2, PROBE_T, PROBE_T), finite=False)
    _check_attends(_exact(pattern), q, k, name, dtype)
    name = f"attention_head {kind}"
    result = _call(student, student.attention_head, *(t.clone() for t in (x, W_q, W_k, W_v)), length=PROBE_T)
    out, pattern = expect_tuple(result, name, 2)
    expect_tensor(pattern, f"pattern of {name}", like=x, shape=(2, PROBE_T, PROBE_T), finite=False)
    _check_probe_output(out, probe, f"out of {name}", dtype)
    name = f"multi_head_attention {kind}"
    out = _call(student, student.multi_head_attention, *(t.clone() for t in _one_head(*probe)), length=PROBE_T)
    _check_probe_output(out, probe, name, dtype, one_head=True)


# ---------------------------------------------------------------- the picture in the feedback

PICTURE_TOKENS = ["a", "small", "cat", "sat", "on", "the", "warm", "mat"]


def test_attention_pattern_picture(student, rng, figures):
    T, d_model, d_head = len(PICTURE_TOKENS), 12, 4
    x = _tensor(rng, (1, T, d_model), torch.float64, "cpu")
    W_q, W_k, W_v = _weights(rng, (d_model, d_head), torch.float64, "cpu")
    W_q = 2.0 * W_q  # sharper than unit scale, so that the picture shows where each token looks
    name = f"attention_head on a fixed sentence of {T} tokens"
    out, pattern = expect_tuple(_call(student, student.attention_head, x, W_q, W_k, W_v, length=T), name, 2)
    pattern = expect_tensor(pattern, f"pattern of {name}", like=x, shape=(1, T, T), finite=False)
    figures.add("attention-pattern", lambda: plot_attention_pattern(
        pattern[0], tokens=PICTURE_TOKENS, title="The pattern of your attention_head"))
    _check_head((out, pattern), x, W_q, W_k, W_v, name)
