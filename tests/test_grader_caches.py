"""What the grader keeps between jobs to spend less CPU (parsed sources, bank paths, encoded
requests, float64 copies) never gives one student, problem or environment another's answer."""
from __future__ import annotations

import json
import os
from pathlib import Path

from click.testing import CliRunner

from grader.cli.main import main
from grader.problems import source
from grader.problems.source import check_sources

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

SIGMOID = (EXAMPLES / "sigmoid-backward" / "correct.py").read_text()
ADAM = (EXAMPLES / "adam-step" / "correct.py").read_text().replace("import torch\n", "")
AUTOGRAD_SIGMOID = """import torch


def sigmoid_backward(x, grad_output):
    x = x.detach().requires_grad_(True)
    torch.sigmoid(x).backward(grad_output)
    return x.grad
"""


def grade_class(tmp_path: Path, students: dict[str, dict[str, str]], problems: list[str]) -> dict:
    """Grade a class of folder students through the CLI; student -> problem -> (score, max, error)."""
    for student, files in students.items():
        for name, text in files.items():
            (tmp_path / "class" / student).mkdir(parents=True, exist_ok=True)
            (tmp_path / "class" / student / name).write_text(text)
    assignment = tmp_path / "a.yaml"
    assignment.write_text("name: caches\nproblems: [" + ", ".join(problems) + "]\n")
    result = CliRunner().invoke(main, ["grade", str(tmp_path / "class"), "--assignment", str(assignment),
                                       "--out", str(tmp_path / "out"), "--jobs", "2", "--no-progress"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    found = {}
    for student in students:
        data = json.loads((tmp_path / "out" / "students" / f"{student}.json").read_text())
        found[student] = {p["problem"]: (p["score"], p["max_score"], p.get("error") or "") for p in data["problems"]}
    return found


def test_two_students_same_file_name_different_code_each_get_their_own_verdict(tmp_path):
    graded = grade_class(tmp_path, {
        "ann": {"solution.py": SIGMOID},
        "ben": {"solution.py": AUTOGRAD_SIGMOID},
        "cat": {"solution.py": SIGMOID},
    }, ["sigmoid-backward"])
    for student in ("ann", "cat"):
        score, best, error = graded[student]["sigmoid-backward"]
        assert score == best and not error
    score, _, error = graded["ben"]["sigmoid-backward"]
    assert score == 0 and "Tensor.backward" in error


def test_one_file_two_problems_with_different_forbidden_lists(tmp_path):
    """sigmoid-backward forbids Tensor.backward and adam-step torch.optim: one file, checked for
    both at once, fails each for its own API only."""
    uses_optim = "import torch.optim\n"
    graded = grade_class(tmp_path, {
        "dan": {"solution.py": SIGMOID + "\n\n" + ADAM},
        "eve": {"solution.py": AUTOGRAD_SIGMOID + "\n\n" + ADAM},
        "fay": {"solution.py": uses_optim + SIGMOID + "\n\n" + ADAM},
    }, ["sigmoid-backward", "adam-step"])
    assert all(score == best and not error for score, best, error in graded["dan"].values())
    sigmoid, adam = graded["eve"]["sigmoid-backward"], graded["eve"]["adam-step"]
    assert sigmoid[0] == 0 and "Tensor.backward" in sigmoid[2]
    assert adam[0] == adam[1] and not adam[2]
    sigmoid, adam = graded["fay"]["sigmoid-backward"], graded["fay"]["adam-step"]
    assert sigmoid[0] == sigmoid[1] and not sigmoid[2]
    assert adam[0] == 0 and "torch.optim" in adam[2]


def test_source_cache_keys_on_name_bytes_entry_point_and_forbidden_list():
    code = AUTOGRAD_SIGMOID.encode() + b"\nimport torch.optim\n"
    for forbidden, api in ((["torch.optim"], "torch.optim"), (["Tensor.backward"], "Tensor.backward"),
                           (["torch.optim"], "torch.optim")):  # each answer twice from the cache too
        for _ in range(2):
            check = check_sources({"a.py": code}, "sigmoid_backward", forbidden)
            assert {u.api for u in check.uses} == {api} and {u.file for u in check.uses} == {"a.py"}
    assert check_sources({"a.py": code}, "sigmoid_backward", []).uses == []
    assert check_sources({"a.py": code}, "sigmoid_backward", []).defining == ["a.py"]
    assert check_sources({"a.py": code}, "adam_step", []).defining == []
    # The same bytes under another name: messages name that file.
    broken = b"def f(:\n    pass\n"
    assert "a.py" in check_sources({"a.py": broken}, "f", []).errors["a.py"]
    assert "b.py" in check_sources({"b.py": broken}, "f", []).errors["b.py"]
    # The same name with other bytes: that file's own answer.
    assert check_sources({"a.py": SIGMOID.encode()}, "sigmoid_backward", ["Tensor.backward"]).uses == []
    # The submission's own methods decide for method entries: another file beside it changes the answer.
    layer = b"class Layer:\n    def backward(self, g):\n        return g\n"
    calls = b"def step(model, loss):\n    loss.backward()\n"
    assert len(check_sources({"a.py": calls}, "step", ["Tensor.backward"]).uses) == 1
    assert check_sources({"a.py": calls, "layer.py": layer}, "step", ["Tensor.backward"]).uses == []
    assert len(check_sources({"a.py": calls}, "step", ["Tensor.backward"]).uses) == 1


def test_source_cache_stays_within_its_bounds(monkeypatch):
    import hashlib

    from grader.sandbox.lru import LRUCache

    for i in range(source.CACHE_FILES * 3):
        check_sources({"s.py": f"x = {i}\n".encode()}, "x", [])
    assert len(source._PARSED) == source.CACHE_FILES
    # The last files checked are the ones kept, the most recent last.
    assert source._PARSED.keys()[-2:] == [("s.py", hashlib.sha256(f"x = {i}\n".encode()).digest())
                                          for i in (source.CACHE_FILES * 3 - 2, source.CACHE_FILES * 3 - 1)]
    monkeypatch.setattr(source, "_PARSED", LRUCache(source.CACHE_FILES, 16 << 10))
    big = b"x = 1\n" * 1000
    files = [big + f"y = {i}\n".encode() for i in range(20)]
    for data in files:
        check_sources({"s.py": data}, "x", [])
    kept = [("s.py", hashlib.sha256(data).digest()) for data in files[-2:]]  # two fit in 16 KB, three do not
    assert source._PARSED.keys() == kept
    assert source._PARSED.bytes_held == sum(len(data) for data in files[-2:]) <= 16 << 10
    check_sources({"s.py": b"z = 1\n" * 3000}, "x", [])  # larger than the whole bound: not kept
    assert source._PARSED.keys() == kept
    assert check_sources({"s.py": files[-1]}, "x", []).defining == ["s.py"]  # a hit: parsed nothing
    assert source._PARSED.keys() == kept


# ---------------------------------------------------------------- the bounded cache itself

def test_lru_cache_evicts_the_least_recently_used_first_by_count():
    from grader.sandbox.lru import LRUCache

    cache = LRUCache(max_items=3)
    for key in "abc":
        assert cache.put(key, key.upper())
    assert cache.get("a") == "A"  # a hit: "a" is now the most recent
    assert cache.put("d", "D")
    assert cache.keys() == ["c", "a", "d"] and cache.get("b") is None and len(cache) == 3
    assert cache.get("missing", "default") == "default"
    cache.put("c", "C2")  # replacing refreshes too
    cache.put("e", "E")
    assert cache.keys() == ["d", "c", "e"] and cache.get("c") == "C2"


def test_lru_cache_evicts_the_least_recently_used_first_by_bytes():
    from grader.sandbox.lru import LRUCache

    cache = LRUCache(max_items=100, max_bytes=10)
    cache.put("a", 1, 4)
    cache.put("b", 2, 4)
    assert cache.bytes_held == 8 and cache.get("a") == 1
    cache.put("c", 3, 4)  # 12 bytes: the least recently used ("b") goes
    assert cache.keys() == ["a", "c"] and cache.bytes_held == 8
    cache.put("d", 4, 9)  # both older ones go
    assert cache.keys() == ["d"] and cache.bytes_held == 9
    cache.put("d", 5, 2)  # replaced: its old size no longer counts
    assert cache.bytes_held == 2 and cache.sizes() == {"d": 2}


def test_lru_cache_does_not_keep_an_item_larger_than_its_bound():
    from grader.sandbox.lru import LRUCache

    cache = LRUCache(max_items=10, max_bytes=10)
    cache.put("a", 1, 5)
    assert not cache.put("huge", 2, 11)
    assert cache.keys() == ["a"] and cache.bytes_held == 5 and cache.get("huge") is None
    assert cache.put("whole", 3, 10)  # exactly the bound: kept, alone
    assert cache.keys() == ["whole"]
    quarter = LRUCache(max_items=10, max_bytes=100, max_item_bytes=25)
    assert quarter.put("fits", 1, 25) and not quarter.put("over", 2, 26)
    assert quarter.keys() == ["fits"]


def test_lru_cache_from_many_threads_keeps_its_count_and_bytes():
    """Grading threads share the caches. With the interpreter switching threads every microsecond,
    an unlocked put interleaves with another's eviction (a byte count off, or popitem on an empty
    dict); the lock keeps each put whole."""
    import sys
    import threading

    from grader.sandbox.lru import LRUCache

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    cache = LRUCache(max_items=50, max_bytes=400)

    def churn(offset):
        for i in range(2000):
            cache.put((offset, i % 80), i, 1 + i % 13)
            cache.get((offset, (i * 7) % 80))

    errors = []

    def run(offset):
        try:
            churn(offset)
        except Exception as exc:  # noqa: BLE001 - what an unlocked cache raises
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(t,)) for t in range(4)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    assert len(cache) <= 50 and cache.bytes_held == sum(cache.sizes().values()) <= 400


# ---------------------------------------------------------------- request frames encoded once

def plain_frame(frame: bytes, call_lists, nested: bool) -> bytes:
    """The frame `codec.encode` gives for this frame's header and these calls, built afresh."""
    import struct

    from grader.sandbox import codec
    from grader.sandbox.runner import call_payload

    size = struct.unpack(">I", frame[4:8])[0]
    header = json.loads(frame[8:8 + size])
    del header["tree"]
    lists = [[call_payload(c) for c in calls] for calls in call_lists]
    return codec.encode(lists if nested else lists[0], header=header)


def test_request_frames_encoded_once_equal_the_plain_encoding(tmp_path):
    import numpy as np
    import torch

    from grader.limits import Limits
    from grader.sandbox import runner
    from grader.sandbox.runner import Call, Job, batch_frame, batch_payload, batch_request_header, request_frame

    def call(name, *args, **kwargs):
        return Call(name=name, args=list(args), kwargs=kwargs, text=f"f({name})", timing={"repeat": 3} if kwargs else None)

    first = [call("a", torch.arange(6.0).reshape(2, 3), 2), call("b", np.ones(3, np.float32), "x", key=(1, 2.5))]
    second = [call("c", torch.tensor([1, 2], dtype=torch.int64), None)]
    other_seed = [call("a", torch.arange(6.0).reshape(2, 3) + 1, 2), first[1]]

    def job(calls, student):
        return Job(files={"s.py": student.encode()}, module="s.py", entry_point="f", framework="torch",
                   calls=calls, limits=Limits(), label=student)

    frames = []
    for student in ("ann", "ben", "ann"):  # the second and third from the cache
        for calls in ([first, second], [other_seed, second], [second]):
            jobs = [job(c, student) for c in calls]
            frame = batch_frame(batch_request_header(jobs, str(tmp_path / student), 3), batch_payload(jobs))
            assert frame == plain_frame(frame, calls, nested=True)
            frames.append(frame)
            single = request_frame(jobs[0], calls[0], str(tmp_path / student), 3)
            assert single == plain_frame(single, calls[:1], nested=False)
    assert frames[:3] == frames[6:] and frames[0] != frames[3]  # the same request again; another seed's inputs
    assert 0 < len(runner._ENCODED) <= runner.ENCODED_LISTS


def test_encoded_calls_stay_within_their_bounds(monkeypatch):
    from grader.sandbox import runner
    from grader.sandbox.lru import LRUCache
    from grader.sandbox.runner import Call, encoded_calls

    monkeypatch.setattr(runner, "_ENCODED", LRUCache(runner.ENCODED_LISTS, 4000, max_item_bytes=1000))
    calls = [[Call(name=str(i), args=["y" * 500], kwargs={}, text="f()")] for i in range(runner.ENCODED_LISTS * 2)]
    sizes = [encoded_calls([c], nested=True).size for c in calls]
    assert all(500 < size <= 1000 for size in sizes)
    assert 0 < len(runner._ENCODED) < runner.ENCODED_LISTS
    assert runner._ENCODED.bytes_held == sum(runner._ENCODED.sizes().values()) <= 4000
    assert runner._ENCODED.bytes_held + sizes[-1] > 4000  # full: one more would not fit
    newest = runner._ENCODED.keys()[-1]
    assert newest == (True, ((id(calls[-1][0]),),))
    # A hit gives the same encoding and refreshes it; a payload over the item bound is not kept.
    oldest = calls[len(calls) - len(runner._ENCODED)]
    assert runner._ENCODED.keys()[0] == (True, ((id(oldest[0]),),))
    again = encoded_calls([oldest], nested=True)
    assert runner._ENCODED.keys()[-1] == (True, ((id(oldest[0]),),))
    assert again is runner._ENCODED.get(runner._ENCODED.keys()[-1])[1]
    before = runner._ENCODED.keys()
    big = encoded_calls([[Call(name="big", args=["z" * 2000], kwargs={}, text="f()")]], nested=True)
    assert big.size > 1000 and runner._ENCODED.keys() == before


# ---------------------------------------------------------------- private paths kept per setting

def test_private_paths_follow_the_environment_root_and_folder(tmp_path, monkeypatch):
    from grader.problems.locations import private_paths

    monkeypatch.delenv("GRADER_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert str(tmp_path / "xdg" / "grader") in private_paths()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg2"))
    assert str(tmp_path / "xdg2" / "grader") in private_paths()
    assert str(tmp_path / "xdg" / "grader") not in private_paths()
    monkeypatch.setenv("GRADER_CACHE_DIR", str(tmp_path / "cache"))
    assert str(tmp_path / "cache") in private_paths()
    monkeypatch.setenv("GRADER_BANK", str(tmp_path / "bank"))
    assert str(tmp_path / "bank" / "reference") in private_paths()
    assert str(tmp_path / "other" / "problems") in private_paths(tmp_path / "other")
    assert str(tmp_path / "other" / "problems") not in private_paths()
    monkeypatch.setenv("GRADER_CACHE_DIR", "relative-cache")
    monkeypatch.chdir(tmp_path)
    assert str(tmp_path / "relative-cache") in private_paths()
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    assert str(tmp_path / "sub" / "relative-cache") in private_paths()
    private_paths().append("changed by a caller")
    assert "changed by a caller" not in private_paths()


