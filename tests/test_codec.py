"""The codec carries plain data exactly and refuses everything else."""
import io
import time

import msgpack
import numpy as np
import pytest
import torch

from grader.sandbox import codec


def refuse(obj):
    raise codec.CodecError(f"not plain: {type(obj).__name__}")


def roundtrip(value):
    return codec.decode(codec.encode(value, refuse), {})


def test_plain_values_keep_their_exact_types():
    value = {"none": None, "flag": True, "int": 3, "float": 2.5, "text": "é", "list": [1, [2.0]],
             "tuple": (1, (2, "x")), "nested": {"a": {"b": []}}}
    back = roundtrip(value)
    assert back == value
    assert type(back["tuple"]) is tuple and type(back["tuple"][1]) is tuple
    assert type(back["flag"]) is bool and type(back["int"]) is int


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "uint8", "bool", "complex128"])
def test_arrays_keep_dtype_shape_and_values(dtype):
    array = (np.arange(12).reshape(3, 4) % 3).astype(dtype)
    back = roundtrip(array)
    assert type(back) is np.ndarray and back.dtype == array.dtype and back.shape == (3, 4)
    assert np.array_equal(back, array)


def test_dicts_with_number_keys_cross_as_maps():
    value = {0.0: {"train_loss": [1.0]}, 0.5: {"train_loss": [2.0]}, (1, "a"): None}
    assert roundtrip(value) == value


def test_self_referencing_values_are_refused():
    loop = []
    loop.append(loop)
    with pytest.raises(codec.CodecError):
        codec.encode(loop, refuse)


def test_numpy_scalars_come_back_as_numpy_scalars():
    back = roundtrip([np.float64(1.5), np.int32(-2), np.bool_(True)])
    assert [type(v) for v in back] == [np.float64, np.int32, np.bool_]
    assert back == [1.5, -2, True]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.int64, torch.bfloat16])
def test_tensors_keep_dtype_and_device(dtype):
    tensor = torch.arange(6).reshape(2, 3).to(dtype)
    back = roundtrip(tensor)
    assert type(back) is torch.Tensor and back.dtype == dtype and back.device == tensor.device
    assert torch.equal(back, tensor)


def test_objects_that_are_not_plain_data_go_to_the_policy():
    class Sneaky(np.ndarray):
        pass

    for obj in (object(), np.zeros(2).view(Sneaky), np.array([object()]), {object(): 1}, lambda: 0):
        with pytest.raises(codec.CodecError):
            codec.encode(obj, refuse)


def test_pickled_arrays_are_refused():
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    frame = msgpack.packb(msgpack.ExtType(codec.NDARRAY, buffer.getvalue()))
    with pytest.raises(codec.CodecError):
        codec.decode(frame, {})


@pytest.mark.parametrize("frame", [b"\xc1", b"\x92\x01", msgpack.packb(msgpack.ExtType(99, b"")),
                                   msgpack.packb({1: 2}), msgpack.packb(msgpack.ExtType(codec.NDARRAY, b"junk"))])
def test_malformed_frames_are_refused_whole(frame):
    with pytest.raises(codec.CodecError):
        codec.decode(frame, {})


def test_handles_and_fixtures_go_to_the_hooks():
    frame = msgpack.packb([msgpack.ExtType(codec.HANDLE, msgpack.packb([7, "mod.Cache"]))])
    assert codec.decode(frame, {codec.HANDLE: lambda payload: ("handle", *payload)}) == [("handle", 7, "mod.Cache")]
    with pytest.raises(codec.CodecError):
        codec.decode(frame, {})


def test_oversized_values_are_refused(monkeypatch):
    monkeypatch.setattr(codec, "MAX_FRAME_BYTES", 1000)
    with pytest.raises(codec.CodecError, match="over the limit"):
        codec.encode(np.zeros(1000), refuse)


def test_generators_cross_as_their_state():
    rng = np.random.default_rng(3)
    rng.random(2)
    back = roundtrip(rng)
    assert type(back) is np.random.Generator and back is not rng
    assert np.array_equal(back.random(4), rng.random(4))
    generator = torch.Generator().manual_seed(3)
    torch.rand(2, generator=generator)
    copy = roundtrip(generator)
    assert torch.equal(torch.rand(4, generator=copy), torch.rand(4, generator=generator))


@pytest.mark.parametrize("payload", [["numpy", "Evil", "{}"], ["numpy", "PCG64", "{\"bit_generator\": \"SFC64\"}"],
                                     ["torch", "meta", b""], ["pickle", "PCG64", "{}"]])
def test_malformed_generators_are_refused(payload):
    frame = msgpack.packb(msgpack.ExtType(codec.GENERATOR, msgpack.packb(payload, use_bin_type=True)))
    with pytest.raises(codec.CodecError):
        codec.decode(frame, {})


