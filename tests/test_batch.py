"""Grading a whole class from the CLI: gradebook, per-student JSON, JUnit, Gradescope, Classroom, cache, exits."""
from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import shutil
import stat
import textwrap
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.problems.bank import Bank
from grader.classes.students import find_students
from grader.classes.assignment import load_assignment
from grader.classes.cache import job_id
from grader.cli.main import main
from grader.errors import UsageError
from grader.sandbox.forkserver import ForkServerExecutor
from grader.grading import grade
from grader.render.progress import Progress

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
PROBLEMS = ["sigmoid-backward", "conv-output-size", "coin-entropy"]


def run_cli(*args, env=None):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False, env=env)
    return result.exit_code, result.stdout, result.stderr


def body(problem: str, variant: str) -> str:
    """An example's function without its imports (so several fit in one file)."""
    text = (EXAMPLES / problem / f"{variant}.py").read_text()
    return "\n".join(l for l in text.splitlines() if not l.startswith("import ")).strip() + "\n\n\n"


HEADER = "import math\n\nimport torch\n\n\n"


def all_in_one(variants: dict[str, str]) -> str:
    return HEADER + "".join(body(p, v) for p, v in variants.items())


CORRECT = {p: "correct" for p in PROBLEMS}
BUGGY = {p: "buggy" for p in PROBLEMS}


def make_class(root: Path) -> dict[str, str]:
    """A class of 14 student-like submissions; returns student -> what it is."""
    root.mkdir(parents=True)
    kinds = {}
    for i in range(1, 5):
        (root / f"s0{i}.py").write_text(all_in_one(CORRECT))
        kinds[f"s0{i}"] = "correct"
    for i in (5, 6):
        (root / f"s0{i}.py").write_text(all_in_one(BUGGY))
        kinds[f"s0{i}"] = "buggy"
    folder = root / "s07"  # a folder: one file per problem, a helper module, a notes file
    folder.mkdir()
    (folder / "helpers.py").write_text("import torch\n\n\ndef sig(x):\n    return torch.sigmoid(x)\n")
    (folder / "sigmoid_backward.py").write_text(
        "from helpers import sig\n\n\ndef sigmoid_backward(x, grad_output):\n    s = sig(x)\n"
        "    return grad_output * s * (1 - s)\n")
    (folder / "conv.py").write_text("import math\n\n\n" + body("conv-output-size", "correct"))
    (folder / "entropy.py").write_text("import torch\n\n\n" + body("coin-entropy", "correct"))
    (folder / "NOTES.txt").write_text("hello\n")
    kinds["s07"] = "correct"
    cells = [{"cell_type": "markdown", "metadata": {}, "source": ["# HW\n"]},
             {"cell_type": "code", "metadata": {}, "execution_count": 1, "outputs": [],
              "source": ["%matplotlib inline\n", "!pip install torch\n", HEADER]}]
    cells += [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
               "source": body(p, "correct").splitlines(True)} for p in PROBLEMS]
    (root / "s08.ipynb").write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    kinds["s08"] = "correct"
    (root / "s09.py").write_text(all_in_one(CORRECT) + "\ndef broken(:\n    pass\n")
    kinds["s09"] = "syntax"
    (root / "s10.py").write_text(all_in_one(CORRECT) + "\nraise RuntimeError('crash at import')\n")
    kinds["s10"] = "crash"
    (root / "s11.py").write_text(all_in_one({**CORRECT, "coin-entropy": "correct"}).replace(
        "def coin_entropy(p):", "def coin_entropy(p):\n    while True:\n        pass\n\n\ndef _old(p):"))
    kinds["s11"] = "loop"
    (root / "s12.py").write_text(all_in_one(CORRECT).replace(
        "def sigmoid_backward(x, grad_output):",
        "def sigmoid_backward(x, grad_output):\n    import os, signal\n    print('\\x00\\x1b[2J attack')\n"
        "    os.kill(os.getppid(), signal.SIGKILL)\n    os.kill(os.getpid(), signal.SIGKILL)\n"))
    kinds["s12"] = "attack"
    shutil.copy(root / "s01.py", root / "s13.py")  # an identical submission: one job id, one result
    kinds["s13"] = "correct"
    (root / ".DS_Store").write_text("")  # ignored
    return kinds


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("klass")
    kinds = make_class(base / "submissions")
    assignment = base / "assignment.yaml"
    assignment.write_text("name: Test HW\nproblems:\n  - sigmoid-backward\n  - id: conv-output-size\n    points: 5\n"
                          "  - coin-entropy\nlimits:\n  time: 0.5\n")
    out = base / "out"
    code, stdout, stderr = run_cli("grade", base / "submissions", "--assignment", assignment, "--out", out,
                                   "--jobs", "2", "--no-progress")
    return {"base": base, "kinds": kinds, "assignment": assignment, "out": out, "code": code,
            "stdout": stdout, "stderr": stderr}