def test_private_paths_keeps_a_bounded_number_of_settings_the_latest_used(tmp_path, monkeypatch):
    from grader.problems import locations
    from grader.problems.locations import private_paths
    from grader.sandbox.lru import LRUCache

    resolved = []  # the settings private_paths worked out afresh (not from its cache)
    cache_folder = locations.cache_folder
    monkeypatch.setattr(locations, "cache_folder", lambda: resolved.append(os.environ["XDG_CACHE_HOME"]) or cache_folder())
    monkeypatch.delenv("GRADER_CACHE_DIR", raising=False)
    monkeypatch.setattr(locations, "_private", LRUCache(max_items=4))

    def paths(folder):
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / folder))
        found = private_paths()
        assert str(tmp_path / folder / "grader") in found
        return found

    for i in range(10):
        paths(f"xdg{i}")
        paths("xdg0")  # used again each time: kept
        assert len(locations._private) <= 4
    assert resolved == [str(tmp_path / f"xdg{i}") for i in range(10)]
    resolved.clear()
    for folder in ("xdg9", "xdg8", "xdg7", "xdg0", "xdg6", "xdg0"):  # xdg6 pushes out the least recent
        paths(folder)
    assert resolved == [str(tmp_path / "xdg6")]
    paths("xdg9")
    assert resolved == [str(tmp_path / "xdg6"), str(tmp_path / "xdg9")]