class Affine(torch.nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.config = {"dim": dim}
        self.linear = torch.nn.Linear(dim, dim)


def test_support_models_are_rebuilt_from_config_and_weights():
    model = Affine(dim=3)
    assert codec.is_support_module(model, [__name__]) and not codec.is_support_module(model, ["other"])
    back = codec.decode(codec.encode(model, codec.module_ext), {codec.MODULE: lambda p: codec.build_module(p, [__name__])})
    assert type(back) is Affine and back.config == {"dim": 3}
    assert torch.equal(back.linear.weight, model.linear.weight)


@pytest.mark.parametrize("target, config, state", [
    (f"{__name__}:Affine", {"dim": 10**9}, None),              # a config that does not fit the weights
    (f"{__name__}:Affine", {"dim": 3}, {}),                    # weights missing
    ("os:system", {}, {}),                                     # not a support module
    (f"{__name__}:roundtrip", {}, {}),                         # not an nn.Module
])
def test_models_that_do_not_fit_are_refused(target, config, state):
    state = Affine(dim=3).state_dict() if state is None else state
    with pytest.raises(codec.CodecError):
        codec.build_module([target, config, state], [__name__, "os"])


def test_a_frame_of_many_tiny_items_is_refused_before_it_costs_memory():
    # 4 MiB of one-byte integers would be 4 million Python objects; arrays of one byte each too
    many_ints = msgpack.packb([[0] * 1024] * 4096)
    tiny = msgpack.ExtType(codec.NDARRAY, codec._npy(np.zeros(1, dtype=np.int8)))
    many_arrays = msgpack.packb([tiny] * (codec.MAX_ITEMS + 1))
    for frame in (many_ints, many_arrays):
        with pytest.raises(codec.CodecError, match="more than|exceeds"):
            codec.decode(frame, {})
    assert codec.decode(msgpack.packb([[0] * 1024] * 64), {}) == [[0] * 1024] * 64


def test_a_frame_of_many_small_arrays_costs_the_judge_far_less_than_loading_each():
    # within the limit on items, a frame holds up to a million arrays: parsing each one's header
    # again, as np.load does, cost the judge minutes of a grading run under load
    payload = codec._npy(np.zeros(1, dtype=np.int8))
    count = 20_000
    frame = msgpack.packb([msgpack.ExtType(codec.NDARRAY, payload)] * count)
    started = time.perf_counter()
    for _ in range(count):
        np.load(io.BytesIO(payload), allow_pickle=False)
    loading = time.perf_counter() - started
    started = time.perf_counter()
    decoded = codec.decode(frame, {})
    decoding = time.perf_counter() - started
    assert len(decoded) == count and all(type(a) is np.ndarray and a.flags.writeable for a in decoded[:3])
    assert decoding < loading / 3, (decoding, loading)


@pytest.mark.parametrize("data", [b"not npy at all", codec._npy(np.zeros(4))[:-1], codec._npy(np.zeros(4)) + b"\0",
                                  codec._npy(np.zeros(4)).replace(b"<f8", b"|O8")])
def test_array_bytes_that_are_not_exactly_one_plain_array_are_refused(data):
    with pytest.raises(codec.CodecError):
        codec.decode(msgpack.packb(msgpack.ExtType(codec.NDARRAY, data)), {})


def test_fortran_ordered_and_empty_arrays_keep_their_layout():
    for array in (np.asfortranarray(np.arange(12.0).reshape(3, 4)), np.zeros((0, 3), dtype=np.int32),
                  np.arange(4, dtype=">i4")):
        back = roundtrip(array)
        assert back.dtype == array.dtype and back.shape == array.shape and np.array_equal(back, array)
        assert back.flags.f_contiguous == array.flags.f_contiguous and back.flags.writeable


def test_deeply_nested_extension_values_are_refused():
    value = msgpack.packb(1)
    for _ in range(codec.MAX_DEPTH + 1):  # a tuple of a tuple of ... each its own extension value
        value = msgpack.packb(msgpack.ExtType(codec.TUPLE, msgpack.packb([msgpack.ExtType(codec.TUPLE, value)])))
    with pytest.raises(codec.CodecError, match="levels deep"):
        codec.decode(value, {})


def test_a_large_map_of_keys_that_are_not_str_is_refused():
    # such keys can be made to collide (-1 and -2 share a hash, and so do tuples built of them): a
    # map of many would cost quadratic time to build
    keys = [[-1 - (i % 2), i] for i in range(codec.MAX_MAP_KEYS + 1)]
    frame = msgpack.packb(msgpack.ExtType(codec.MAP, msgpack.packb([[key, 0] for key in keys])))
    with pytest.raises(codec.CodecError, match="more than"):
        codec.decode(frame, {})
