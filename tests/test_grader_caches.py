"""What the grader keeps between jobs to spend less CPU (parsed sources, bank paths, encoded
requests, float64 copies) never gives one student, problem or environment another's answer."""
from __future__ import annotations

import json
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


def test_source_cache_stays_within_its_bounds():
    for i in range(source.CACHE_FILES * 3):
        check_sources({"s.py": f"x = {i}\n".encode()}, "x", [])
    assert len(source._CACHE) <= source.CACHE_FILES
    big = b"x = 1\n" * (source.IN_PROCESS_BYTES // 6 - 1)
    for i in range(20):
        check_sources({"s.py": big + f"y = {i}\n".encode()}, "x", [])
    assert source._cache_bytes <= source.CACHE_BYTES
    assert source._cache_bytes == sum(size for _, size in source._CACHE.values())