def read_gradebook(out: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO((out / "grades.csv").read_text())))


def test_grading_succeeds_whatever_the_scores(graded):
    assert graded["code"] == 0, graded["stderr"]


def test_gradebook_totals(graded):
    rows = read_gradebook(graded["out"])
    assert list(rows[0]) == ["student", *PROBLEMS, "total"]
    assert [r["student"] for r in rows] == sorted(graded["kinds"])
    by = {r["student"]: r for r in rows}
    for student, kind in graded["kinds"].items():
        row = by[student]
        total = float(row["total"])
        assert abs(total - sum(float(row[p]) for p in PROBLEMS)) < 1e-5
        if kind == "correct":
            assert (total, row["conv-output-size"]) == (25.0, "5"), student
        elif kind in ("syntax", "crash"):
            assert total == 0, student
        elif kind == "loop":
            assert (float(row["sigmoid-backward"]), float(row["coin-entropy"])) == (10, 0)
        elif kind == "attack":
            assert float(row["sigmoid-backward"]) == 0 and float(row["coin-entropy"]) == 10
        elif kind == "buggy":
            assert 0 <= total < 25


def test_buggy_scores_match_single_grading(graded):
    """The class run gives each student what `grader check` would (fresh child, same seed)."""
    bank = Bank()
    path = graded["base"] / "submissions" / "s05.py"
    data = json.loads((graded["out"] / "students" / "s05.json").read_text())
    with ForkServerExecutor() as executor:  # the same verdicts as a fresh child: tests/test_forkserver.py
        singles = [grade(p["problem"], path, bank=bank, executor=executor) for p in data["problems"]]
    for problem, single in zip(data["problems"], singles):
        scale = problem["max_score"] / single.max_score
        assert abs(problem["score"] - single.score * scale) < 1e-6
        assert [t["status"] for t in problem["tests"]] == [t.status.value for t in single.tests]


def test_per_student_json_has_the_check_json_shape(graded, cli_check_keys):
    data = json.loads((graded["out"] / "students" / "s08.json").read_text())
    assert data["student"] == "s08" and data["score"] == data["max_score"] == 25
    assert [p["problem"] for p in data["problems"]] == PROBLEMS
    for problem in data["problems"]:
        assert set(cli_check_keys["problem"]) <= set(problem)
        assert set(cli_check_keys["test"]) <= set(problem["tests"][0])
    assert any("skipped 2 IPython magic" in note for note in data["problems"][0]["feedback"])
    syntax = json.loads((graded["out"] / "students" / "s09.json").read_text())
    assert all("SyntaxError" in p["error"] for p in syntax["problems"])
    loop = json.loads((graded["out"] / "students" / "s11.json").read_text())
    assert loop["problems"][2]["limits_hit"] == ["time"]


@pytest.fixture(scope="module")
def cli_check_keys():
    code, stdout, _ = run_cli("check", "conv-output-size", EXAMPLES / "conv-output-size" / "correct.py", "--json")
    data = json.loads(stdout)
    return {"problem": list(data), "test": list(data["tests"][0])}


