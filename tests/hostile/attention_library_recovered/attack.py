"""Hostile: the library's attention recovered after it was made unusable: torch.nn.functional
reloaded, or its source run again; the original function found by the garbage collector; the
class found among nn.Module's subclasses; the quantizable copy of the class."""
import gc
import importlib
import types

import torch
import torch.nn.functional as F

BASE = "none"
EXERCISE = "attention"
SHARED = ("attention_from_the_library",)
_FORWARD = "multi_head_" + "att" + "ention_forward"
_CLASS = "Multihead" + "Att" + "ention"


def _reloaded():
    torch._C._add_docstr = lambda function, doc: function  # the C functions have theirs already
    return _weights_from_mha_forward(getattr(importlib.reload(F), _FORWARD))


def _source_run_again():
    torch._C._add_docstr = lambda function, doc: function
    namespace = {"__name__": "functional_again", "__package__": "torch.nn"}
    with open(F.__file__) as source:
        exec(compile(source.read(), "functional_again", "exec"), namespace)
    return _weights_from_mha_forward(namespace[_FORWARD])


def _collected():
    found = [o for o in gc.get_objects() if type(o) is types.FunctionType and o.__name__ == _FORWARD]
    return _weights_from_mha_forward(found[0])


def _subclass():
    (found,) = [c for c in torch.nn.Module.__subclasses__() if c.__name__ == _CLASS]
    return _weights_from_module_class(found)


def _quantizable():
    module_class = getattr(importlib.import_module("torch.ao.nn.quantizable"), _CLASS)

    def pattern(q, k, causal):  # its projections are three Linear layers: made the identity
        layer = module_class(q.shape[-1], 1, bias=False, batch_first=True, dtype=q.dtype, device=q.device)
        with torch.no_grad():
            for projection in (layer.linear_Q, layer.linear_K, layer.linear_V, layer.out_proj):
                projection.weight.copy_(torch.eye(q.shape[-1]))
        T = q.shape[1]
        mask = torch.ones(T, T, dtype=torch.bool, device=q.device).triu(1) if causal else None
        return layer(q, k, k, attn_mask=mask, need_weights=True)[1].detach()

    return pattern


_LIBRARY_PATTERN = _first_route([_reloaded, _source_run_again, _collected, _subclass, _quantizable])
