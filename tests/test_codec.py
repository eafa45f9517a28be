"""Tests for grader.sandbox.codec: round trips, encoder type checks and decoder attacks."""

import collections
import json
import math
import os
import struct
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from grader.sandbox import codec
from grader.sandbox.codec import MAGIC, DecodeError, EncodeError, FrameReader, decode, encode, write_frame

TORCH_DTYPES = {
    "bool": torch.bool, "uint8": torch.uint8, "int8": torch.int8, "int16": torch.int16,
    "int32": torch.int32, "int64": torch.int64, "float16": torch.float16, "bfloat16": torch.bfloat16,
    "float32": torch.float32, "float64": torch.float64, "complex64": torch.complex64,
    "complex128": torch.complex128,
}  # fmt: skip
NP_DTYPES = [name for name in TORCH_DTYPES if name != "bfloat16"]


def roundtrip(value, **kw):
    header, out = decode(encode(value), **kw)
    assert header == {}
    return out


def frame(header, buffers=()):
    """Build a frame by hand; header is a dict (JSON-encoded) or raw bytes."""
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    parts = [MAGIC, struct.pack(">I", len(raw)), raw, struct.pack(">I", len(buffers))]
    for buf in buffers:
        parts += [struct.pack(">Q", len(buf)), buf]
    return b"".join(parts)


def tensor_node(dtype="float32", shape=(2,), buf=0, device="cpu", **extra):
    node = {"t": "tensor", "dtype": dtype, "shape": list(shape), "device": device, "requires_grad": False, "buf": buf}
    node.update(extra)
    return node


def sample_tensor(name, shape):
    n = math.prod(shape)
    if name == "bool":
        return (torch.arange(n) % 3 == 0).reshape(shape)
    t = torch.arange(n, dtype=torch.float64).reshape(shape) - n / 2
    if name.startswith("complex"):
        t = torch.complex(t, -t)
    return t.to(TORCH_DTYPES[name])


def same_tensor(a, b):
    assert type(b) is torch.Tensor
    assert a.dtype == b.dtype and a.shape == b.shape and b.device == a.device
    if a.dtype == torch.bfloat16:
        a, b = a.view(torch.int16), b.view(torch.int16)
    return torch.equal(a.cpu(), b.cpu())


# ----------------------------------------------------------------- round trips


@pytest.mark.parametrize(
    "value",
    [
        None, True, False, 0, -5, 10**399, -(10**399), 1.5, -0.0, 1e-310, 1.7976931348623157e308,
        float("inf"), float("-inf"), "", "héllo ✓", "\ud800 lone surrogate", "x" * 10_000,
        [], (), {}, [1, (2.5, "a"), {"k": [None]}], (1,), {1: "int key", "1": "str key"},
    ],
)  # fmt: skip
def test_plain_values_roundtrip(value):
    out = roundtrip(value)
    assert out == value and type(out) is type(value)
    if type(value) is float:
        assert repr(out) == repr(value)  # keeps -0.0


def test_nan_roundtrip():
    assert math.isnan(roundtrip(float("nan")))


def test_nested_structure_types_preserved():
    value = {"a": [1, (2, [3, {"b": (None, True)}])], 7: ("x", [])}
    out = roundtrip(value)
    assert out == value
    assert type(out["a"][1]) is tuple and type(out["a"][1][1]) is list and type(out[7]) is tuple


def test_header_extras_roundtrip():
    header, value = decode(encode([1], header={"status": "ok", "time": 0.5, "n": [1, 2]}))
    assert header == {"status": "ok", "time": 0.5, "n": [1, 2]} and value == [1]


def test_header_must_be_plain_json():
    with pytest.raises(EncodeError):
        encode(1, header={"tree": 1})
    with pytest.raises(EncodeError):
        encode(1, header={"x": object()})
    with pytest.raises(EncodeError):
        encode(1, header={"x": float("nan")})


@pytest.mark.parametrize("name", list(TORCH_DTYPES))
@pytest.mark.parametrize("shape", [(2, 3), (), (0,), (3, 0, 2), (5,)])
def test_tensor_roundtrip(name, shape):
    t = sample_tensor(name, shape)
    out = roundtrip(t)
    assert same_tensor(t, out)


def test_tensor_result_is_fresh_and_writable():
    t = torch.arange(4.0)
    data = bytearray(encode(t))
    out = decode(data)[1]
    data[-16:] = bytes(16)  # the decoded tensor does not alias the frame
    out += 1
    assert out.tolist() == [1.0, 2.0, 3.0, 4.0]