def test_junit_has_one_testcase_per_student_problem_case(graded):
    root = ET.parse(graded["out"] / "junit.xml").getroot()
    expected = 0
    for student in graded["kinds"]:
        data = json.loads((graded["out"] / "students" / f"{student}.json").read_text())
        expected += sum(len(p["tests"]) + len(p.get("skipped", [])) for p in data["problems"])  # skipped: CUDA cases
    per_student = sum(len(Bank().get(p).cases) for p in PROBLEMS)
    testcases = root.findall(".//testcase")
    assert len(testcases) == expected == int(root.get("tests")) >= len(graded["kinds"]) * per_student
    names = {(t.get("classname"), t.get("name")) for t in testcases}
    assert len(names) == len(testcases)
    failed = [t for t in testcases if t.find("failure") is not None]
    assert int(root.get("failures")) == len(failed) > 0
    assert root.get("skipped") is None  # junit-10.xsd has no skipped count on testsuites: each suite has it
    assert sum(int(suite.get("skipped")) for suite in root.findall("testsuite")) == \
        len([t for t in testcases if t.find("skipped") is not None])
    assert all(t.find("failure") is None for t in testcases if t.get("classname").startswith("s01."))


def test_summary_on_the_terminal(graded):
    out = graded["stdout"]
    assert f"{len(graded['kinds'])} students x 3 problems" in out
    assert "Score distribution" in out and "Per problem:" in out
    assert "Slowest submissions" in out
    assert "s11" in out.split("Submissions that hit limits")[1]


def test_rerun_takes_everything_from_the_cache(graded):
    before = (graded["out"] / "grades.csv").read_text()
    code, stdout, _ = run_cli("grade", graded["base"] / "submissions", "--assignment", graded["assignment"],
                              "--out", graded["out"], "--no-progress")
    assert code == 0
    n = len(graded["kinds"])
    assert "0 graded" in stdout and f"{n * 3} from cache" in stdout
    assert (graded["out"] / "grades.csv").read_text() == before


def test_a_changed_submission_is_regraded_alone(graded, tmp_path):
    klass = tmp_path / "klass"
    shutil.copytree(graded["base"] / "submissions", klass)
    (klass / "s05.py").write_text(all_in_one(CORRECT))
    out = tmp_path / "out"
    shutil.copytree(graded["out"], out)
    code, stdout, _ = run_cli("grade", klass, "--assignment", graded["assignment"], "--out", out, "--no-progress")
    n = len(graded["kinds"])
    assert code == 0 and "3 graded" in stdout and f"{(n - 1) * 3} from cache" in stdout
    assert {r["student"]: r["total"] for r in read_gradebook(out)}["s05"] == "25"


def test_device_selection_is_applied_and_keys_the_cache(graded, tmp_path):
    """--device cpu grades without the CUDA cases (not even as skipped); a result graded where
    no GPU is available is not served on a machine with one (the devices are in the job id)."""
    out = tmp_path / "out"
    shutil.copytree(graded["out"], out)
    code, stdout, _ = run_cli("grade", graded["base"] / "submissions", "--assignment", graded["assignment"],
                              "--out", out, "--no-progress", "--device", "cpu")
    assert code == 0 and re.search(r"graded at .*, 0 from cache\)", stdout), stdout  # other devices: other jobs
    problems = json.loads((out / "students" / "s01.json").read_text())["problems"]
    sigmoid = next(p for p in problems if p["problem"] == "sigmoid-backward")
    assert sigmoid["skipped"] == [] and all(t["device"] == "cpu" for t in sigmoid["tests"])
    default = json.loads((graded["out"] / "students" / "s01.json").read_text())["problems"]
    assert any(t["device"] == "cuda" for p in default for t in p["skipped"])  # no GPU here: reported skipped


