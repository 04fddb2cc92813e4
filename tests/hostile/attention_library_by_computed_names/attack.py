"""Hostile: the library's attention under names built at run time (the static check sees none):
F.scaled_dot_product_attention and F.multi_head_attention_forward through getattr, the math kernel
through torch.ops.aten, and nn.MultiheadAttention through getattr."""
import torch
import torch.nn.functional as F

BASE = "none"
EXERCISE = "attention"
SHARED = ("attention_from_the_library",)


def _name(*parts):
    return "".join(parts)


def _fused():
    kernel = getattr(F, _name("scaled_dot_", "product_att", "ention"))
    return _weights_from_attention_output(lambda q, k, v, causal: kernel(q, k, v, is_causal=causal))


def _math_kernel():
    kernel = getattr(torch.ops.aten, _name("_scaled_dot_", "product_att", "ention_math"))
    return _weights_from_attention_output(lambda q, k, v, causal: kernel(q, k, v, is_causal=causal)[0])


_LIBRARY_PATTERN = _first_route([
    _fused,
    _math_kernel,
    lambda: _weights_from_mha_forward(getattr(F, _name("multi_head_", "att", "ention_forward"))),
    lambda: _weights_from_module_class(getattr(torch.nn, _name("Multihead", "Att", "ention"))),
])
