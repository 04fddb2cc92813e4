"""reference/attention.py agrees with the worked solution and with torch's own nn.MultiheadAttention,
on every device and dtype, and keeps its outputs on the input's device and dtype. CUDA cases run
when a GPU is present."""
import importlib.util

import pytest
import torch

from grader.manifests import load_manifests
from reference import attention as ref

EXERCISE = load_manifests()["attention"]
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(),
                                                                 reason="no CUDA device"))]
DTYPES = [torch.float64, torch.float32]
TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-5}


@pytest.fixture(scope="module")
def solution():
    spec = importlib.util.spec_from_file_location("attention_solution", EXERCISE.solution_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check(result, expected, like, name):
    assert result.device == like.device and result.dtype == like.dtype, name
    tol = TOLERANCE[like.dtype]
    torch.testing.assert_close(result.cpu().double(), expected.cpu().double(), rtol=tol, atol=tol, msg=name)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("causal", [True, False])
def test_reference_matches_the_solution(solution, device, dtype, causal):
    inputs = ref.random_inputs(2, 7, 10, 3, 4, dtype=dtype, device=device, seed=1)
    x, W_q, W_k, W_v, W_o = (inputs[k] for k in ("x", "W_q", "W_k", "W_v", "W_o"))
    assert torch.equal(ref.causal_mask(7, device), solution.causal_mask(7, device=device))
    q, k = x @ W_q[0], x @ W_k[0]
    check(ref.attention_pattern(q, k, causal), solution.attention_pattern(q, k, causal), x, "attention_pattern")
    out, pattern = ref.attention_head(x, W_q[1], W_k[1], W_v[1], causal)
    expected_out, expected_pattern = solution.attention_head(x, W_q[1], W_k[1], W_v[1], causal)
    check(out, expected_out, x, "out of attention_head")
    check(pattern, expected_pattern, x, "pattern of attention_head")
    check(ref.multi_head_attention(**inputs, causal=causal), solution.multi_head_attention(**inputs, causal=causal),
          x, "multi_head_attention")


@pytest.mark.parametrize("device", DEVICES)
def test_the_fused_and_the_written_out_paths_agree(device):
    inputs = ref.random_inputs(3, 9, 8, 1, 5, dtype=torch.float64, device=device, seed=2)
    x, W_q, W_k, W_v = inputs["x"], inputs["W_q"][0], inputs["W_k"][0], inputs["W_v"][0]
    out, pattern = ref.attention_head(x, W_q, W_k, W_v)  # out from F.scaled_dot_product_attention
    check(out, pattern @ (x @ W_v), x, "F.scaled_dot_product_attention against pattern @ v")
    assert bool((pattern.triu(diagonal=1) == 0).all())
    check(pattern.sum(dim=-1), torch.ones(3, 9, dtype=torch.float64), x, "row sums")


@pytest.mark.parametrize("device", DEVICES)
def test_multi_head_attention_matches_torch_multihead_attention(device):
    n_heads, d_model, d_head = 4, 16, 4
    inputs = ref.random_inputs(2, 6, d_model, n_heads, d_head, dtype=torch.float64, device=device, seed=3)
    module = torch.nn.MultiheadAttention(d_model, n_heads, bias=False, batch_first=True,
                                         device=device, dtype=torch.float64)
    with torch.no_grad():  # its in_proj rows are the heads' columns, head 0 first, for q, then k, then v
        module.in_proj_weight.copy_(torch.cat([inputs[w].permute(1, 0, 2).reshape(d_model, -1).T
                                               for w in ("W_q", "W_k", "W_v")]))
        module.out_proj.weight.copy_(inputs["W_o"].T)
    x = inputs["x"]
    future = ~ref.causal_mask(6, device)  # nn.MultiheadAttention's boolean mask is True where NOT allowed
    expected, _ = module(x, x, x, attn_mask=future, need_weights=False)
    check(ref.multi_head_attention(**inputs), expected, x, "against nn.MultiheadAttention")


def test_random_inputs_are_the_same_on_every_call():
    first, second = ref.random_inputs(1, 4, 6, 2, 3, seed=5), ref.random_inputs(1, 4, 6, 2, 3, seed=5)
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert first["x"].dtype == torch.float32 and first["W_o"].shape == (6, 6)