def test_jobs_graded_without_a_gpu_are_not_reused_with_one(monkeypatch):
    from grader.problems.bank import Bank
    from grader.classes.batch import ClassGrader
    from grader.classes.students import StudentEntry
    from grader.classes.assignment import parse_assignment
    from grader.problems.submission import Submission

    bank = Bank()
    assignment = parse_assignment({"name": "hw", "problems": ["sigmoid-backward"]}, Path("<test>"), bank)
    entry, files = StudentEntry("s", Path("s.py")), Submission("s.py", {"s.py": b"x = 1\n"})
    monkeypatch.setattr("grader.sandbox.devices.cuda_available", lambda: False)
    without = ClassGrader(assignment, bank, executor=None).tasks_for(entry, files)[0].job
    monkeypatch.setattr("grader.sandbox.devices.cuda_available", lambda: True)
    with_gpu = ClassGrader(assignment, bank, executor=None).tasks_for(entry, files)[0].job
    assert without != with_gpu


def test_fail_under(graded):
    args = ["grade", graded["base"] / "submissions", "--assignment", graded["assignment"], "--out", graded["out"],
            "--no-progress"]
    code, _, stderr = run_cli(*args, "--fail-under", "60%")
    assert code == 1 and "scored below 15" in stderr
    assert run_cli(*args, "--fail-under", "0")[0] == 0


GRADESCOPE_TOP = {"score", "execution_time", "output", "visibility", "stdout_visibility", "extra_data", "tests",
                  "leaderboard", "output_format", "test_output_format", "test_name_format"}
GRADESCOPE_TEST = {"score", "max_score", "status", "name", "number", "output", "tags", "visibility", "extra_data",
                   "output_format", "name_format"}
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}


def test_gradescope_results_json(graded, tmp_path):
    results = tmp_path / "results" / "results.json"
    shutil.copytree(graded["out"], tmp_path / "o")  # the class run's cache: nothing is graded twice
    code, _, _ = run_cli("grade", graded["base"] / "submissions" / "s05.py", "--single", "--assignment",
                         graded["assignment"], "--out", tmp_path / "o", "--gradescope", results, "--no-progress")
    assert code == 0
    data = json.loads(results.read_text())
    assert set(data) <= GRADESCOPE_TOP
    assert isinstance(data["score"], (int, float)) and isinstance(data["execution_time"], int)
    assert data["visibility"] in VISIBILITY and data["stdout_visibility"] in VISIBILITY
    assert isinstance(data["output"], str)
    assert data["output_format"] == data["test_output_format"] == data["test_name_format"] == "text"
    student = json.loads((tmp_path / "o" / "students" / "s05.json").read_text())
    assert len(data["tests"]) == sum(len(p["tests"]) for p in student["problems"])
    assert data["score"] == pytest.approx(student["score"], abs=1e-6)
    for test in data["tests"]:
        assert set(test) <= GRADESCOPE_TEST
        assert isinstance(test["score"], (int, float)) and isinstance(test["max_score"], (int, float))
        assert test["status"] in ("passed", "failed")
        assert isinstance(test["name"], str) and isinstance(test["number"], str) and isinstance(test["output"], str)
        assert all(isinstance(t, str) for t in test["tags"])
        assert test["visibility"] in ("visible", "after_published")
        assert test["output_format"] == test["name_format"] == "text"  # student text is never read as HTML
    assert abs(sum(t["score"] for t in data["tests"]) - data["score"]) < 1e-4
    assert {t["visibility"] for t in data["tests"]} == {"visible", "after_published"}


