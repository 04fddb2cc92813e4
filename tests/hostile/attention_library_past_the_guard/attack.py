"""Hostile: the library's attention by routes around a guard inside the interpreter: the math kernel
under torch.vmap and the multi-head kernel on nested tensors (dispatch keys of their own); the
source of torch.nn.functional, or its compiled copy, read with libc (no audit event) and run under
another name; pure-Python copies elsewhere in the library, their refused imports stubbed in
sys.modules first; the ONNX attention operator."""
import ctypes
import importlib
import marshal
import math
import os
import sys
import types

import torch
import torch.nn.functional as F

BASE = "none"
EXERCISE = "attention"
SHARED = ("attention_from_the_library",)
_FORWARD = "multi_head_" + "att" + "ention_forward"


def _vmapped_math_kernel():
    kernel = getattr(torch.ops.aten, "_scaled_dot_product_" + "att" + "ention_math")

    def attention(q, k, v, causal):  # (B, 1, T, d): one batch row at a time, under vmap
        return torch.vmap(lambda a, b, c: kernel(a[None], b[None], c[None], is_causal=causal)[0][0])(q, k, v)

    return _weights_from_attention_output(attention)


def _nested_kernel():
    kernel = getattr(torch, "_native_multi_head_" + "att" + "ention")

    def pattern(q, k, causal):  # row i of a causal pattern is the last row of the pattern of the first i + 1
        B, T, d = q.shape
        eye = torch.eye(d, dtype=q.dtype, device=q.device)
        zeros = torch.zeros(3 * d, dtype=q.dtype, device=q.device)
        lengths = [t + 1 if causal else T for t in range(T)]
        nested = [torch.nested.nested_tensor([t[b, :n] for b in range(B) for n in lengths]) for t in (q, k)]
        _, weights = kernel(nested[0], nested[1], nested[1], d, 1, torch.cat([eye, eye, eye]), zeros, eye,
                            zeros[:d], None, True, True, None)
        out = torch.zeros(B, T, T, dtype=q.dtype, device=q.device)
        for b in range(B):
            for i, n in enumerate(lengths):
                out[b, i, :n] = weights[b * T + i, n - 1 if causal else i, :n]
        return out

    return pattern


def _read_with_libc(path):
    libc = ctypes.CDLL(None)
    libc.open.argtypes = [ctypes.c_char_p, ctypes.c_int]
    fd, chunks, buffer = libc.open(path.encode(), os.O_RDONLY), [], ctypes.create_string_buffer(1 << 16)
    while (count := libc.read(fd, buffer, 1 << 16)) > 0:
        chunks.append(buffer.raw[:count])
    libc.close(fd)
    return b"".join(chunks)


def _source_read_with_libc():
    torch._C._add_docstr = lambda function, doc: function
    namespace = {"__name__": "functional_copy", "__package__": "torch.nn"}
    exec(compile(_read_with_libc(F.__file__).decode(), "functional_copy", "exec"), namespace)
    return _weights_from_mha_forward(namespace[_FORWARD])


def _compiled_copy_read_with_libc():
    folder = os.path.join(os.path.dirname(F.__file__), "__pycache__")
    (name,) = [n for n in os.listdir(folder) if n.startswith("functional.")]
    torch._C._add_docstr = lambda function, doc: function
    namespace = {"__name__": "functional_copy", "__package__": "torch.nn"}
    exec(marshal.loads(_read_with_libc(os.path.join(folder, name))[16:]), namespace)
    return _weights_from_mha_forward(namespace[_FORWARD])


class _Anything:
    def __call__(self, *args, **kwargs):
        return _Anything()

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Anything()


class _Stub(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Anything()


def _pattern_past_stubbed_imports():
    for name in ("torch.testing._internal.distributed", "torch.testing._internal.distributed.fake_pg",
                 "torch.nn.attention.flex_" + "attention"):
        stub = _Stub(name)
        stub.__path__ = []
        sys.modules[name] = stub
    fused = importlib.import_module("torch._inductor.fx_passes.fuse_" + "att" + "ention")
    pattern_5 = getattr(fused, "_sfdp_pattern_5")  # softmax(q kᵀ / scale + mask) @ v

    def attention(q, k, v, causal):
        T, d = q.shape[-2], q.shape[-1]
        mask = torch.zeros(T, T, dtype=q.dtype, device=q.device)
        if causal:
            mask = mask.masked_fill(torch.ones(T, T, dtype=torch.bool, device=q.device).triu(1), float("-inf"))
        return pattern_5(q, k, v, mask, math.sqrt(d))

    return _weights_from_attention_output(attention)


def _onnx_operator():
    onnx_ops = importlib.import_module("torch.onnx.ops")
    operator = getattr(onnx_ops, "att" + "ention")
    return _weights_from_attention_output(lambda q, k, v, causal: operator(q, k, v, is_causal=causal)[0])


_LIBRARY_PATTERN = _first_route([_vmapped_math_kernel, _nested_kernel, _source_read_with_libc,
                                 _compiled_copy_read_with_libc, _pattern_past_stubbed_imports, _onnx_operator])