# ---------------------------------------------------------------- float64 copies for comparing

def test_as_float64_gives_torchs_own_conversion_for_every_kind_of_tensor():
    import numpy as np
    import torch

    from grader.compare.tensors import as_float64

    c = torch.randn(3, 4, dtype=torch.complex64)
    tensors = [torch.randn(3, 4), torch.randn(3, 4).t(), torch.randn(5, dtype=torch.float64)[::2],
               torch.randn(3, dtype=torch.float16), torch.randn(3).to(torch.bfloat16),
               torch.tensor([1, -2, 2 ** 53 + 1], dtype=torch.int64), torch.tensor([True, False]),
               torch.randn(3, requires_grad=True) * 2, c.conj(), c.conj().imag, -c, torch.eye(3).to_sparse(),
               torch.tensor([float("nan"), float("inf"), -0.0])]
    for t in tensors:
        is_complex = t.dtype.is_complex
        dense = t.detach().to_dense() if t.layout != torch.strided else t.detach()
        want = dense.resolve_conj().resolve_neg().to(torch.complex128 if is_complex else torch.float64).numpy()
        got = as_float64(t, is_complex)
        assert got.dtype == want.dtype and got.shape == want.shape
        assert np.array_equal(got, want, equal_nan=True) and np.array_equal(np.signbit(got.real), np.signbit(want.real))