def test_classroom_runner_result(graded, tmp_path):
    github_output = tmp_path / "github_output"
    github_output.write_text("")
    shutil.copytree(graded["out"], tmp_path / "o")  # the class run's cache: nothing is graded twice
    code, stdout, _ = run_cli("grade", graded["base"] / "submissions" / "s06.py", "--single", "--assignment",
                              graded["assignment"], "--out", tmp_path / "o", "--classroom", "--no-progress",
                              env={"GITHUB_OUTPUT": str(github_output)})
    assert code == 0
    encoded = stdout.strip().splitlines()[-1]
    data = json.loads(base64.b64decode(encoded))
    assert data["version"] == 1 and data["status"] == "fail" and data["max_score"] == 25
    for test in data["tests"]:
        assert {"name", "status", "score", "message", "line_no", "filename", "duration"} <= set(test)
        assert test["status"] in ("pass", "fail", "error")
        assert test["line_no"] == 0 and isinstance(test["duration"], int)  # 0: the reporter prints no "line ..."
    assert github_output.read_text() == f"result={encoded}\n"
    passing = run_cli("grade", graded["base"] / "submissions" / "s01.py", "--single", "--assignment",
                      graded["assignment"], "--out", tmp_path / "o", "--classroom", "--no-progress")[1]
    data = json.loads(base64.b64decode(passing.strip().splitlines()[-1]))
    assert data["status"] == "pass" and sum(t["score"] for t in data["tests"]) == 25  # exactly, as the reporter adds


def test_gradescope_autograder_zip(graded, tmp_path):
    out = tmp_path / "autograder.zip"
    code, stdout, _ = run_cli("gradescope", graded["assignment"], "--out", out)
    assert code == 0, stdout
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        assert {"setup.sh", "run_autograder", "assignment.yaml", "grader-src/pyproject.toml"} <= names
        assert "grader-src/grader/cli/main.py" in names and "bank/problems/activations/sigmoid-backward.yaml" in names
        for name in ("setup.sh", "run_autograder"):
            assert (zf.getinfo(name).external_attr >> 16) & stat.S_IXUSR
        run = zf.read("run_autograder").decode()
        assert "/autograder/submission" in run and "/autograder/results/results.json" in run
        assert "--allow-weak-sandbox" in run  # the bank is root-only there (setup.sh): weak confinement is allowed


# ---------------------------------------------------------------- errors before grading starts

def write_assignment(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "a.yaml"
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.parametrize("text, words", [
    ("name: x\nproblems: [sigmoid-backward, no-such-problem]\n", ["$.problems[1]", "no-such-problem"]),
    ("name: x\nproblems:\n  - {id: sigmoid-backward, points: -1}\n", ["$.problems[0]"]),
    ("problems: [sigmoid-backward]\n", ["'name' is a required property"]),
    ("name: x\nproblems: [sigmoid-backward\n", ["invalid YAML"]),
    ("name: x\nproblems: [sigmoid-backward, sigmoid-backward]\n", ["listed twice"]),
])
def test_broken_assignment_exits_2_before_grading(tmp_path, text, words):
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "a.py").write_text("x = 1\n")
    code, stdout, stderr = run_cli("grade", tmp_path / "class", "--assignment", write_assignment(tmp_path, text),
                                   "--out", tmp_path / "out", "--no-progress")
    assert code == 2, stdout + stderr
    assert all(w in stderr for w in words), stderr
    assert not (tmp_path / "out" / "grades.csv").exists()


def test_two_entries_for_one_student_is_a_usage_error(tmp_path):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "amy.py").write_text("")
    (tmp_path / "c" / "amy").mkdir()
    with pytest.raises(UsageError, match="two submissions for student 'amy'"):
        find_students(tmp_path / "c")


def test_assignment_points_and_file_are_applied(tmp_path):
    path = write_assignment(tmp_path, "name: x\nproblems:\n  - {id: attention, points: 20, file: attention.py}\n"
                                      "  - conv-output-size\nseed: per-student\n")
    assignment = load_assignment(path, Bank())
    assert assignment.max_score == 30 and assignment.problems[0].file == "attention.py"
    assert assignment.seed_for("amy") != assignment.seed_for("bob")


