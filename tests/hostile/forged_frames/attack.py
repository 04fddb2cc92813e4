"""Hostile: correct functions that first write forged protocol frames (a pickle, an object array) to the judge."""
import functools
import io
import json
import os
import pickle
import struct
import sys

import msgpack
import numpy as np

BASE = "solution"

MARKER = "/tmp/nnex-hostile-unpickled"  # tests/test_hostile.py checks the judge never creates it


class _Payload:
    def __reduce__(self):
        return (os.system, (f"touch {MARKER}",))


def _response_fd():
    return json.loads(sys.argv[1])["response_fd"]


def _frame(message):
    data = msgpack.packb(message, use_bin_type=True)
    os.write(_response_fd(), struct.pack(">I", len(data)) + data)


def _object_npy():
    buffer = io.BytesIO()
    np.save(buffer, np.array([_Payload()], dtype=object), allow_pickle=True)
    return buffer.getvalue()


def _forge(kind):
    if kind == "pickle":  # an extension type the codec does not know, holding a pickle
        _frame(["ok", msgpack.ExtType(99, pickle.dumps(_Payload())), [], []])
    else:  # the NDARRAY extension type holding an object array (a pickle inside .npy)
        _frame(["ok", msgpack.ExtType(1, _object_npy()), [], []])


def _forged(kind):
    def decorate(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            result = function(*args, **kwargs)
            _forge(kind)
            return result
        return wrapper
    return decorate


# the kinds alternate: sigmoid a pickle, sigmoid_prime an object array, neuron_forward a pickle, ...
for _index, _name in enumerate(("sigmoid", "sigmoid_prime", "neuron_forward", "mse_loss", "neuron_gradients",
                                "numerical_gradient", "gradient_descent")):
    globals()[_name] = _forged(("pickle", "npy")[_index % 2])(globals()[_name])
