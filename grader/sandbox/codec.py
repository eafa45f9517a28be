"""Safe wire format for results sent from untrusted student code to the grader.

Student code runs in a child process and sends its outputs back to the trusted
grader over a pipe.  That crosses a trust boundary: the parent must never run
anything the child chose (so no pickle, no ``torch.load``, no ``np.load`` with
pickles), and a small message must never make it allocate a lot of memory.

A frame is (all integers big-endian)::

    b"GRD1" | u32 header_len | header | u32 n_buffers | n_buffers * (u64 len | bytes)

The header is a UTF-8 JSON object.  Its "tree" key describes the value; tensors
and arrays refer to raw little-endian buffers by index.  Tree nodes::

    {"t": "none"}                {"t": "bool", "v": true}
    {"t": "int", "v": "123"}     {"t": "float", "v": "1.5"}   ("nan", "inf", "-inf")
    {"t": "str", "v": "..."}
    {"t": "list", "items": [...]}     {"t": "tuple", "items": [...]}
    {"t": "dict", "items": [[key, value], ...]}       (keys: str or int nodes)
    {"t": "tensor", "dtype": "float32", "shape": [2, 3], "device": "cpu",
     "requires_grad": false, "buf": 0}
    {"t": "ndarray", "dtype": "float64", "shape": [3], "buf": 1}
    {"t": "npscalar", "dtype": "float32", "buf": 2}

``encode`` runs in the untrusted child and accepts only exact types (no
subclasses, nothing with custom behaviour), naming where a bad value sits, e.g.
``output[1]['m']``.  ``decode`` runs in the trusted parent: it checks every
length, count and nesting level before use and only builds fresh built-in
objects (int, float, str, list, tuple, dict, numpy arrays and scalars, torch
tensors) from copies of the bytes.  torch is imported only when needed.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import struct
import sys

import numpy as np

__all__ = [
    "MAGIC",
    "EncodeError",
    "DecodeError",
    "StreamTooLong",
    "encode",
    "encode_value",
    "frame",
    "Encoded",
    "decode",
    "FrameReader",
    "write_frame",
]

MAGIC = b"GRD1"

MAX_HEADER_BYTES = 1 << 20  # header JSON size
MAX_NODES = 100_000  # tree nodes per frame (also bounds the buffer count)
MAX_DEPTH = 64  # tree nesting accepted by decode
MAX_ENCODE_DEPTH = 32  # tree nesting produced by encode (a recursive structure stops here)
MAX_JSON_DEPTH = 3 * MAX_DEPTH + 8  # raw JSON nesting: one dict level costs 3 JSON levels
MAX_INT_DIGITS = 400
MAX_NDIM = 32
MAX_DIM = 1 << 62
DEFAULT_MAX_BYTES = 1 << 30

ARRAY_DTYPES = (
    "bool", "uint8", "int8", "int16", "int32", "int64",
    "float16", "float32", "float64", "complex64", "complex128",
)  # fmt: skip
TENSOR_DTYPES = ARRAY_DTYPES + ("bfloat16",)
_ACCELERATORS = ("cuda", "mps", "xpu")

_INT_RE = re.compile(r"-?[0-9]{1,%d}" % MAX_INT_DIGITS)
_FLOAT_RE = re.compile(r"-?(?:inf|nan|[0-9]{1,30}(?:\.[0-9]{0,30})?(?:e[+-]?[0-9]{1,3})?)")
_DEVICE_RE = re.compile(r"cpu|(?:%s)(?::[0-9]{1,4})?" % "|".join(_ACCELERATORS))
_JSON_TOKEN_RE = re.compile(rb'\\.|["\[\]{}]', re.DOTALL)

_NP_SCALAR_TYPES = {np.dtype(name).type: name for name in ARRAY_DTYPES}
#: dtype name -> (its little-endian wire dtype, the same in this machine's order), made once
_WIRE_DTYPES = {name: (wire, wire.newbyteorder("="))
                for name in TENSOR_DTYPES
                for wire in [np.dtype("int16" if name == "bfloat16" else name).newbyteorder("<")]}

_NODE_KEYS = {
    "none": {"t"},
    "bool": {"t", "v"},
    "int": {"t", "v"},
    "float": {"t", "v"},
    "str": {"t", "v"},
    "list": {"t", "items"},
    "tuple": {"t", "items"},
    "dict": {"t", "items"},
    "tensor": {"t", "dtype", "shape", "device", "requires_grad", "buf"},
    "ndarray": {"t", "dtype", "shape", "buf"},
    "npscalar": {"t", "dtype", "buf"},
}

_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")


class EncodeError(Exception):
    """The value holds something the wire format does not carry."""


class DecodeError(Exception):
    """A frame is malformed, oversized or holds something unexpected."""


class StreamTooLong(DecodeError):
    """A stream of frames passed its total byte limit (FrameReader's max_total_bytes)."""


def _short(obj, limit: int = 60) -> str:
    """repr() cut to ``limit`` characters, for error messages."""
    text = repr(obj)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _le_bytes(arr: np.ndarray) -> bytes:
    """Raw C-order little-endian bytes of a numpy array."""
    return arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes(order="C")


def _json_bytes(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


# --------------------------------------------------------------------------- encode


class _Encoder:
    """Turns a value into a JSON tree plus a list of raw buffers (child side)."""

    def __init__(self):
        self.buffers: list[bytes] = []
        self.nodes = 0
        self.torch = sys.modules.get("torch")  # no torch imported -> no tensors to see
        self._dtype_names: dict | None = None  # torch dtype -> its name, made at the first tensor

    def add_buffer(self, data: bytes) -> int:
        self.buffers.append(data)
        return len(self.buffers) - 1

    def node(self, v, path: str, depth: int) -> dict:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise EncodeError(f"output holds more than {MAX_NODES} values; return less (or stack them into a tensor)")
        if depth > MAX_ENCODE_DEPTH:
            raise EncodeError(f"{path} is nested more than {MAX_ENCODE_DEPTH} levels deep (a recursive structure?)")
        tp = type(v)
        if v is None:
            return {"t": "none"}
        if tp is bool:
            return {"t": "bool", "v": v}
        if tp is int:
            return {"t": "int", "v": self.int_text(v, path)}
        if tp is float:
            return {"t": "float", "v": repr(v)}
        if tp is str:
            return {"t": "str", "v": v}
        if tp is list or tp is tuple:
            items = [self.node(x, f"{path}[{i}]", depth + 1) for i, x in enumerate(v)]
            return {"t": "list" if tp is list else "tuple", "items": items}
        if tp is dict:
            return {"t": "dict", "items": [self.dict_item(k, x, path, depth) for k, x in v.items()]}
        torch = self.torch
        if torch is not None and issubclass(tp, torch.Tensor):
            if tp is torch.Tensor:
                return self.tensor(v, path)
            if tp is torch.nn.Parameter:
                raise EncodeError(f"{path} is a torch.nn.Parameter; return a plain tensor, e.g. param.detach().clone()")
            raise EncodeError(f"{path} is a {tp.__qualname__} (tensor subclass); return a plain torch.Tensor")
        if issubclass(tp, np.ndarray):
            if tp is np.ndarray:
                return self.ndarray(v, path)
            raise EncodeError(f"{path} is a {tp.__qualname__} (ndarray subclass); return a plain numpy.ndarray (np.asarray(x))")
        if tp in _NP_SCALAR_TYPES:
            name = _NP_SCALAR_TYPES[tp]
            return {"t": "npscalar", "dtype": name, "buf": self.add_buffer(_le_bytes(np.asarray(v)))}
        if issubclass(tp, np.generic):
            raise EncodeError(f"{path} is a numpy {tp.__name__} scalar, which cannot be sent; allowed dtypes: {', '.join(ARRAY_DTYPES)}")
        for base in (bool, int, float, str, list, tuple, dict):
            if issubclass(tp, base):
                if base is tuple and hasattr(tp, "_fields"):
                    raise EncodeError(f"{path} is a {tp.__qualname__} (namedtuple); return a plain tuple or dict")
                raise EncodeError(f"{path} is a {tp.__qualname__} (subclass of {base.__name__}); return a plain {base.__name__}")
        raise EncodeError(
            f"{path} is a {tp.__module__}.{tp.__qualname__}, which cannot be sent back; allowed: None, bool, int, "
            "float, str, list, tuple, dict, torch.Tensor, numpy.ndarray and numpy scalars"
        )

    @staticmethod
    def int_text(v: int, path: str) -> str:
        # bit_length first: str() of a huge int is slow and may raise ValueError.
        text = str(v) if v.bit_length() <= 4 * MAX_INT_DIGITS else ""
        if not text or len(text.lstrip("-")) > MAX_INT_DIGITS:
            raise EncodeError(f"{path} is an int with more than {MAX_INT_DIGITS} digits")
        return text

    def dict_item(self, k, x, path: str, depth: int) -> list:
        if type(k) is not str and type(k) is not int:
            raise EncodeError(f"{path} has a key {_short(k, 40)} of type {type(k).__qualname__}; only str and int keys can be sent")
        key_path = f"{path}[{_short(k, 40)}]"
        return [self.node(k, key_path, depth + 1), self.node(x, key_path, depth + 1)]

    def tensor(self, t, path: str) -> dict:
        torch = self.torch
        if self._dtype_names is None:
            self._dtype_names = {getattr(torch, n): n for n in TENSOR_DTYPES}
        name = self._dtype_names.get(t.dtype)
        if name is None:
            raise EncodeError(f"{path} is a tensor of dtype {t.dtype}, which cannot be sent; allowed: {', '.join(TENSOR_DTYPES)}")
        if t.layout != torch.strided or t.is_nested:
            raise EncodeError(f"{path} is a {t.layout} tensor; return a dense tensor (e.g. x.to_dense())")
        if t.is_meta:
            raise EncodeError(f"{path} is a meta tensor and has no data")
        try:
            c = t.detach().cpu().resolve_conj().resolve_neg().contiguous()
            if name == "bfloat16":
                c = c.view(torch.int16)
            data = _le_bytes(c.numpy())
        except Exception as e:  # odd tensors (functorch wrappers, ...): report, do not crash
            raise EncodeError(f"{path}: could not copy the tensor to CPU ({type(e).__name__}: {e})") from e
        return {
            "t": "tensor",
            "dtype": name,
            "shape": [int(d) for d in t.shape],
            "device": str(t.device),
            "requires_grad": bool(t.requires_grad),
            "buf": self.add_buffer(data),
        }

    def ndarray(self, a: np.ndarray, path: str) -> dict:
        if a.dtype.name not in ARRAY_DTYPES or a.dtype.fields is not None:
            raise EncodeError(f"{path} is an array of dtype {a.dtype}, which cannot be sent; allowed: {', '.join(ARRAY_DTYPES)}")
        return {"t": "ndarray", "dtype": a.dtype.name, "shape": list(a.shape), "buf": self.add_buffer(_le_bytes(a))}


class Encoded:
    """A value encoded once, to be framed under several headers (`frame`): its tree's JSON text
    and its buffers. The grader sends every student the same prepared calls. `key` names this
    encoding, unique in this process (a fork server's template holding it decoded is told which)."""

    _keys = itertools.count(1)

    def __init__(self, tree: bytes, buffers: list[bytes]):
        self.tree, self.buffers = tree, buffers
        self.size = len(tree) + sum(len(b) for b in buffers)
        self.key = next(Encoded._keys)
        self.reused = False  #: handed out again from the runner's cache: a class's calls, worth holding


def encode_value(value) -> Encoded:
    enc = _Encoder()
    return Encoded(_json_bytes(enc.node(value, "output", 0)), enc.buffers)


def encode(value, *, header: dict | None = None) -> bytes:
    """Frame ``value``; plain-JSON ``header`` keys are stored next to "tree"."""
    return frame(encode_value(value), header)


def frame(encoded: Encoded, header: dict | None = None) -> bytes:
    """The frame of an encoded value: the bytes `encode` gives (the header's JSON with "tree" as
    its last key, then the buffers)."""
    if header and "tree" in header:
        raise EncodeError('header key "tree" is reserved')
    try:
        head = _json_bytes(dict(header or {}))
    except (TypeError, ValueError) as e:
        raise EncodeError(f"header is not plain JSON: {e}") from e
    raw = b"".join([head[:-1], b',"tree":' if len(head) > 2 else b'"tree":', encoded.tree, b"}"])
    if len(raw) > MAX_HEADER_BYTES:
        raise EncodeError(
            f"output description is {len(raw)} bytes, more than {MAX_HEADER_BYTES}; "
            "too many values or too long strings (put numbers in a tensor or array)"
        )
    parts = [MAGIC, _U32.pack(len(raw)), raw, _U32.pack(len(encoded.buffers))]
    for buf in encoded.buffers:
        parts += [_U64.pack(len(buf)), buf]
    return b"".join(parts)


# --------------------------------------------------------------------------- decode


class _Cursor:
    """Bounds-checked reads from a memoryview."""

    def __init__(self, view: memoryview):
        self.view = view
        self.pos = 0

    def take(self, n: int, what: str, index: int | None = None) -> memoryview:
        """`n` bytes; `what` (with `index`: what % index) names them if they are not all there."""
        left = len(self.view) - self.pos
        if n > left:
            what = what % index if index is not None else what
            raise DecodeError(f"truncated frame: {what} needs {n} bytes, only {left} left")
        self.pos += n
        return self.view[self.pos - n : self.pos]

    def u32(self, what: str) -> int:
        return _U32.unpack(self.take(4, what))[0]

    def u64(self, what: str, index: int | None = None) -> int:
        return _U64.unpack(self.take(8, what, index))[0]


def _json_depth_ok(raw: bytes, limit: int) -> bool:
    """True if the JSON text nests at most ``limit`` levels (checked before json.loads recurses)."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return True  # no deeper than its opening brackets, those inside strings counted too
    depth = 0
    in_string = False
    for m in _JSON_TOKEN_RE.finditer(raw):
        tok = m.group()
        if tok == b'"':
            in_string = not in_string
        elif in_string or len(tok) == 2:  # bracket inside a string, or an escape
            continue
        elif tok in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return False
        else:
            depth -= 1
    return True


def _reject_constant(name: str):
    raise DecodeError(f"header contains the non-JSON constant {name}")


#: json.loads(text, parse_constant=_reject_constant) without building a decoder per header
_HEADER_JSON = json.JSONDecoder(parse_constant=_reject_constant)


def _parse_header(raw: bytes, from_grader: bool = False) -> dict:
    if not from_grader and not _json_depth_ok(raw, MAX_JSON_DEPTH):
        raise DecodeError(f"header JSON is nested more than {MAX_JSON_DEPTH} levels deep")
    try:
        text = raw.decode("utf-8")
        if text.startswith("\ufeff"):  # as json.loads says it
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        header = _HEADER_JSON.decode(text)
    except RecursionError:
        raise DecodeError("header JSON is nested too deeply") from None
    except ValueError as e:  # includes UnicodeDecodeError and JSONDecodeError
        raise DecodeError(f"header is not valid UTF-8 JSON: {e}") from None
    if type(header) is not dict or "tree" not in header:
        raise DecodeError('header is not a JSON object with a "tree" key')
    return header


class _Decoder:
    """Builds a fresh value from a checked tree and its buffers (trusted side)."""

    def __init__(self, buffers: list[memoryview], restore_devices: bool, max_bytes: int = DEFAULT_MAX_BYTES):
        self.buffers = buffers
        self.max_bytes = max_bytes
        self.used: set[int] = set()
        self.nodes = 0
        self.restore_devices = restore_devices
        self.devices: dict[str, str] = {}  #: each tensor's path -> the device it was sent from

    def node(self, n, path: str, depth: int):
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise DecodeError(f"more than {MAX_NODES} nodes")
        if depth > MAX_DEPTH:
            raise DecodeError(f"{path} is nested more than {MAX_DEPTH} levels deep")
        if type(n) is not dict:
            raise DecodeError(f"{path}: node is not a JSON object")
        t = n.get("t")
        keys = _NODE_KEYS.get(t) if type(t) is str else None
        if keys is None:
            raise DecodeError(f"{path}: unknown node type {_short(t)}")
        if n.keys() != keys:
            raise DecodeError(f"{path}: {t} node has keys {_short(sorted(n))}, expected {sorted(keys)}")

        if t == "none":
            return None
        if t in ("list", "tuple", "dict"):
            items = n["items"]
            if type(items) is not list:
                raise DecodeError(f"{path}: {t} items is not a list")
            if t == "dict":
                return self.dict(items, path, depth)
            values = [self.node(x, f"{path}[{i}]", depth + 1) for i, x in enumerate(items)]
            return values if t == "list" else tuple(values)
        if t in ("tensor", "ndarray", "npscalar"):
            return self.array(n, path)
        v = n["v"]
        if t == "bool":
            if type(v) is not bool:
                raise DecodeError(f"{path}: bool value is {_short(v)}")
            return v
        if type(v) is not str:
            raise DecodeError(f"{path}: {t} value is not a string")
        if t == "str":
            return v
        if t == "int":
            if not _INT_RE.fullmatch(v):
                raise DecodeError(f"{path}: bad int {_short(v)}")
            return int(v)
        if not _FLOAT_RE.fullmatch(v):
            raise DecodeError(f"{path}: bad float {_short(v)}")
        return float(v)

    def dict(self, items: list, path: str, depth: int) -> dict:
        out = {}
        for pair in items:
            if type(pair) is not list or len(pair) != 2:
                raise DecodeError(f"{path}: dict item is not a [key, value] pair")
            k, x = pair
            if type(k) is not dict or k.get("t") not in ("str", "int"):
                raise DecodeError(f"{path}: dict key is not a str or int node")
            key = self.node(k, f"{path} key", depth + 1)
            if key in out:
                raise DecodeError(f"{path}: duplicate key {_short(key)}")
            out[key] = self.node(x, f"{path}[{_short(key, 40)}]", depth + 1)
        return out

    def buffer(self, idx, path: str) -> memoryview:
        if type(idx) is not int or not 0 <= idx < len(self.buffers):
            raise DecodeError(f"{path}: buffer index {_short(idx)} out of range (have {len(self.buffers)})")
        if idx in self.used:
            raise DecodeError(f"{path}: buffer {idx} used twice")
        self.used.add(idx)
        return self.buffers[idx]

    def shape(self, shape, path: str) -> tuple[int, ...]:
        if type(shape) is not list or len(shape) > MAX_NDIM:
            raise DecodeError(f"{path}: shape must be a list of at most {MAX_NDIM} sizes")
        for d in shape:
            if type(d) is not int or not 0 <= d <= MAX_DIM:
                raise DecodeError(f"{path}: bad size {_short(d)} in shape")
        # An empty array holds no bytes whatever its other sizes: without this, [0, 2**62] would
        # pass the length check and reach the comparisons. Sizes (0 counted as 1) are bounded
        # by the frame's byte limit, as a non-empty array's are by its bytes.
        if math.prod(max(d, 1) for d in shape) > self.max_bytes:
            raise DecodeError(f"{path}: shape {_short(shape)} is larger than any result the grader accepts")
        return tuple(shape)

    def array(self, n: dict, path: str):
        t, name = n["t"], n["dtype"]
        allowed = TENSOR_DTYPES if t == "tensor" else ARRAY_DTYPES
        if type(name) is not str or name not in allowed:
            raise DecodeError(f"{path}: dtype {_short(name)} not allowed for {t}")
        shape = () if t == "npscalar" else self.shape(n["shape"], path)
        wire, native = _WIRE_DTYPES[name]
        count = math.prod(shape)
        buf = self.buffer(n["buf"], path)
        # The length check comes before any allocation: count is now bounded by the bytes we hold.
        if len(buf) != count * wire.itemsize:
            raise DecodeError(f"{path}: buffer has {len(buf)} bytes, shape {list(shape)} of {name} needs {count * wire.itemsize}")
        if name == "bool" and count and np.frombuffer(buf, np.uint8).max() > 1:
            raise DecodeError(f"{path}: bool buffer holds bytes other than 0 and 1")
        try:
            arr = np.frombuffer(buf, wire).astype(native)  # a fresh, writable copy
            arr = arr.reshape(shape)
        except ValueError as e:  # e.g. zero-size shape with absurd other sizes
            raise DecodeError(f"{path}: cannot build shape {list(shape)}: {e}") from None
        if t == "ndarray":
            return arr
        if t == "npscalar":
            return arr[()]
        return self.tensor(arr, n, path)

    def tensor(self, arr: np.ndarray, n: dict, path: str):
        import torch

        device, requires_grad = n["device"], n["requires_grad"]
        if type(requires_grad) is not bool:
            raise DecodeError(f"{path}: requires_grad is not a bool")
        if type(device) is not str or not _DEVICE_RE.fullmatch(device):
            raise DecodeError(f"{path}: bad device {_short(device)}")
        self.devices[path] = device
        out = torch.from_numpy(arr)
        if n["dtype"] == "bfloat16":
            out = out.view(torch.bfloat16)
        if device == "cpu" or not self.restore_devices:
            return out
        if not _device_available(torch, device):
            raise DecodeError(f"{path} is a tensor on {device}, which is not available to the grader")
        return out.to(device)


def _device_available(torch, device: str) -> bool:
    kind, _, index = device.partition(":")
    module = getattr(torch, kind, None)
    try:
        if module is None or not module.is_available():
            return False
        count = module.device_count() if hasattr(module, "device_count") else 1
    except Exception:
        return False
    return int(index or 0) < count


def decode(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, restore_devices: bool = True,
           from_grader: bool = False) -> tuple[dict, object]:
    """Check and decode one frame; return (header without "tree", value).

    Tensors recorded on another device are moved back there when
    ``restore_devices`` is true (DecodeError if that device is not available
    here); with ``restore_devices=False`` every tensor comes back on CPU, and
    ``header["tensor_devices"]`` still says where each one was: {path: device},
    e.g. {"output[0]": "cuda:0"} (set here, replacing any such key the sender wrote).

    ``from_grader``: the frame is a request the grader wrote (read in the child), so the scan of
    the header's nesting, which guards the grader against a hostile child's frames, is skipped
    (about 10 ms for a student's batch of the card problems). Every other check still runs.
    """
    view = memoryview(data).cast("B")
    if len(view) > max_bytes:
        raise DecodeError(f"frame is {len(view)} bytes, more than the limit of {max_bytes}")
    cur = _Cursor(view)
    if cur.take(4, "magic") != MAGIC:
        raise DecodeError("not a grader frame (bad magic)")
    header_len = cur.u32("header length")
    if header_len > MAX_HEADER_BYTES:
        raise DecodeError(f"header is {header_len} bytes, more than {MAX_HEADER_BYTES}")
    raw_header = bytes(cur.take(header_len, "header"))
    n_buffers = cur.u32("buffer count")
    if n_buffers > MAX_NODES:
        raise DecodeError(f"{n_buffers} buffers, more than {MAX_NODES}")
    buffers = [cur.take(cur.u64("length of buffer %d", i), "buffer %d", i) for i in range(n_buffers)]
    if cur.pos != len(view):
        raise DecodeError(f"{len(view) - cur.pos} trailing bytes after the last buffer")

    header = _parse_header(raw_header, from_grader)
    decoder = _Decoder(buffers, restore_devices, max_bytes)
    value = decoder.node(header.pop("tree"), "output", 0)
    if len(decoder.used) != n_buffers:
        raise DecodeError(f"{n_buffers - len(decoder.used)} buffers are not used by any node")
    if not restore_devices:
        header["tensor_devices"] = decoder.devices
    return header, value


# --------------------------------------------------------------------------- streams


class FrameReader:
    """Incremental reader for a stream of frames (bytes arrive in chunks from a pipe).

    Only the frame structure is checked here (magic and declared lengths
    against the caps, as soon as they arrive); pass each frame to ``decode``.
    """

    def __init__(self, max_frame_bytes: int, max_total_bytes: int):
        self.max_frame_bytes = max_frame_bytes
        self.max_total_bytes = max_total_bytes
        self._buf = bytearray()
        self._received = 0  # bytes fed so far
        self._done = 0  # bytes of frames already returned
        self._end = 0  # declared end of the current frame as far as parsed; 0 = new frame
        self._buffers_left: int | None = None  # None until the buffer count has arrived

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame held; non-zero at EOF means the stream was cut."""
        return len(self._buf)

    def feed(self, chunk: bytes) -> list[bytes]:
        """Add bytes; return the frames completed by them (possibly none)."""
        self._received += len(chunk)
        if self._received > self.max_total_bytes:
            raise StreamTooLong(f"stream is longer than {self.max_total_bytes} bytes")
        self._buf += chunk
        frames = []
        while self._advance():
            with memoryview(self._buf) as view:  # one copy of the frame, not a slice and then a copy
                frames.append(bytes(view[: self._end]))
            del self._buf[: self._end]
            self._done += self._end
            self._end, self._buffers_left = 0, None
        return frames

    def _declare(self, end: int) -> None:
        """Record that the current frame is at least ``end`` bytes long; enforce the caps."""
        if end > self.max_frame_bytes:
            raise DecodeError(f"frame declares at least {end} bytes, more than the limit of {self.max_frame_bytes}")
        if self._done + end > self.max_total_bytes:
            raise StreamTooLong(f"stream declares more than {self.max_total_bytes} bytes")
        self._end = end

    def _advance(self) -> bool:
        """Parse the current frame as far as the buffered bytes allow; True once it is complete."""
        buf = self._buf
        if self._end == 0:
            if buf[:4] != MAGIC[: len(buf[:4])]:
                raise DecodeError("not a grader frame (bad magic)")
            if len(buf) < 8:
                return False
            header_len = _U32.unpack_from(buf, 4)[0]
            if header_len > MAX_HEADER_BYTES:
                raise DecodeError(f"header is {header_len} bytes, more than {MAX_HEADER_BYTES}")
            self._declare(8 + header_len + 4)  # through the buffer count
        if self._buffers_left is None:
            if len(buf) < self._end:
                return False
            self._buffers_left = _U32.unpack_from(buf, self._end - 4)[0]
            if self._buffers_left > MAX_NODES:
                raise DecodeError(f"{self._buffers_left} buffers, more than {MAX_NODES}")
        while self._buffers_left:
            if len(buf) < self._end + 8:
                return False
            self._declare(self._end + 8 + _U64.unpack_from(buf, self._end)[0])
            self._buffers_left -= 1
        return len(buf) >= self._end


def write_frame(fd: int, frame: bytes) -> None:
    """Write the whole frame to ``fd`` (os.write may write only part)."""
    view = memoryview(frame).cast("B")
    while view:
        written = os.write(fd, view)
        view = view[written:]
