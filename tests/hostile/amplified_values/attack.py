"""Hostile: values that cost the judge far more than they cost the child: forged frames of millions
of one-byte items and of tiny arrays, a list of millions of integers, a dict of millions of keys, a
value nested thousands of levels deep, an exception whose type name and message are megabytes
long, thousands of megabyte-long warnings. The judge must stay small and every message short."""
import json
import os
import struct
import sys
import warnings

import msgpack
import numpy as np

BASE = "none"

_MIB = 2**20


def _forge(message):
    data = msgpack.packb(message, use_bin_type=True)
    os.write(json.loads(sys.argv[1])["response_fd"], struct.pack(">I", len(data)) + data)


def _tiny_array():
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.zeros(1, dtype=np.int8))
    return msgpack.ExtType(1, buffer.getvalue())


def sigmoid(z):
    _forge(["ok", [[0] * 1024 for _ in range(24 * 1024)], None, []])  # 24 MiB: 25 million objects
    return z


def sigmoid_prime(z):
    _forge(["ok", [_tiny_array()] * (24 * _MIB // 140), None, []])  # 24 MiB of one-byte arrays
    return z


def neuron_forward(x, w, b):
    return list(range(5_000_000))


def mse_loss(a, y):
    raise type("E" * (10 * _MIB), (Exception,), {})("m" * (10 * _MIB))


def neuron_gradients(x, w, b, y):
    return {str(i): i for i in range(2_000_000)}, 0.0


def numerical_gradient(f, theta, eps=1e-5):
    for _ in range(1000):
        warnings.warn("w" * _MIB)
    nested = theta
    for _ in range(10_000):
        nested = [nested]
    return nested


def gradient_descent(x, y, w0, b0, lr, steps):
    return ["s" * _MIB] * 40, 0.0, np.zeros(steps)
