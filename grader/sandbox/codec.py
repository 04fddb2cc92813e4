"""The only format that crosses between the judge and the sandboxed child: msgpack frames.

msgpack cannot execute code by design. Plain data travels as itself (None, bool, int, float, str,
lists, dicts with str keys); the rest travels as extension types:

    NDARRAY   a plain ndarray of a numeric or bool dtype, as .npy bytes (allow_pickle=False)
    NPSCALAR  a NumPy scalar, as the .npy bytes of a 0-d array
    TENSOR    a torch.Tensor: [dtype, device, .npy bytes of its values]
    TUPLE     a tuple, as the list of its items
    MAP       a dict whose keys are not all str (dropout_study's p -> history), as its [key, value] pairs
    HANDLE    [id, type name]: an object that stays on the side that made it
    FIXTURE   [target, kwargs]: a callable built from an exercise's support module, by name
    GENERATOR a random generator, as its state: ["numpy", bit generator, state as JSON] or
              ["torch", device, state bytes]; the receiver makes a new generator in that state
    MODULE    [target, config, state_dict]: an nn.Module whose class lives in an exercise's support
              module and keeps its constructor's plain keyword arguments in ``config``; the receiver
              rebuilds it from its own copy of that module

What a side does with objects that are not plain data (``other``) and with HANDLE and FIXTURE
(``hooks``) is its own policy: see child.py and the judge's proxy.

This module is copied into the sandbox and must import nothing from the grader.
"""
import functools
import io
import json
import os
import struct
import sys

import msgpack
import numpy as np

NDARRAY, NPSCALAR, TENSOR, TUPLE, HANDLE, FIXTURE, MAP, GENERATOR, MODULE = 1, 2, 3, 4, 5, 6, 7, 8, 9
MAX_FRAME_BYTES = 64 * 2**20
MAX_DEPTH = 64
# A decoded value costs far more memory than its bytes (a 1-byte integer becomes a 28-byte object
# and an 8-byte list slot): a frame may hold at most this many items in all, and no list or map longer
MAX_ITEMS = 1_000_000
# keys that are not str can be made to collide (ints and tuples hash predictably), and each
# colliding key costs every key before it: a map of them stays small
MAX_MAP_KEYS = 1000
KEY_TYPES = (type(None), bool, int, float, str, tuple)
ARRAY_KINDS = "biufc"
BIT_GENERATORS = ("PCG64", "PCG64DXSM", "Philox", "SFC64", "MT19937")


class CodecError(ValueError):
    """A value that cannot be encoded or a frame that must not be decoded."""


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _from_npy(data: bytes) -> np.ndarray:
    """The array of .npy bytes. A frame may hold a million small arrays: np.load would parse each
    header again (some 60 µs each, a minute of the judge's time for one frame), so the headers are
    parsed once per distinct header, and the bytes that follow must be exactly the array's."""
    dtype, shape, fortran_order, offset = _npy_header(bytes(data[:_npy_header_end(data)]))
    count = int(np.prod(shape, dtype=np.int64))
    if len(data) - offset != count * dtype.itemsize:
        raise CodecError(f"refused an array whose {len(data) - offset} bytes are not its shape's {shape}")
    values = np.frombuffer(data, dtype=dtype, count=count, offset=offset) if count else np.empty(0, dtype)
    return values.reshape(shape, order="F" if fortran_order else "C").copy(order="K")


def _npy_header_end(data: bytes) -> int:
    """Where the .npy header ends: magic, version, then its length in 2 (version 1) or 4 bytes."""
    if len(data) < 10 or data[:6] != b"\x93NUMPY" or data[6] not in (1, 2):
        raise CodecError("refused an array that is not .npy bytes")
    if data[6] == 1:
        return 10 + struct.unpack("<H", data[8:10])[0]
    return 12 + struct.unpack("<I", data[8:12])[0]


@functools.lru_cache(maxsize=256)
def _npy_header(header: bytes) -> tuple[np.dtype, tuple[int, ...], bool, int]:
    """(dtype, shape, Fortran order, length of the header) of a .npy header, checked as np.load does."""
    stream = io.BytesIO(header)
    read = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    shape, fortran_order, dtype = read[np.lib.format.read_magic(stream)](stream)
    if dtype.kind not in ARRAY_KINDS or dtype.hasobject or dtype.fields is not None:
        raise CodecError(f"refused an array of dtype {dtype}")
    return dtype, shape, fortran_order, len(header)


def _is_tensor(value) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and type(value) is torch.Tensor