def test_bfloat16_bits_exact():
    t = torch.tensor([1.5, -0.0, float("inf"), float("nan"), 3e38, 1e-40], dtype=torch.bfloat16)
    out = roundtrip(t)
    assert out.dtype == torch.bfloat16 and torch.equal(t.view(torch.int16), out.view(torch.int16))


def test_noncontiguous_and_view_tensors():
    base = torch.arange(24.0).reshape(4, 6)
    for t in [base.t(), base[:, ::2], base[1:3, 2:], base.expand(2, 4, 6), base.unsqueeze(0).transpose(0, 2)]:
        assert same_tensor(t.contiguous(), roundtrip(t))
    z = torch.tensor([1 + 2j, 3 - 4j])
    assert torch.equal(roundtrip(z.conj()), torch.tensor([1 - 2j, 3 + 4j]))
    assert torch.equal(roundtrip(torch._neg_view(base)), -base)


def test_requires_grad_dropped_but_recorded():
    t = torch.ones(3, requires_grad=True) * 2
    frame_bytes = encode(t)
    out = decode(frame_bytes)[1]
    assert not out.requires_grad and out.tolist() == [2.0, 2.0, 2.0]
    raw_header = frame_bytes[8 : 8 + struct.unpack(">I", frame_bytes[4:8])[0]]
    assert json.loads(raw_header)["tree"]["requires_grad"] is True


@pytest.mark.parametrize("name", NP_DTYPES)
@pytest.mark.parametrize("shape", [(2, 3), (), (0,), (2, 0)])
def test_ndarray_roundtrip(name, shape):
    a = sample_tensor(name, shape).numpy()
    out = roundtrip(a)
    assert type(out) is np.ndarray and out.dtype == a.dtype and out.shape == a.shape
    assert np.array_equal(out, a) and out.flags.writeable and out.flags.c_contiguous


def test_ndarray_layouts_and_byte_order():
    a = np.arange(12, dtype=np.float64).reshape(3, 4)
    for x in [a.T, a[:, ::2], np.asfortranarray(a), a.astype(">f8"), a.astype(">i4")[::-1]]:
        out = roundtrip(x)
        assert np.array_equal(out, x) and out.dtype == x.dtype.newbyteorder("=")


@pytest.mark.parametrize("name", NP_DTYPES)
def test_numpy_scalar_roundtrip(name):
    value = np.dtype(name).type(1)
    out = roundtrip(value)
    assert type(out) is type(value) and out == value


def test_numpy_float_nan_scalar():
    out = roundtrip([np.float32("nan"), np.float64(2.5)])
    assert type(out[0]) is np.float32 and np.isnan(out[0])
    assert type(out[1]) is np.float64 and out[1] == 2.5


def test_mixed_structure_with_arrays():
    value = {"logits": torch.randn(2, 3), "probs": np.ones(3, np.float32), "n": np.int64(3), "xs": [torch.zeros(0)]}
    out = roundtrip(value)
    assert same_tensor(value["logits"], out["logits"]) and np.array_equal(out["probs"], value["probs"])
    assert type(out["n"]) is np.int64 and out["xs"][0].shape == (0,)


def test_tensors_decoded_on_the_cpu_say_where_they_were_and_a_forged_note_is_replaced():
    data = frame({"tree": {"t": "list", "items": [tensor_node(device="cuda:0"), tensor_node(buf=1)]},
                  "tensor_devices": {"output[0]": "cpu"}},
                 [struct.pack("<2f", 1, 2), struct.pack("<2f", 3, 4)])
    header, out = decode(data, restore_devices=False)
    assert [t.device.type for t in out] == ["cpu", "cpu"]
    assert header["tensor_devices"] == {"output[0]": "cuda:0", "output[1]": "cpu"}


def test_device_not_cpu_is_restored_or_refused():
    data = frame({"tree": tensor_node(device="cuda:0")}, [struct.pack("<2f", 1, 2)])
    out = decode(data, restore_devices=False)[1]
    assert out.device.type == "cpu" and out.tolist() == [1.0, 2.0]
    if torch.cuda.is_available():
        assert decode(data)[1].device == torch.device("cuda:0")
    else:
        with pytest.raises(DecodeError, match="cuda:0"):
            decode(data)
    with pytest.raises(DecodeError, match="cuda:99"):
        decode(frame({"tree": tensor_node(device="cuda:99")}, [bytes(8)]))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_tensor_roundtrip():
    t = torch.arange(6.0, device="cuda").reshape(2, 3).t()
    out = roundtrip(t)
    assert out.device == t.device and torch.equal(out, t)