def test_header_depth_check_with_few_brackets_and_with_many():
    from grader.sandbox.codec import _json_depth_ok

    limit = 10
    assert _json_depth_ok(b"[" * limit + b"]" * limit, limit)
    assert not _json_depth_ok(b"[" * (limit + 1) + b"]" * (limit + 1), limit)
    assert _json_depth_ok(b"[" + b"[]," * 500 + b"[]]", limit)  # many brackets, two levels
    assert not _json_depth_ok(b'["' + b"[" * 50 + b'"' + b"{" * (limit + 1) + b"}" * (limit + 1) + b"]", limit)
    assert _json_depth_ok(b'["' + b"[" * 500 + b'"]', limit)  # brackets inside a string are text


def three_walks_depth(tree):
    """The depth check's answer as it was computed by a walk of its own (the reference for tree_nodes')."""
    import ast

    deepest, line = 0, 0
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > deepest:
            deepest, line = depth, getattr(node, "lineno", line)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest, line


def test_tree_nodes_lists_the_nodes_in_the_visitors_and_in_walks_order_with_the_depth():
    """One walk gives what three did: the visitor's order, ast.walk's, and the depth with its line,
    on every Python file of the project and on nesting where the deepest node has no line."""
    import ast

    from grader.problems.forbidden import tree_nodes

    class Recorder(ast.NodeVisitor):
        def __init__(self):
            self.seen = []

        def generic_visit(self, node):
            self.seen.append(node)
            super().generic_visit(node)

    made = ["x = 1\n", "", "a = [[[[1]]]]\nb = [[[[2]]]]\n", "a = [[[[b]]]]\nc = [[[[2]]]]\n",
            "f(\n  g(\n    h(x,\n      y)))\n", "x = (" + "-\n" * 60 + "a)\n", "def f(a, *, b=[[1]]):\n    pass\n",
            "lambda: (lambda: (lambda: x))\n", "class A:\n    def f(self): return {1: [x for x in y if -x]}\n"]
    trees = [ast.parse(text) for text in made]
    for path in sorted(p for folder in ("grader/problems", "examples", "problems", "reference", "tests")
                       for p in (ROOT / folder).rglob("*.py")):
        try:
            trees.append(ast.parse(path.read_bytes()))
        except (SyntaxError, ValueError):
            continue  # an example of a file that does not parse
    assert len(trees) > 200
    for tree in trees:
        recorder = Recorder()
        recorder.visit(tree)
        nodes = tree_nodes(tree)
        assert nodes.in_order == recorder.seen
        assert nodes.walked == list(ast.walk(tree))
        assert (nodes.depth, nodes.depth_line) == three_walks_depth(tree)