def test_job_id_is_a_content_hash():
    base = dict(files={"a.py": b"x"}, problem_spec={"id": "p"}, points=10.0, reference="r", seed=0,
                limits={"time": 1}, module_name=None, engine="e")
    assert job_id(**base) == job_id(**dict(base))
    for key, value in [("files", {"a.py": b"y"}), ("problem_spec", {"id": "q"}), ("points", 5.0),
                       ("reference", "s"), ("seed", 1), ("limits", {"time": 2}), ("module_name", "a.py"),
                       ("engine", "f"), ("devices", ["cpu", "cuda"]), ("device", "cpu")]:
        assert job_id(**{**base, key: value}) != job_id(**base), key


def test_job_ids_are_the_keys_results_were_cached_under():
    """A class works each problem's part of the key out once (cache.problem_job_ids); its ids are
    exactly job_id's, and job_id's are what they were when results already cached were filed
    (the digest of these parts in this order), so an upgrade does not regrade a class."""
    from grader.classes.batch import ClassGrader
    from grader.classes.cache import canonical, files_digest
    from grader.digests import digest
    from grader.problems.submission import read_submission

    base = dict(files={"a.py": b"x"}, problem_spec={"id": "p", "cases": [1, 2]}, points=10.0, reference="r",
                seed=7, limits={"time": 1}, module_name=None, engine="e", devices=["cpu"], protections="full:x")
    filed = digest(b"grader-job-1", files_digest(base["files"]).encode(), canonical(base["problem_spec"]),
                   canonical(10.0), b"r", canonical(7), canonical({"time": 1}), canonical(None), b"e",
                   canonical(["all", ["cpu"]]), b"full:x")
    assert job_id(**base) == filed

    bank = Bank()
    assignment = load_assignment(EXAMPLES / "assignment.yaml", bank)
    grader = ClassGrader(assignment, bank, executor=None)
    student = find_students(EXAMPLES / "class")[0]
    submission = read_submission(student.path)
    for task, item in zip(grader.tasks_for(student, submission), assignment.problems):
        assert task.job == job_id(
            files=submission.files, problem_spec={"id": item.id, "kind": item.problem.kind, **item.problem.spec},
            points=item.problem.points, reference=grader.references[task.index], seed=task.seed,
            limits=grader.limits.with_overrides(item.problem.spec.get("limits")).as_dict(),
            module_name=item.file, engine=grader.engine, device=grader.device, devices=grader.devices)


def test_progress_plain_lines_and_terminal_bar():
    plain = io.StringIO()
    progress = Progress(plain, tty=False, every=3600)
    for done in range(11):
        progress(done, 10, 2 if done else 0)
    lines = plain.getvalue().splitlines()
    assert len(lines) == 2 and lines[-1].startswith("grading: 10/10 graded") and "/s" in lines[-1]
    bar = io.StringIO()
    progress = Progress(bar, tty=True)
    progress(0, 4, 0)
    progress(4, 4, 0)
    assert bar.getvalue().startswith("\r[") and "ETA" in bar.getvalue() and bar.getvalue().endswith("\n")


def test_examples_class_demo_assignment_is_valid():
    assignment = load_assignment(EXAMPLES / "assignment.yaml", Bank())
    assert [p.id for p in assignment.problems] == ["sigmoid-backward", "adam-step", "coin-entropy",
                                                   "conv-output-size", "attention"]
    students = {s.student: s.path.suffix or "folder" for s in find_students(EXAMPLES / "class")}
    assert {".py", ".ipynb", "folder"} <= set(students.values()) and len(students) >= 4


# ---------------------------------------------------------------- the acceptance run (slow: -m slow)