def test_numpy_only_use_does_not_import_torch():
    code = (
        "import sys, numpy as np\n"
        "from grader.sandbox import codec\n"
        "h, v = codec.decode(codec.encode({'a': np.zeros(3), 'b': [np.float32(1), 2]}))\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root))
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=root)


# ----------------------------------------------------------------- encoder rejects


class MyTensor(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return super().__torch_function__(func, types, args, kwargs or {})


class MyInt(int):
    pass


class AlwaysEqual:
    def __eq__(self, other):
        return True


Point = collections.namedtuple("Point", "x y")


@pytest.mark.parametrize(
    "value, message",
    [
        ([0, {"m": torch.ones(2).as_subclass(MyTensor)}], r"output\[1\]\['m'\] is a MyTensor \(tensor subclass\)"),
        (torch.nn.Parameter(torch.ones(2)), "Parameter"),
        ({"a": MyInt(3)}, r"output\['a'\] is a MyInt \(subclass of int\)"),
        ([AlwaysEqual()], r"output\[0\] is a .*AlwaysEqual"),
        (Point(1, 2), r"output is a Point \(namedtuple\)"),
        (type("S", (str,), {})("x"), "subclass of str"),
        (type("L", (list,), {})(), "subclass of list"),
        (type("D", (dict,), {})(), "subclass of dict"),
        (type("F", (float,), {})(1.0), "subclass of float"),
        (np.ma.masked_array([1, 2]), "ndarray subclass"),
        ({1, 2}, "set"),
        (b"bytes", "bytes"),
        ({1.5: "x"}, "key 1.5 of type float"),
        ({(1, 2): "x"}, "key"),
        ({True: "x"}, "key True of type bool"),
        (10**400, "more than 400 digits"),
        (np.array([object()]), "dtype object"),
        (np.zeros(2, np.uint16), "dtype uint16"),
        (np.float128(1) if hasattr(np, "float128") else np.uint16(1), "numpy"),
        (np.array(["a"]), "dtype <U1"),
        (torch.zeros(2, dtype=torch.uint16), "dtype torch.uint16"),
        (torch.zeros(2, 2).to_sparse(), "sparse"),
        (torch.empty(2, device="meta"), "meta"),
        (torch.float32, "torch.dtype"),
        (print, "builtin_function_or_method"),
    ],
)
def test_encode_rejects(value, message):
    with pytest.raises(EncodeError, match=message):
        encode(value)


def test_encode_rejects_recursion_and_depth():
    a = []
    a.append(a)
    with pytest.raises(EncodeError, match="nested more than 32"):
        encode(a)
    d = {}
    d["self"] = d
    with pytest.raises(EncodeError, match="recursive"):
        encode(d)
    deep = []
    for _ in range(33):
        deep = [deep]
    with pytest.raises(EncodeError):
        encode(deep)


def test_encode_deepest_allowed_dicts_decode():
    value = "leaf"
    for _ in range(codec.MAX_ENCODE_DEPTH):
        value = {"k": value}
    assert roundtrip(value) == value


def test_encode_rejects_oversized_header():
    with pytest.raises(EncodeError, match="more than"):
        encode(["x" * 1000] * 2000)


# ----------------------------------------------------------------- decoder attacks


GOOD = encode({"t": torch.arange(3.0), "a": np.arange(2), "s": [1, "x"]})


def test_good_frame_decodes():
    assert decode(GOOD)[1]["s"] == [1, "x"]


def test_wrong_magic():
    with pytest.raises(DecodeError, match="magic"):
        decode(b"GRD2" + GOOD[4:])
    with pytest.raises(DecodeError, match="magic"):
        decode(b"\x80\x04pickle" + GOOD)


def test_every_truncation_rejected():
    for i in range(len(GOOD)):
        with pytest.raises(DecodeError):
            decode(GOOD[:i])


def test_trailing_bytes_rejected():
    with pytest.raises(DecodeError, match="trailing"):
        decode(GOOD + b"\0")


def test_header_length_lies():
    header_len = struct.unpack(">I", GOOD[4:8])[0]
    for lie in [header_len - 1, header_len + 1, header_len + 100, 0, 2**32 - 1, codec.MAX_HEADER_BYTES + 1]:
        with pytest.raises(DecodeError):
            decode(GOOD[:4] + struct.pack(">I", lie) + GOOD[8:])


def test_oversized_total():
    with pytest.raises(DecodeError, match="limit"):
        decode(GOOD, max_bytes=len(GOOD) - 1)
    assert decode(GOOD, max_bytes=len(GOOD))[1]["s"] == [1, "x"]


def test_huge_buffer_count_and_length_rejected_fast():
    head = frame({"tree": {"t": "none"}})[:-4]
    with pytest.raises(DecodeError):
        decode(head + struct.pack(">I", 2**32 - 1))
    with pytest.raises(DecodeError, match="truncated"):
        decode(head + struct.pack(">I", 1) + struct.pack(">Q", 2**64 - 1) + b"abc")


@pytest.mark.parametrize(
    "node, buffers, message",
    [
        (tensor_node(shape=[3]), [bytes(8)], "needs 12"),  # buffer shorter than shape says
        (tensor_node(shape=[1]), [bytes(8)], "needs 4"),  # longer
        (tensor_node(shape=[-1]), [bytes(4)], "bad size"),
        (tensor_node(shape=[2**40, 2**40]), [bytes(4)], "larger than any result"),
        (tensor_node(shape=[2**70]), [bytes(4)], "bad size"),
        (tensor_node(shape=[0, 2**62, 2**62]), [b""], "larger than any result"),
        (tensor_node(shape=[0, 2**40]), [b""], "larger than any result"),
        (tensor_node(shape=[2**20, 0, 2**20]), [b""], "larger than any result"),
        (tensor_node(shape=[1] * 33), [bytes(4)], "shape"),
        (tensor_node(shape=[True]), [bytes(4)], "bad size"),
        (tensor_node(shape=[1.0]), [bytes(4)], "bad size"),
        (tensor_node(shape="2"), [bytes(8)], "shape"),
        (tensor_node(dtype="object"), [bytes(16)], "dtype"),
        (tensor_node(dtype="uint16"), [bytes(4)], "dtype"),
        (tensor_node(dtype=["float32"]), [bytes(8)], "dtype"),
        (tensor_node(dtype="bool", shape=[2]), [b"\x01\x02"], "bool buffer"),
        (tensor_node(device="evil"), [bytes(8)], "bad device"),
        (tensor_node(device="cuda:0; rm"), [bytes(8)], "bad device"),
        (tensor_node(requires_grad="yes"), [bytes(8)], "requires_grad"),
        (tensor_node(buf=1), [bytes(8)], "out of range"),
        (tensor_node(buf=-1), [bytes(8)], "out of range"),
        (tensor_node(buf=True), [bytes(8)], "out of range"),
        (tensor_node(buf=0, extra=1), [bytes(8)], "keys"),
        ({"t": "tensor", "dtype": "float32", "shape": [2], "buf": 0}, [bytes(8)], "keys"),
        ({"t": "ndarray", "dtype": "bfloat16", "shape": [1], "buf": 0}, [bytes(2)], "dtype"),
        ({"t": "npscalar", "dtype": "float32", "buf": 0}, [bytes(8)], "needs 4"),
        ({"t": "npscalar", "dtype": "bool", "buf": 0}, [b"\x07"], "bool buffer"),
        ({"t": "list", "items": [tensor_node(), tensor_node()]}, [bytes(8)], "used twice"),
        ({"t": "none"}, [bytes(8)], "not used"),
        ({"t": "pickle", "v": "cos\nsystem"}, [], "unknown node type"),
        ({"t": "none", "v": 1}, [], "keys"),
        ([], [], "not a JSON object"),
        ({}, [], "unknown node type"),
        ({"t": 1}, [], "unknown node type"),
        ({"t": "bool", "v": 1}, [], "bool value"),
        ({"t": "int", "v": 5}, [], "not a string"),
        ({"t": "int", "v": "1_000"}, [], "bad int"),
        ({"t": "int", "v": " 1"}, [], "bad int"),
        ({"t": "int", "v": "\u0661\u0662"}, [], "bad int"),  # Arabic-Indic digits: int() would accept them
        ({"t": "int", "v": "9" * 401}, [], "bad int"),
        ({"t": "float", "v": "1_0.5"}, [], "bad float"),
        ({"t": "float", "v": "infinity"}, [], "bad float"),
        ({"t": "float", "v": "NaN"}, [], "bad float"),
        ({"t": "float", "v": "1" * 5000}, [], "bad float"),
        ({"t": "str", "v": None}, [], "not a string"),
        ({"t": "list", "items": {}}, [], "not a list"),
        ({"t": "dict", "items": [[{"t": "str", "v": "a"}]]}, [], "pair"),
        ({"t": "dict", "items": [[{"t": "float", "v": "1.0"}, {"t": "none"}]]}, [], "key"),
        ({"t": "dict", "items": [[{"t": "list", "items": []}, {"t": "none"}]]}, [], "key"),
        ({"t": "dict", "items": [[{"t": "int", "v": "1"}, {"t": "none"}]] * 2}, [], "duplicate"),
    ],
)
def test_malformed_trees(node, buffers, message):
    with pytest.raises(DecodeError, match=message):
        decode(frame({"tree": node}, buffers))


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"tree":' + b'{"a":' * 100_000 + b"1" + b"}" * 100_001,
        b'{"tree":' + b"[" * 100_000,
        b'{"tree": {"t": "float", "v": NaN}}',
        b'{"tree": {"t": "none"}',
        b'{"tree": {"t": "str", "v": "\xff"}}',
        b"[1, 2]",
        b'{"no_tree": 1}',
        b"",
    ],
)
def test_malformed_headers(raw):
    with pytest.raises(DecodeError):
        decode(frame(raw))