class _Pairs(list):
    """A dict with keys that are not all str, on its way to a MAP."""


def _mark_maps(obj, depth: int = 0):
    """msgpack packs every dict itself: mark those with other keys before it sees them."""
    if depth > MAX_DEPTH:
        raise CodecError(f"a value nested more than {MAX_DEPTH} levels deep")
    kind = type(obj)
    if kind is dict:
        items = [(key, _mark_maps(item, depth + 1)) for key, item in obj.items()]
        return dict(items) if all(type(key) is str for key in obj) else _Pairs(items)
    if kind in (list, tuple):
        return kind(_mark_maps(item, depth + 1) for item in obj)
    return obj


def encode(value, other) -> bytes:
    """Pack ``value``; ``other(obj)`` turns what is not plain data into an ExtType or raises."""
    torch = sys.modules.get("torch")

    def default(obj):
        kind = type(obj)
        if kind is _Pairs:
            if not all(type(key) in KEY_TYPES for key, _ in obj):
                return other(dict(obj))
            return msgpack.ExtType(MAP, pack([list(pair) for pair in obj]))
        if kind is tuple:
            return msgpack.ExtType(TUPLE, pack(list(obj)))
        if kind is np.ndarray and obj.dtype.kind in ARRAY_KINDS:
            return msgpack.ExtType(NDARRAY, _npy(obj))
        if isinstance(obj, np.generic) and kind.__module__ == "numpy" and obj.dtype.kind in ARRAY_KINDS:
            return msgpack.ExtType(NPSCALAR, _npy(np.asarray(obj)))
        if _is_tensor(obj):
            values = obj.detach().cpu()
            if values.dtype.is_floating_point and values.element_size() < 4:  # bfloat16 has no NumPy dtype
                values = values.float()
            return msgpack.ExtType(TENSOR, pack([str(obj.dtype), str(obj.device),
                                                 _npy(values.resolve_conj().numpy())]))
        if kind is np.random.Generator:
            state = obj.bit_generator.state
            return msgpack.ExtType(GENERATOR, pack(["numpy", state["bit_generator"], json.dumps(state)]))
        if torch is not None and kind is torch.Generator:
            return msgpack.ExtType(GENERATOR, pack(["torch", str(obj.device), bytes(obj.get_state().numpy())]))
        return other(obj)

    def pack(obj) -> bytes:
        try:
            return msgpack.packb(obj, default=default, strict_types=True, use_bin_type=True)
        except (TypeError, ValueError, OverflowError) as error:
            raise CodecError(str(error)) from None

    data = pack(_mark_maps(value))
    if len(data) > MAX_FRAME_BYTES:
        raise CodecError(f"a value of {len(data)} bytes is over the limit of {MAX_FRAME_BYTES}")
    return data


def decode(data: bytes, hooks: dict):
    """Unpack ``data``; ``hooks`` maps HANDLE and FIXTURE to functions of their unpacked payload.

    Bounded: at most MAX_ITEMS items (list and map entries, extension values) and MAX_DEPTH levels
    of nested extension values, whatever the frame claims.
    """
    items, depth = [0], [0]

    def count(n: int) -> None:
        items[0] += n
        if items[0] > MAX_ITEMS:
            raise CodecError(f"refused a value of more than {MAX_ITEMS} items")

    def counted_list(value):
        count(len(value))
        return value

    def counted_map(pairs):
        count(len(pairs))
        return dict(pairs)

    def ext_hook(code, payload):
        count(1)
        depth[0] += 1
        try:
            if depth[0] > MAX_DEPTH:
                raise CodecError(f"refused a value nested more than {MAX_DEPTH} levels deep")
            return decode_ext(code, payload)
        finally:
            depth[0] -= 1

    def decode_ext(code, payload):
        if code == NDARRAY:
            return _from_npy(payload)
        if code == NPSCALAR:
            return _from_npy(payload)[()]
        if code == TUPLE:
            return tuple(unpack(payload))
        if code == MAP:
            pairs = unpack(payload)
            if len(pairs) > MAX_MAP_KEYS:
                raise CodecError(f"refused a map of more than {MAX_MAP_KEYS} keys that are not all str")
            if not all(type(pair) is list and len(pair) == 2 and type(pair[0]) in KEY_TYPES for pair in pairs):
                raise CodecError("refused a map with keys that are not plain values")
            return dict(pairs)
        if code == TENSOR:
            import torch

            dtype_name, device, values = unpack(payload)
            dtype = getattr(torch, dtype_name.removeprefix("torch."), None)
            if not isinstance(dtype, torch.dtype):
                raise CodecError(f"refused a tensor of dtype {dtype_name}")
            return torch.from_numpy(_from_npy(values).copy()).to(device=device, dtype=dtype)
        if code == GENERATOR:
            return _generator(*unpack(payload))
        if code in hooks:
            return hooks[code](unpack(payload))
        raise CodecError(f"refused extension type {code}")

    def unpack(payload):
        return msgpack.unpackb(payload, ext_hook=ext_hook, list_hook=counted_list, object_pairs_hook=counted_map,
                               raw=False, strict_map_key=True, max_bin_len=MAX_FRAME_BYTES,
                               max_array_len=MAX_ITEMS, max_map_len=MAX_ITEMS, max_ext_len=MAX_FRAME_BYTES)

    try:
        return unpack(data)
    except CodecError:
        raise
    except Exception as error:  # malformed frames of any kind are refused, never half-decoded
        raise CodecError(f"{type(error).__name__}: {error}") from None


