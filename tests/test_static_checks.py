"""The static checks of student source through the real CLI: source decoded as Python decodes
it, a parse budget, forbidden APIs without false positives (grader/problems/source.py, grader/problems/forbidden.py)."""
import ast
import textwrap

import pytest

from grader.problems import source as source_module
from grader.problems.source import analyse, check_sources

CORRECT = """\
import torch


def sigmoid_backward(x, grad_output):
    s = torch.sigmoid(x)
    return grad_output * s * (1 - s)
"""


def write_bytes(tmp_path, data: bytes, name="solution.py"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def check(cli, path, problem="sigmoid-backward"):
    result = cli("check", problem, path, "--json")
    return result, result.json()


def full_marks(result, data):
    return result.exit_code == 0 and data["error"] is None and data["score"] == data["max_score"]


# ---------------------------------------------------------------- source decoded as Python decodes it


def test_correct_file_saved_with_a_byte_order_mark_gets_full_marks(cli, tmp_path):
    path = write_bytes(tmp_path, b"\xef\xbb\xbf" + CORRECT.encode())
    result, data = check(cli, path)
    assert full_marks(result, data), data["error"]


def test_latin1_cookie_with_accented_comment_gets_full_marks(cli, tmp_path):
    text = "# -*- coding: latin-1 -*-\n# dérivée de la sigmoïde\n" + CORRECT
    result, data = check(cli, write_bytes(tmp_path, text.encode("latin-1")))
    assert full_marks(result, data), data["error"]


# Under UTF-8 line 3 reads `torch + AC4 - autograd + AC4 - grad` (arithmetic); under the
# file's own utf-7 cookie, which the child honours, it is `torch.autograd.grad`.
UTF7_AUTOGRAD = b"""\
# -*- coding: utf-7 -*-
import torch
grad = torch+AC4-autograd+AC4-grad


def sigmoid_backward(x, grad_output):
    x = x.detach().requires_grad_()
    (dx,) = grad(torch.sigmoid(x), x, grad_output)
    return dx
"""


def test_utf7_cookie_cannot_hide_autograd(cli, tmp_path):
    result, data = check(cli, write_bytes(tmp_path, UTF7_AUTOGRAD))
    assert result.exit_code == 1 and data["score"] == 0
    assert "forbidden API used" in data["error"]
    assert "solution.py line 3: uses torch.autograd.grad" in data["error"]


def test_static_check_sees_the_tree_the_child_compiles():
    """Same bytes, same decoding: the check's tree is the one `compile` builds in the child."""
    for data in (UTF7_AUTOGRAD, b"\xef\xbb\xbf" + CORRECT.encode(),
                 "# coding: latin-1\nx = 'é'\n".encode("latin-1")):
        compiled = compile(data, "solution.py", "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
        assert ast.dump(ast.parse(data)) == ast.dump(compiled)
    uses = analyse({"solution.py": UTF7_AUTOGRAD}, "sigmoid_backward", ["torch.autograd"]).uses
    assert [(u.name, u.line) for u in uses] == [("torch.autograd.grad", 3), ("torch.autograd.grad", 8)]


@pytest.mark.parametrize("data, expected", [
    (b"def sigmoid_backward(x, g):\n    return '\xff'\n", "save the file as UTF-8"),
    (b"# coding: no-such-codec\ndef sigmoid_backward(x, g):\n    return x\n", "unknown encoding"),
    (b"def sigmoid_backward(x, g):\n    return x\x00\n", "null bytes"),
])
def test_undecodable_source_is_the_students_clear_error(cli, tmp_path, data, expected):
    result, data_out = check(cli, write_bytes(tmp_path, data))
    assert result.exit_code == 1 and data_out["score"] == 0
    assert "solution.py" in data_out["error"] and expected in data_out["error"]


# ---------------------------------------------------------------- parse budget


@pytest.fixture
def helper_calls(monkeypatch):
    """Count the checks that went to the helper process."""
    calls = []
    real = source_module._in_helper

    def counting(*args):
        calls.append(sum(len(d) for d in args[0].values()))
        return real(*args)

    monkeypatch.setattr(source_module, "_in_helper", counting)
    return calls


def padded(body: str, size: int) -> bytes:
    """`body` followed by trivial lines up to `size` bytes (the kind of file that is costly to parse)."""
    data = body.encode()
    return data + b"x = 1\n" * ((size - len(data)) // 6)


def test_one_megabyte_source_is_checked_in_the_helper_and_graded(cli, tmp_path, helper_calls):
    path = write_bytes(tmp_path, padded(CORRECT, 1 << 20))
    result, data = check(cli, path)
    assert helper_calls == [path.stat().st_size]
    assert full_marks(result, data), data["error"]


def test_large_source_hiding_autograd_is_still_flagged(cli, tmp_path, helper_calls):
    data = padded(CORRECT, 200 << 10) + b"import torch.autograd as ag\n"
    result, out = check(cli, write_bytes(tmp_path, data))
    assert len(helper_calls) == 1
    assert out["score"] == 0 and "uses torch.autograd" in out["error"]


def test_source_over_the_budget_is_the_students_clear_failure(cli, tmp_path, helper_calls, monkeypatch):
    monkeypatch.setattr(source_module, "HELPER_MEMORY_BYTES", 160 << 20)  # 1 MB of lines needs ~300 MB
    result, data = check(cli, write_bytes(tmp_path, padded(CORRECT, 1 << 20)))
    assert len(helper_calls) == 1
    assert result.exit_code == 1 and data["score"] == 0
    assert "could not check your source within its budget" in data["error"]


def test_source_over_the_cpu_budget_is_the_students_clear_failure(cli, tmp_path, helper_calls, monkeypatch):
    monkeypatch.setattr(source_module, "HELPER_CPU_SECONDS", 1)  # 2 MB of lines needs several seconds
    result, data = check(cli, write_bytes(tmp_path, padded(CORRECT, 2 << 20)))
    assert len(helper_calls) == 1
    assert result.exit_code == 1 and data["score"] == 0
    assert "could not check your source within its budget" in data["error"]


def test_small_source_is_checked_in_process(helper_calls):
    check_sources({"solution.py": CORRECT.encode()}, "sigmoid_backward", ["torch.autograd"])
    assert helper_calls == []


# ---------------------------------------------------------------- no false positives


NUMPY_LAYER = """\
import numpy as np
import torch


class Sigmoid:
    def forward(self, x):
        self.out = 1.0 / (1.0 + np.exp(-x))
        return self.out

    def backward(self, dout):
        return dout * self.out * (1.0 - self.out)

    def softmax(self, z):
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    def check(self, dout):
        self.softmax(dout)
        return self.backward(dout)


def sigmoid_backward(x, grad_output):
    act = Sigmoid()
    act.forward(x.double().numpy())
    dx = act.check(grad_output.double().numpy())
    dx = getattr(act, "backward")(grad_output.double().numpy())
    return torch.from_numpy(act.backward(grad_output.double().numpy())).to(x.dtype)
"""


def test_numpy_layer_class_with_backward_method_gets_full_marks(cli, submission):
    result, data = check(cli, submission(NUMPY_LAYER))
    assert full_marks(result, data), data["error"]


def test_layer_class_does_not_hide_a_real_tensor_backward(cli, submission):
    source = NUMPY_LAYER + """

def cheat(x, g):
    y = torch.sigmoid(x.requires_grad_())
    y.backward(g)
    return x.grad
"""
    result, data = check(cli, submission(source))
    assert data["score"] == 0
    assert "line 32: uses y.backward" in data["error"]


@pytest.mark.parametrize("trick, line", [
    ("import torch.autograd as ag\n", "uses torch.autograd"),
    ("from torch import autograd\n", "uses torch.autograd"),
    ("from torch.autograd import grad as g\n", "uses torch.autograd.grad"),
    ("F = torch.func\nF.grad\n", "uses torch.func"),
    ("ag = getattr(torch, 'autograd')\n", "uses torch.autograd"),
    ("import importlib\nag = importlib.import_module('torch.autograd')\n", "uses torch.autograd"),
    ("import sys\nag = sys.modules['torch.autograd']\n", "uses torch.autograd"),
    ("if (ag := torch.autograd):\n    pass\n", "uses torch.autograd"),
    ("T = torch\nT.Tensor.backward\n", "uses torch.Tensor.backward"),
])
def test_aliasing_tricks_are_flagged(cli, submission, trick, line):
    result, data = check(cli, submission(CORRECT + trick))
    assert result.exit_code == 1 and data["score"] == 0
    assert line in data["error"], data["error"]


def test_folder_with_layer_module_and_solution(cli, tmp_path):
    """The submission's own methods count across its files."""
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "layers.py").write_text(textwrap.dedent(NUMPY_LAYER.split("\n\ndef sigmoid_backward")[0]))
    (folder / "solution.py").write_text(textwrap.dedent("""\
        import torch
        from layers import Sigmoid


        def sigmoid_backward(x, grad_output):
            layer = Sigmoid()
            layer.forward(x.double().numpy())
            return torch.from_numpy(layer.backward(grad_output.double().numpy())).to(x.dtype)
        """))
    result, data = check(cli, folder)
    assert full_marks(result, data), data["error"]


# ---------------------------------------------------------------- run-time detection in the child


DYNAMIC_GETATTR = """\
import torch

NAME = "".join(["auto", "grad"])


def sigmoid_backward(x, grad_output):
    x = x.detach().requires_grad_()
    y = torch.sigmoid(x)
    module = getattr(torch, NAME)
    (dx,) = module.grad(y, x, grad_output)
    return dx
"""

DYNAMIC_METHOD = """\
import torch

METHOD = "back" + "ward"


def sigmoid_backward(x, grad_output):
    x = x.detach().requires_grad_()
    getattr(torch.sigmoid(x), METHOD)(grad_output)
    return x.grad
"""

DYNAMIC_EXEC = """\
import torch


def sigmoid_backward(x, grad_output):
    x = x.detach().requires_grad_()
    y = torch.sigmoid(x)
    scope = {"y": y, "x": x, "g": grad_output, "t": torch}
    code = "r = getattr(t, 'auto' + 'grad').grad(y, x, g)"
    run = getattr(__builtins__, "ex" + "ec") if hasattr(__builtins__, "exec") else __builtins__["ex" + "ec"]
    run(code, scope)
    return scope["r"][0]
"""


@pytest.mark.parametrize("source, expected", [
    (DYNAMIC_GETATTR, "solution.py line 10: uses torch.autograd.grad, which this problem forbids (torch.autograd)"),
    (DYNAMIC_METHOD, "solution.py line 8: uses Tensor.backward, which this problem forbids (Tensor.backward)"),
    (DYNAMIC_EXEC, "solution.py line 10: uses torch.autograd.grad"),
])
def test_dynamic_use_is_caught_at_run_time_with_its_line(cli, submission, source, expected):
    result, data = check(cli, submission(source))
    assert result.exit_code == 1 and data["score"] == 0
    assert "forbidden API used (seen while it ran)" in data["error"]
    assert expected in data["error"], data["error"]


def test_run_time_detection_in_the_fork_server(grade_source):
    """`grader grade`'s executor watches too."""
    result = grade_source("sigmoid-backward", DYNAMIC_METHOD)
    assert result.score == 0 and "solution.py line 8: uses Tensor.backward" in result.error


def test_run_time_detection_names_the_line_in_a_helper_module(cli, tmp_path):
    folder = tmp_path / "with-helper"
    folder.mkdir()
    (folder / "helper.py").write_text("import torch\n\n\ndef grad_of(y, x, g):\n"
                                      "    return getattr(torch, 'auto' + 'grad').grad(y, x, g)[0]\n")
    (folder / "solution.py").write_text("import torch\nfrom helper import grad_of\n\n\n"
                                        "def sigmoid_backward(x, grad_output):\n"
                                        "    x = x.detach().requires_grad_()\n"
                                        "    return grad_of(torch.sigmoid(x), x, grad_output)\n")
    result, data = check(cli, folder)
    assert data["score"] == 0 and "helper.py line 5: uses torch.autograd.grad" in data["error"], data["error"]


def test_correct_solution_using_allowed_torch_is_not_flagged_at_run_time(grade_source):
    """no_grad/enable_grad (torch.autograd's classes, reached through torch) and torch.sigmoid are allowed."""
    result = grade_source("sigmoid-backward", """\
        import torch


        def sigmoid_backward(x, grad_output):
            with torch.no_grad():
                s = torch.sigmoid(x)
            with torch.enable_grad():
                return grad_output * s * (1 - s)
        """)
    assert result.error is None and result.score == result.max_score


WATCH_SCRIPT = """\
import json, sys
import numpy, torch
from grader.sandbox import forbidden_runtime

guard = forbidden_runtime.install(["torch.nn.functional.softmax", "numpy.linalg.inv", "torch.nn.GRUCell",
                                   "ndarray.dot", "torch.no_such_api", "Tensor.backward"])
student = '''\\
import numpy, torch
x = torch.ones(2, 3)
torch.nn.functional.softmax(x, dim=1)
torch.nn.Softmax(dim=1)(x)
numpy.linalg.inv(numpy.eye(2))
numpy.eye(2).dot(numpy.eye(2))
torch.nn.GRUCell(3, 4)
class Mine(torch.nn.GRUCell):
    def __init__(self):
        super().__init__(3, 4)
Mine()
torch.nn.GRU(3, 4)
'''
exec(compile(student, sys.argv[1], "exec"), {})
print(json.dumps(guard.found()))
"""


def test_watchers_note_direct_student_calls_only(tmp_path):
    """Direct calls from the student's file count; torch's own use inside an allowed API
    (nn.Softmax calls F.softmax; nn.GRU is not GRUCell) does not; ndarray methods cannot be
    watched; an API this torch lacks is skipped."""
    import json
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", WATCH_SCRIPT, str(tmp_path / "solution.py")],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": root})
    assert out.returncode == 0, out.stderr
    notes = json.loads(out.stdout)
    assert [(n["name"], n["file"], n["line"]) for n in notes] == [
        ("torch.nn.functional.softmax", "solution.py", 3),
        ("numpy.linalg.inv", "solution.py", 5),
        ("torch.nn.GRUCell", "solution.py", 7),
        ("torch.nn.GRUCell", "solution.py", 10),
    ]


