"""Hostile: the library's attention recovered after it was made unusable: torch.nn.functional
reloaded, or its source run again; the original function found by the garbage collector; the
class found among nn.Module's subclasses; the quantizable copy of the class; flex attention."""
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
    return _weights_from_mha_forward(getattr(importlib.reload(F), _FORWARD))


def _source_run_again():
    namespace = {"__name__": "functional_again"}
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
    return _weights_from_module_class(getattr(importlib.import_module("torch.ao.nn.quantizable"), _CLASS))


def _flex():
    flex = getattr(importlib.import_module("torch.nn.attention." + "flex_" + "attention"), "flex_" + "attention")

    def causal_only(score, b, h, q_index, kv_index):
        return torch.where(q_index >= kv_index, score, -float("inf"))

    return _weights_from_attention_output(lambda q, k, v, causal: flex(q, k, v, score_mod=causal_only if causal else None))


_LIBRARY_PATTERN = _first_route([_reloaded, _source_run_again, _collected, _subclass, _quantizable, _flex])