def _generator(library, name, state):
    if library == "numpy" and name in BIT_GENERATORS and type(state) is str:
        bit_generator = getattr(np.random, name)()
        bit_generator.state = json.loads(state)
        return np.random.Generator(bit_generator)
    if library == "torch" and type(name) is str and type(state) is bytes:
        import torch

        if torch.device(name).type not in ("cpu", "cuda"):
            raise CodecError(f"refused a generator on {name}")
        generator = torch.Generator(device=name)
        generator.set_state(torch.frombuffer(bytearray(state), dtype=torch.uint8))
        return generator
    raise CodecError(f"refused a {library} generator {name!r}")


def is_support_module(obj, support_modules) -> bool:
    """Whether ``obj`` is an nn.Module of a class from one of ``support_modules`` that keeps its config."""
    torch = sys.modules.get("torch")
    return (torch is not None and isinstance(obj, torch.nn.Module) and type(obj).__module__ in support_modules
            and type(getattr(obj, "config", None)) is dict)


def module_ext(obj) -> msgpack.ExtType:
    """The MODULE extension for a support module's nn.Module (see ``is_support_module``)."""
    def refuse(value):
        raise CodecError(f"a model's config and state hold plain data and tensors only, not {type(value).__name__}")

    kind = type(obj)
    state = {name: tensor.detach() for name, tensor in obj.state_dict().items()}
    return msgpack.ExtType(MODULE, encode([f"{kind.__module__}:{kind.__qualname__}", obj.config, state], refuse))


def build_module(payload, support_modules):
    """Rebuild a MODULE from this side's own copy of the support module.

    The parameters are made on the meta device and then take the tensors received, so a config
    asking for a huge model allocates nothing before the shapes are checked against the state.
    """
    import importlib

    import torch

    target, config, state = payload
    module_name, _, class_name = str(target).partition(":")
    if module_name not in support_modules or type(config) is not dict or type(state) is not dict \
            or not all(type(key) is str for key in config):
        raise CodecError(f"refused a model {target!r}")
    cls = getattr(importlib.import_module(module_name), class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
        raise CodecError(f"refused a model {target!r}: no such nn.Module in {module_name}")
    if not all(type(tensor) is torch.Tensor for tensor in state.values()):
        raise CodecError(f"refused a model {target!r}: its state holds something other than tensors")
    try:
        with torch.device("meta"):
            model = cls(**config)
        model.load_state_dict(state, strict=True, assign=True)
    except Exception as error:
        raise CodecError(f"refused a model {target!r}: {type(error).__name__}: {str(error)[:300]}") from None
    if any(t.is_meta for t in [*model.parameters(), *model.buffers()]):
        raise CodecError(f"refused a model {target!r}: its state does not cover every tensor")
    return model


def write_frame(fd: int, data: bytes) -> None:
    """Write one length-prefixed frame to a file descriptor."""
    view = memoryview(struct.pack(">I", len(data)) + data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def read_exactly(fd: int, size: int) -> bytes:
    """Read ``size`` bytes, or raise EOFError when the other side has closed."""
    chunks, remaining = [], size
    while remaining:
        chunk = os.read(fd, min(remaining, 2**20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> bytes:
    """Read one length-prefixed frame (blocking)."""
    (size,) = struct.unpack(">I", read_exactly(fd, 4))
    if size > MAX_FRAME_BYTES:
        raise CodecError(f"a frame of {size} bytes is over the limit of {MAX_FRAME_BYTES}")
    return read_exactly(fd, size)