def test_compare_without_detail_finds_a_difference_exactly_where_compare_does():
    import numpy as np
    import torch

    from grader.compare.tensors import compare

    rng = np.random.default_rng(0)
    specials = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-8, 1.0])
    for trial in range(400):
        e = rng.choice(specials, size=6) if trial % 3 == 0 else rng.normal(size=6)
        a = e.copy()
        for i in rng.choice(6, size=rng.integers(0, 3), replace=False):
            a[i] = rng.choice([*specials, a[i] * (1 + 10.0 ** -rng.integers(3, 9)), a[i] + 1e-6])
        pairs = [(a, e), (torch.from_numpy(a).float(), torch.from_numpy(e).float()),
                 (torch.from_numpy(a), torch.from_numpy(e).float()), ((a, 1.5), (e, 1.5)),
                 (np.round(a * 3).clip(-9, 9).astype(np.int64) if np.isfinite(a).all() else e,
                  np.round(e * 3).clip(-9, 9).astype(np.int64) if np.isfinite(e).all() else e)]
        for actual, expected in pairs:
            for alike in (False, True):
                for dtypes in ("strict", "loose"):
                    full = compare(actual, expected, nonfinite_alike=alike, dtypes=dtypes)
                    quick = compare(actual, expected, nonfinite_alike=alike, dtypes=dtypes, detail=False)
                    assert (full is None) == (quick is None), (actual, expected, alike, dtypes, full)