def make_big_class(root: Path, n: int) -> dict[str, float]:
    """n students cycling through .py files, folders and notebooks, right and wrong; -> expected total
    (None where only 'less than full marks' is known)."""
    root.mkdir(parents=True)
    expected = {}
    for i in range(n):
        student, kind = f"st{i:03d}", i % 7
        correct = all_in_one(CORRECT) + f"# {student}\n"
        if kind in (0, 1):
            (root / f"{student}.py").write_text(correct)
            expected[student] = 25.0
        elif kind == 2:
            (root / f"{student}.py").write_text(all_in_one(BUGGY) + f"# {student}\n")
            expected[student] = None
        elif kind == 3:
            (root / student).mkdir()
            (root / student / "answers.py").write_text(correct)
            (root / student / "notes.md").write_text("notes\n")
            expected[student] = 25.0
        elif kind == 4:
            cells = [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                      "source": ["%load_ext autoreload\n", correct]}]
            (root / f"{student}.ipynb").write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4,
                                                               "nbformat_minor": 5}))
            expected[student] = 25.0
        elif kind == 5:
            (root / f"{student}.py").write_text(correct + "def oops(:\n")
            expected[student] = 0.0
        else:
            (root / f"{student}.py").write_text(correct + "raise SystemExit('bye')\n")
            expected[student] = 0.0
    return expected


@pytest.mark.slow
def test_two_hundred_students_end_to_end(tmp_path, grader_cmd):
    expected = make_big_class(tmp_path / "class", 200)
    assignment = tmp_path / "a.yaml"
    assignment.write_text("name: Big\nproblems: [sigmoid-backward, {id: conv-output-size, points: 5}, coin-entropy]\n")
    out = tmp_path / "out"
    result = grader_cmd("grade", tmp_path / "class", "--assignment", assignment, "--out", out, timeout=1800)
    assert result.exit_code == 0, result.stderr
    rows = {r["student"]: r for r in read_gradebook(out)}
    assert set(rows) == set(expected)
    for student, total in expected.items():
        got = float(rows[student]["total"])
        data = json.loads((out / "students" / f"{student}.json").read_text())
        assert data["score"] == pytest.approx(got, abs=1e-5)
        assert got == total if total is not None else got < 25, student
    root = ET.parse(out / "junit.xml").getroot()
    problems = json.loads((out / "students" / "st000.json").read_text())["problems"]
    per_student = sum(len(p["tests"]) + len(p["skipped"]) for p in problems)  # a skipped CUDA case is a testcase too
    assert len(root.findall(".//testcase")) == 200 * per_student
    again = grader_cmd("grade", tmp_path / "class", "--assignment", assignment, "--out", out, timeout=600)
    assert again.exit_code == 0 and "0 graded" in again.output and "600 from cache" in again.output


def test_notebook_cell_magics_are_skipped_whole():
    from grader.problems.notebook import notebook_to_python

    nb = {"cells": [{"cell_type": "code", "source": "%%bash\necho hi\n"},
                    {"cell_type": "code", "source": ["%%time\n", "x = 1\n", "!ls\n"]},
                    {"cell_type": "markdown", "source": "not code"},
                    {"cell_type": "code", "source": "def f():\n    return x\n"}]}
    source, notes = notebook_to_python(json.dumps(nb).encode(), "hw.ipynb")
    compile(source, "hw.py", "exec")
    namespace = {}
    exec(source, namespace)
    assert namespace["f"]() == 1
    assert any("skipped 2 IPython magic/shell line" in n for n in notes)
    assert any("skipped 1 cell(s)" in n for n in notes)


def test_notebook_magic_as_the_only_line_of_a_block_still_compiles(tmp_path, cli):
    """`%time` or `!nvidia-smi` inside a loop or a function body becomes `pass`, not a syntax error."""
    cells = [{"cell_type": "code", "source": "import torch\n\nfor _ in range(2):\n    !nvidia-smi\n"},
             {"cell_type": "code", "source": ["def sigmoid_backward(x, grad_output):\n",
                                              "    if x.is_cuda:\n", "        %time torch.cuda.synchronize()\n",
                                              "    s = torch.sigmoid(x)\n", "    return grad_output * s * (1 - s)\n"]}]
    path = tmp_path / "hw.ipynb"
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    result = cli("check", "sigmoid-backward", path, "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert "skipped 2 IPython magic/shell line(s)" in result.output