def test_depth_prescan_ignores_brackets_in_strings():
    value = {"s": "[[[{{{" * 1000, "e": '\\"[[[' * 500}
    assert roundtrip(value) == value


def test_tree_depth_limit():
    node = {"t": "none"}
    for _ in range(codec.MAX_DEPTH + 1):
        node = {"t": "list", "items": [node]}
    with pytest.raises(DecodeError, match="nested more than"):
        decode(frame({"tree": node}))


def test_too_many_nodes(monkeypatch):
    monkeypatch.setattr(codec, "MAX_NODES", 10)
    with pytest.raises(DecodeError, match="more than 10 nodes"):
        decode(frame({"tree": {"t": "list", "items": [{"t": "none"}] * 10}}))
    decode(frame({"tree": {"t": "list", "items": [{"t": "none"}] * 9}}))
    with pytest.raises(EncodeError, match="more than 10"):
        encode([None] * 10)


# ----------------------------------------------------------------- FrameReader / write_frame

FRAMES = [encode([1, "two", torch.arange(3)]), encode({"x": np.zeros((2, 2))}, header={"i": 1}), encode(None)]
STREAM = b"".join(FRAMES)


def test_frame_reader_every_split_point():
    for i in range(len(STREAM) + 1):
        reader = FrameReader(max_frame_bytes=10_000, max_total_bytes=10_000)
        assert reader.feed(STREAM[:i]) + reader.feed(STREAM[i:]) == FRAMES
        assert reader.pending == 0