# ---------------------------------------------------------------- shortcuts in comparing

def full_compare_inexact(a, e, tol, path, detail=True):
    """_compare_inexact as it was before its shortcuts (the reference they must agree with)."""
    import numpy as np

    from grader.compare.tensors import Mismatch, _first_index, _fmt_pair, _positions, _value_mismatch, fmt

    with np.errstate(all="ignore"):
        a_nan, e_nan = np.isnan(a), np.isnan(e)
        if not detail:
            if (a_nan != e_nan).any():
                return Mismatch(path, "nan", f"{path}: NaN where the other has none")
            close = np.isfinite(a) & np.isfinite(e) & (np.abs(a - e) <= tol.atol + tol.rtol * np.abs(e))
            return Mismatch(path, "value", f"{path}: values differ") if (~e_nan & (a != e) & ~close).any() else None
        extra_nan = a_nan & ~e_nan
        if extra_nan.any():
            n = int(extra_nan.sum())
            return Mismatch(path, "nan", f"{path} has NaN at {_positions(n)} where numbers were expected, "
                                         f"first at index {_first_index(extra_nan)}")
        missing_nan = e_nan & ~a_nan
        if missing_nan.any():
            n = int(missing_nan.sum())
            idx = _first_index(missing_nan)
            return Mismatch(path, "nan", f"{path} has numbers at {_positions(n)} where NaN was expected, "
                                         f"first at index {idx} (got {fmt(a[idx].item())})")
        finite = np.isfinite(a) & np.isfinite(e)
        diff = np.abs(a - e)
        allowed = tol.atol + tol.rtol * np.abs(e)
        bad = ~e_nan & (a != e) & ~(finite & (diff <= allowed))
        if not bad.any():
            return None
        bad_inf = bad & ~finite
        if bad_inf.any():
            n = int(bad_inf.sum())
            idx = _first_index(bad_inf)
            sa, se = _fmt_pair(a[idx].item(), e[idx].item())
            return Mismatch(path, "inf", f"{path} has infinite values that differ from expected at {_positions(n)}, "
                                         f"first at index {idx} (got {sa}, expected {se})")
        rel = np.where(e != 0, diff / np.abs(e), np.inf)
        return _value_mismatch(path, "close", bad, diff, rel,
                               f"(up to {fmt(tol.atol)} allowed)", f"(up to {fmt(tol.rtol)} allowed)")