def test_parent_reads_only_well_formed_reports():
    from grader.sandbox.runner import read_forbidden_calls

    good = {"api": "torch.autograd", "name": "torch.autograd.grad", "file": "solution.py", "line": 3}
    assert [u.line for u in read_forbidden_calls([good])] == [3]
    for bad in ("x", [1], [{**good, "line": "3"}], [{**good, "line": 10**40}], [{**good, "file": "a\x1b[31m"}],
                [{**good, "name": "n" * 1000}], [{**good, "line": True}]):
        assert read_forbidden_calls(bad) == []
    assert len(read_forbidden_calls([good] * 1000)) == 20


@pytest.mark.parametrize("expression", ["1+" * 600 + "1", "-" * 600 + "1", "a." * 600 + "b"])
def test_code_nested_deeper_than_the_check_walks_is_a_clear_failure(cli, submission, expression):
    """Valid Python (the child could run it) that would overflow the checker's recursion."""
    result, data = check(cli, submission(CORRECT + f"\nx = lambda a: {expression}\n"))
    assert result.exit_code == 1 and data["score"] == 0
    assert "solution.py line 8: code nested" in data["error"] and "split the expression up" in data["error"]


def test_the_depth_failure_names_the_depth_and_the_line_of_the_deepest_code(cli, submission):
    """An expression that starts on line 8 and nests down to line 308 (its deepest node, the
    name's context, has no line: the name's own is given)."""
    result, data = check(cli, submission(CORRECT + "\nx = lambda a: (" + "-\n" * 300 + "a)\n"))
    assert result.exit_code == 1 and data["score"] == 0
    assert "solution.py line 308: code nested 305 levels deep; the grader checks at most 200" in data["error"]


def test_deep_nesting_is_fine_where_nothing_is_forbidden(cli, submission):
    source = "def conv_output_size(n, f, p=0, s=1):\n    x = " + "1+" * 600 + "1\n    return (n + 2 * p - f) // s + 1\n"
    result, data = check(cli, submission(source), problem="conv-output-size")
    assert full_marks(result, data), data["error"]


def test_library_imported_by_the_student_is_watched_from_the_first_case():
    """A NumPy problem's child does not import torch; a module that imports it is watched once loaded."""
    from grader.sandbox.runner import Call, Job, SubprocessExecutor

    source = (b"import torch\n\n\ndef f(n):\n    x = torch.ones(n, requires_grad=True)\n"
              b"    ag = getattr(torch, 'auto' + 'grad')\n    return float(ag.grad(x.sum(), x)[0].sum())\n")
    job = Job(files={"solution.py": source}, module="solution.py", entry_point="f", framework="numpy",
              calls=[Call("three", [3], {}, "f(3)")], forbidden=["torch.autograd"])
    run = SubprocessExecutor().run(job)
    assert run.load_error is None and run.cases[0].value == 3.0
    assert [(u.name, u.file, u.line) for u in run.forbidden_calls] == [("torch.autograd.grad", "solution.py", 7)]