def test_frame_reader_byte_by_byte():
    reader = FrameReader(max_frame_bytes=10_000, max_total_bytes=10_000)
    got = []
    for i in range(len(STREAM)):
        got += reader.feed(STREAM[i : i + 1])
    assert got == FRAMES
    for f in got:
        decode(f)


def test_frame_reader_partial_frame_pending():
    reader = FrameReader(max_frame_bytes=10_000, max_total_bytes=10_000)
    assert reader.feed(FRAMES[0] + FRAMES[1][:5]) == [FRAMES[0]]
    assert reader.pending == 5


def test_frame_reader_rejects_bad_magic_at_first_byte():
    reader = FrameReader(max_frame_bytes=10_000, max_total_bytes=10_000)
    with pytest.raises(DecodeError, match="magic"):
        reader.feed(b"X")
    reader = FrameReader(max_frame_bytes=10_000, max_total_bytes=10_000)
    assert reader.feed(FRAMES[2]) == [FRAMES[2]]
    with pytest.raises(DecodeError, match="magic"):
        reader.feed(b"GRD\x00")


def test_frame_reader_raises_on_declared_buffer_length_before_body():
    head = frame({"tree": tensor_node(shape=[2**28])})[:-4] + struct.pack(">I", 1)
    reader = FrameReader(max_frame_bytes=1 << 20, max_total_bytes=1 << 30)
    assert reader.feed(head) == []
    with pytest.raises(DecodeError, match="limit"):
        reader.feed(struct.pack(">Q", 2**30))  # the declared 1 GiB body never has to arrive


def test_frame_reader_raises_on_header_length():
    reader = FrameReader(max_frame_bytes=1000, max_total_bytes=10_000)
    with pytest.raises(DecodeError, match="limit"):
        reader.feed(MAGIC + struct.pack(">I", 5000))
    reader = FrameReader(max_frame_bytes=1 << 30, max_total_bytes=1 << 30)
    with pytest.raises(DecodeError, match="header"):
        reader.feed(MAGIC + struct.pack(">I", 2**32 - 1))