def test_compare_inexact_shortcuts_give_the_full_tests_answer_and_message():
    """Close everywhere, and (without detail) differing where all is finite, are answered in a few
    passes; on random arrays with NaN, inf, signed zeros, huge and tiny values, every tolerance
    (zero, infinite, above 1), shape (0-d, empty) and complex values, the answer and the message are
    the full test's."""
    import numpy as np

    from grader.compare.tensors import _compare_inexact
    from grader.compare.tolerance import Tolerance

    rng = np.random.default_rng(18)
    specials = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-300, 1e308, -1e308, 1.0])
    tolerances = [Tolerance(1.3e-6, 1e-5), Tolerance(0.0, 0.0), Tolerance(1e-7, 1e-7), Tolerance(2.0, 0.0),
                  Tolerance(0.0, np.inf), Tolerance(np.inf, 0.0), Tolerance(0.5, 1e300)]
    checked = {"none": 0, "nan": 0, "inf": 0, "value": 0}
    for trial in range(3000):
        shape = [(), (0,), (1,), (7,), (3, 4), (2, 0, 3)][trial % 6]
        size = int(np.prod(shape))
        e = rng.normal(size=size) * 10.0 ** rng.integers(-5, 6)
        if trial % 4 == 0:
            e = np.where(rng.random(size) < 0.4, rng.choice(specials, size=size), e)
        a = e.copy()
        for i in rng.choice(size, size=min(size, rng.integers(0, 3)), replace=False) if size else ():
            a[i] = rng.choice([*specials, a[i] * (1 + 10.0 ** -rng.integers(2, 9)), a[i] + 1e-6, -a[i]])
        if trial % 7 == 0:
            a, e = a + 1j * rng.normal(size=size), e + 1j * rng.normal(size=size)
        a, e = a.reshape(shape), e.reshape(shape)
        tol = tolerances[trial % len(tolerances)]
        for detail in (True, False):
            want = full_compare_inexact(a, e, tol, "output", detail)
            got = _compare_inexact(a, e, tol, "output", detail)
            assert got == want, (a, e, tol, detail)
            checked["none" if want is None else want.kind] += 1
    assert min(checked.values()) > 50, checked  # every kind of answer was reached


def test_limits_as_dict_is_dataclasses_asdict():
    from dataclasses import asdict

    from grader.limits import Limits

    for limits in (Limits(), Limits().with_overrides({"time": 2.5, "memory_mb": 1024, "processes": 65}),
                   Limits(result_mb=1, output_kb=3, gpu_memory_mb=0)):
        got = limits.as_dict()
        assert got == asdict(limits) and list(got) == list(asdict(limits))
        assert all(type(got[k]) is type(v) for k, v in asdict(limits).items())


def test_method_names_from_the_listed_nodes_equal_a_walk_of_the_tree():
    import ast

    from grader.problems.forbidden import method_names, tree_nodes

    made = ["class A:\n    def f(self): pass\n    async def g(self): pass\n    x = 1\n",
            "def outer():\n    class B:\n        def h(self): pass\n    return B\n",
            "class C:\n    class D:\n        def inner(self): pass\n    def outer(self): pass\n"]
    trees = [ast.parse(text) for text in made]
    for path in sorted(p for folder in ("grader", "examples", "reference", "tests") for p in (ROOT / folder).rglob("*.py")):
        try:
            trees.append(ast.parse(path.read_bytes()))
        except (SyntaxError, ValueError):
            continue
    found = 0
    for tree in trees:
        names = method_names(tree)
        assert method_names(tree, tree_nodes(tree)) == names
        found += len(names)
    assert found > 100


def test_case_tolerances_kept_per_case_equal_tolerance_overrides_for_every_problem_and_dtype():
    """What the function kind keeps per prepared case (the tolerances, the expected output's
    coarsest dtype) is what tolerance_overrides and coarsest_float_dtype say, for every function
    problem of the bank and every case, asked twice; another spec on the same case gets its own."""
    import dataclasses

    from grader.kinds.function.kind import (FLOAT_PRECISION, case_tolerances, coarsest_float_dtype,
                                            expected_coarsest, prepare_cases, tolerance_overrides)
    from grader.problems.bank import Bank

    bank = Bank()
    checked = 0
    for problem in bank.all():
        if problem.kind != "function" or isinstance(problem.spec.get("comparator"), dict):
            continue
        for prepared in prepare_cases(problem, bank, seed=0, device="cpu")[:4]:
            for _ in range(2):
                assert expected_coarsest(prepared) == coarsest_float_dtype(prepared.expected)
                for loosen_to in (None, *FLOAT_PRECISION, expected_coarsest(prepared)):
                    assert case_tolerances(problem, prepared, loosen_to) == tolerance_overrides(problem, prepared.case, loosen_to)
                    checked += 1
            other = dataclasses.replace(problem, spec={**problem.spec, "tolerance": {"float32": {"rtol": 0.5, "atol": 0.25}}})
            assert case_tolerances(other, prepared) == tolerance_overrides(other, prepared.case)
            assert case_tolerances(problem, prepared) == tolerance_overrides(problem, prepared.case)
    assert checked > 500