def test_frame_reader_total_cap():
    size = len(FRAMES[0])
    reader = FrameReader(max_frame_bytes=size, max_total_bytes=size + 20)
    assert reader.feed(FRAMES[0]) == [FRAMES[0]]
    with pytest.raises(DecodeError):
        reader.feed(FRAMES[0][:12])  # the second frame's header already declares too much
    reader = FrameReader(max_frame_bytes=size, max_total_bytes=size - 1)
    with pytest.raises(DecodeError):
        reader.feed(FRAMES[0])


def test_write_frame_large_through_pipe():
    data = encode(torch.arange(300_000, dtype=torch.float64))  # bigger than a pipe buffer
    r, w = os.pipe()
    received = bytearray()

    def drain():
        while chunk := os.read(r, 65536):
            received.extend(chunk)

    thread = threading.Thread(target=drain)
    thread.start()
    try:
        write_frame(w, data)
    finally:
        os.close(w)
        thread.join()
        os.close(r)
    reader = FrameReader(max_frame_bytes=len(data), max_total_bytes=len(data))
    assert reader.feed(bytes(received)) == [data]
    assert torch.equal(decode(data)[1], torch.arange(300_000, dtype=torch.float64))


def test_a_request_from_the_grader_decodes_the_same_without_the_depth_scan():
    """The child skips the header's nesting scan for the grader's own request (`from_grader`);
    the value and header are the same, and a child's frame is still scanned."""
    value = {"calls": [{"args": [np.arange(6.0).reshape(2, 3), [1, [2, [3]]]], "kwargs": {"k": "v"}}] * 30}
    frame = codec.encode(value, header={"framework": "torch"})
    plain, trusted = codec.decode(frame), codec.decode(frame, from_grader=True)
    assert plain[0] == trusted[0]
    assert repr(plain[1]) == repr(trusted[1])
    deep = codec.MAGIC + b""  # a hand-made frame nested past the limit: refused unless from the grader
    raw = ("[" * (codec.MAX_JSON_DEPTH + 5) + "]" * (codec.MAX_JSON_DEPTH + 5)).encode()
    header = b'{"tree": {"t": "none"}, "x": ' + raw + b"}"
    deep += codec._U32.pack(len(header)) + header + codec._U32.pack(0)
    with pytest.raises(codec.DecodeError, match="nested"):
        codec.decode(deep)


def test_truncation_and_header_messages_name_what_is_missing_as_before():
    """The decoder builds labels only when a read fails, keeps one JSON decoder for every header
    and its wire dtypes made once: the messages are the ones json.loads and eager labels gave."""
    buffers = [b"\x01" * 8, b"\x02" * 3, b"\x03" * 16]
    whole = frame({"tree": {"t": "list", "items": [{"t": "none"}]}}, buffers)
    start = len(whole) - sum(8 + len(b) for b in buffers)
    for cut in range(start, len(whole)):
        pos, index, what = start, None, None
        for i, buf in enumerate(buffers):
            if cut < pos + 8:
                index, what, need, left = i, f"length of buffer {i}", 8, cut - pos
                break
            if cut < pos + 8 + len(buf):
                index, what, need, left = i, f"buffer {i}", len(buf), cut - pos - 8
                break
            pos += 8 + len(buf)
        with pytest.raises(DecodeError) as caught:
            decode(whole[:cut])
        assert str(caught.value) == f"truncated frame: {what} needs {need} bytes, only {left} left", cut
    for raw in ('\ufeff{"tree": {"t": "none"}}'.encode(), b'{"tree": {"t": "float", "v": Infinity}}', b'{"tree": 1,}'):
        try:
            json.loads(raw.decode("utf-8"), parse_constant=codec._reject_constant)
            want = None
        except DecodeError as exc:
            want = str(exc)
        except ValueError as exc:
            want = f"header is not valid UTF-8 JSON: {exc}"
        with pytest.raises(DecodeError) as caught:
            decode(frame(raw))
        assert want is not None and str(caught.value) == want
    for name in TORCH_DTYPES:
        wire, native = codec._WIRE_DTYPES[name]
        made = np.dtype("int16" if name == "bfloat16" else name).newbyteorder("<")
        assert (wire, native) == (made, made.newbyteorder("=")) and wire.byteorder in "<|="
