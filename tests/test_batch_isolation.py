"""Class runs where some entries are broken, odd or hostile: each is that student's result, the
rest of the class is graded and every output is written (issue 11: per-student fault isolation,
lazy reading, symlinked entries, file limits, --student / --fail-under checks, closed stdout)."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.problems.bank import Bank
from grader.render.gradebook import student_file_name
from grader.classes.batch import ClassGrader, grade_class
from grader.classes.pool import LocalPool
from grader.classes.students import find_students
from grader.classes.assignment import parse_assignment

ROOT = Path(__file__).resolve().parent.parent
CORRECT = (ROOT / "examples" / "conv-output-size" / "correct.py").read_text()
BUGGY = (ROOT / "examples" / "conv-output-size" / "buggy.py").read_text()
FULL = 10.0  # conv-output-size's points


def notebook(source) -> str:
    return json.dumps({"cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                                  "source": source}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


# The child's own encoder patched: every case frame says "seconds": 1e400 (JSON's infinity).
FORGED_SECONDS = """
from grader.sandbox import codec

_encode = codec.encode


def forged_encode(value, *, header=None):
    header = dict(header or {})
    if header.get("type") != "case":
        return _encode(value, header=header)
    header["seconds"] = 0.00125  # a sentinel as long as its replacement
    return _encode(value, header=header).replace(b'"seconds":0.00125', b'"seconds":1.0e400')


codec.encode = forged_encode
"""


def fsname(folder: Path, name: bytes) -> Path:
    """A path whose last part is raw bytes (not necessarily UTF-8), as Python names it."""
    return Path(os.fsdecode(os.fsencode(folder) + b"/" + name))


def make_class(root: Path, outside: Path) -> tuple[dict[str, float], dict[str, str]]:
    """Honest students (-> full marks) and bad entries (-> words their message must hold)."""
    root.mkdir()
    honest, bad = {}, {}
    (root / "amy.py").write_text(CORRECT)
    honest["amy"] = FULL
    repo = root / "bob"  # a repository: the code plus a 300-file data folder and a picture
    (repo / "data").mkdir(parents=True)
    for i in range(300):
        (repo / "data" / f"{i}.csv").write_text("1,2\n")
    (repo / "plot.png").write_bytes(b"\x89PNG" + bytes(1000))
    (repo / "conv.py").write_text(CORRECT)
    honest["bob"] = FULL
    fsname(root, b"caf\xe9.py").write_text(CORRECT)  # a file name that is not UTF-8
    honest["caf\\xe9"] = FULL
    folder = fsname(root, b"d\xffn")  # a folder name that is not UTF-8
    folder.mkdir()
    (folder / "conv.py").write_text(CORRECT)
    honest["d\\xffn"] = FULL
    (root / ("l" * 250)).mkdir()  # the longest name a folder may have, minus '.json'
    (root / ("l" * 250) / "conv.py").write_text(CORRECT)
    honest["l" * 250] = FULL
    (root / "eve\x1b[31m.py").write_text(CORRECT)  # control characters in the name
    honest["eve\\x1b[31m"] = FULL
    (root / "fay").symlink_to("bob")  # a link inside the class folder: graded
    honest["fay"] = FULL
    (root / '=HYPERLINK("x").py').write_text(CORRECT)  # a spreadsheet formula as a name
    honest['=HYPERLINK("x")'] = FULL

    (root / "gus.ipynb").write_text('{"cells": 1, "nbformat": 4}')  # cells not a list (27 bytes)
    bad["gus"] = "notebook"
    (root / "hal.ipynb").write_text(notebook([1, 2, 3]))  # a source list of ints
    bad["hal"] = "source is not text"
    (root / "ida.ipynb").write_text('{"cells": ' + "[" * 50_000 + "]" * 50_000 + "}")  # nested 50000 deep
    bad["ida"] = "notebook"
    (root / "jon.ipynb").write_text(notebook(CORRECT + "#" * (6 << 20) + "\n"))  # over the 5 MB limit
    bad["jon"] = "too big"
    (root / "kim.py").write_text("x = a" + ".b" * 200_000 + "\n" + CORRECT)  # deep source: the parser's limits
    bad["kim"] = ""
    (root / "lou.py").symlink_to(outside)  # a link out of the class folder
    bad["lou"] = "symbolic link to outside the class folder"
    (root / "max.py").symlink_to(root / "nowhere.py")  # dangling
    bad["max"] = "symbolic link to nothing"
    os.mkfifo(root / "ned.py")  # not a regular file (reading it would block)
    bad["ned"] = "not a regular file"
    (root / "oli.py").write_text(BUGGY)  # an honest wrong answer stays a wrong answer
    bad["oli"] = ""
    (root / "pat.py").write_text(FORGED_SECONDS + CORRECT)  # right answers in frames claiming 1e400 s
    bad["pat"] = "could not be read"
    return honest, bad


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    outside = base / "secret.py"
    outside.write_text(CORRECT)
    honest, bad = make_class(base / "class", outside)
    assignment = base / "a.yaml"
    assignment.write_text("name: hostile\nproblems: [conv-output-size]\nlimits: {time: 5}\n")
    out = base / "out"
    args = [sys.executable, "-m", "grader", "grade", base / "class", "--assignment", assignment, "--out", out,
            "--no-progress", "--fail-under", "100%"]
    runs = [subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600) for _ in range(2)]
    return {"honest": honest, "bad": bad, "out": out, "runs": runs, "base": base}


def gradebook(out: Path) -> dict[str, dict]:
    """grades.csv by student id (a neutralised formula cell, '=..., read back as the id =...)."""
    rows = csv.DictReader(io.StringIO((out / "grades.csv").read_text()))
    return {row["student"][1:] if row["student"].startswith("'=") else row["student"]: row for row in rows}


def test_every_output_of_the_hostile_class_is_valid_for_its_consumer(hostile_class):
    """Issue 11's acceptance: JUnit valid against junit-10.xsd, strict JSON, no formula cells, in both runs."""
    xmlschema = pytest.importorskip("xmlschema", reason="pip install -e '.[test]' (xmlschema checks junit.xml)")
    schema = xmlschema.XMLSchema(ROOT / "tests" / "data" / "junit-10.xsd")
    out = hostile_class["out"]
    schema.validate((out / "junit.xml").read_text(encoding="utf-8"))

    def no_constants(name):
        raise ValueError(f"{name} is not JSON")

    for path in (out / "students").iterdir():
        json.loads(path.read_text(encoding="utf-8"), parse_constant=no_constants)
    for row in csv.reader(io.StringIO((out / "grades.csv").read_text(encoding="utf-8"))):
        assert not row[0].startswith(("=", "+", "-", "@", "\t", "\r")), row[0]
    text = (out / "summary.txt").read_text(encoding="utf-8") + hostile_class["runs"][1].stdout
    assert "\x1b" not in text


def test_a_hostile_class_is_graded_and_every_output_written(hostile_class):
    first = hostile_class["runs"][0]
    assert first.returncode == 1, first.stderr  # below --fail-under, not the grader's failure (3)
    assert "internal error" not in first.stderr and "Traceback" not in first.stderr
    out = hostile_class["out"]
    for name in ("grades.csv", "junit.xml", "summary.txt"):
        assert (out / name).stat().st_size > 0
    rows = gradebook(out)
    everyone = {**hostile_class["honest"], **hostile_class["bad"]}
    assert set(rows) == set(everyone)
    for student, total in hostile_class["honest"].items():
        assert float(rows[student]["total"]) == total, student
        data = json.loads((out / "students" / student_file_name(student)).read_text())
        assert data["score"] == total and data["student"] == student
    for student, words in hostile_class["bad"].items():
        assert float(rows[student]["total"]) < FULL, student
        data = json.loads((out / "students" / student_file_name(student)).read_text())
        problem = data["problems"][0]
        message = problem["error"] or " ".join(t["output"] for t in problem["tests"])
        assert message and words in message, (student, message)


def test_a_rerun_gives_the_same_grades(hostile_class):
    first, second = hostile_class["runs"]
    assert second.returncode == 1, second.stderr
    assert "internal error" not in second.stderr
    assert "from cache" in second.stdout
    rows = gradebook(hostile_class["out"])
    assert all(float(rows[s]["total"]) == FULL for s in hostile_class["honest"])


def test_the_data_folder_is_left_out_with_a_note(hostile_class):
    data = json.loads((hostile_class["out"] / "students" / "bob.json").read_text())
    assert any("not part of the submission (301 file(s)" in note for note in data["problems"][0]["feedback"])


def test_nothing_is_written_outside_the_output_folder(hostile_class):
    names = sorted(p.name for p in hostile_class["base"].iterdir())
    assert names == ["a.yaml", "class", "out", "secret.py"]


# ---------------------------------------------------------------- reading lazily

def test_students_are_read_one_at_a_time_and_dropped_when_done(tmp_path, executor, monkeypatch):
    """With one worker, the last student is read only after the first one's job ran, and no more
    than the students of the jobs in flight are held at once."""
    root = tmp_path / "class"
    root.mkdir()
    for i in range(6):
        (root / f"s{i}.py").write_text(CORRECT + f"# student {i}\n")
    bank = Bank()
    assignment = parse_assignment({"name": "lazy", "problems": ["conv-output-size"]}, Path("<test>"), bank)
    events, held = [], []
    real_read, real_grade = ClassGrader.read, ClassGrader.grade

    def read(self, entry):
        events.append(("read", entry.student))
        return real_read(self, entry)

    def grade(self, task):
        held.append(len(self.submissions))
        result = real_grade(self, task)
        events.append(("graded", task.student))
        return result

    monkeypatch.setattr(ClassGrader, "read", read)
    monkeypatch.setattr(ClassGrader, "grade", grade)
    with LocalPool(jobs=1) as pool:
        report = grade_class(assignment, find_students(root), bank=bank, pool=pool, executor=executor)
    assert [s.score for s in report.students] == [FULL] * 6
    assert events.index(("graded", "s0")) < events.index(("read", "s5"))
    assert max(held) <= 2  # one job running, one waiting: never the whole class


def test_identical_submissions_met_later_record_one_result(tmp_path, executor):
    root = tmp_path / "class"
    root.mkdir()
    for name in ("a", "b", "c", "d", "e"):  # folders: the same file names and bytes, one job id
        (root / name).mkdir()
        (root / name / "conv.py").write_text(CORRECT)
    bank = Bank()
    assignment = parse_assignment({"name": "twins", "problems": ["conv-output-size"]}, Path("<test>"), bank)
    with LocalPool(jobs=1) as pool:
        report = grade_class(assignment, find_students(root), bank=bank, pool=pool, executor=executor)
    assert report.graded == 1 and [s.score for s in report.students] == [FULL] * 5
    assert [s.problems[0].student for s in report.students] == ["a", "b", "c", "d", "e"]


# ---------------------------------------------------------------- which files form a submission

def test_the_assignment_can_name_the_data_files_the_code_needs(tmp_path, cli):
    student = tmp_path / "class" / "amy"
    (student / "data").mkdir(parents=True)
    (student / "data" / "offset.txt").write_text("1\n")
    (student / "conv.py").write_text(CORRECT.replace(
        "    return math.floor((n - f + 2 * p) / s) + 1",
        "    return math.floor((n - f + 2 * p) / s) + OFFSET") + "\nOFFSET = int(open('data/offset.txt').read())\n")
    plain = tmp_path / "plain.yaml"
    plain.write_text("name: x\nproblems: [conv-output-size]\n")
    with_data = tmp_path / "data.yaml"
    with_data.write_text("name: x\nproblems: [conv-output-size]\nfiles: ['*.py', 'data/*.txt']\n")
    cli("grade", tmp_path / "class", "--assignment", plain, "--out", tmp_path / "o1", "--no-progress")
    cli("grade", tmp_path / "class", "--assignment", with_data, "--out", tmp_path / "o2", "--no-progress")
    without = json.loads((tmp_path / "o1" / "students" / "amy.json").read_text())
    assert without["score"] == 0 and "offset.txt" in without["problems"][0]["error"]
    assert json.loads((tmp_path / "o2" / "students" / "amy.json").read_text())["score"] == FULL


def test_a_notebook_counts_against_the_size_limit(tmp_path, cli):
    path = tmp_path / "big.ipynb"
    path.write_text(notebook(CORRECT + "#" * (6 << 20) + "\n"))
    result = cli("check", "conv-output-size", path)
    # the student's result (exit 1), with what to do: a notebook is mostly too big for its outputs
    assert result.exit_code == 1 and "too big" in result.output and "Clear the notebook's outputs" in result.output


# ---------------------------------------------------------------- the command line

@pytest.fixture
def one_student(tmp_path):
    (tmp_path / "amy.py").write_text(CORRECT)
    (tmp_path / "a.yaml").write_text("name: x\nproblems: [conv-output-size]\n")
    return tmp_path


@pytest.mark.parametrize("student", ["../../x", "a/b", "..", "a\\b", "x\x00y", "eve\x1b[31m", ""])
def test_a_student_id_that_could_leave_the_output_folder_is_a_usage_error(one_student, cli, student):
    result = cli("grade", one_student / "amy.py", "--single", "--student", student, "--assignment",
                 one_student / "a.yaml", "--out", one_student / "out", "--no-progress")
    assert result.exit_code == 2 and "--student" in result.stderr
    assert not (one_student / "out").exists() and not (one_student / "x.json").exists()


def test_a_single_submission_whose_name_cannot_be_an_id_is_graded_as_submission(one_student, cli):
    (one_student / "sub").mkdir()
    result = cli("grade", one_student / "sub" / "..", "--single", "--assignment", one_student / "a.yaml",
                 "--out", one_student / "out", "--no-progress")
    assert result.exit_code == 0, result.stderr
    assert json.loads((one_student / "out" / "students" / "submission.json").read_text())["score"] == FULL


@pytest.mark.parametrize("value", ["150%", "-5", "11", "-1%", "nan", "inf", "abc"])
def test_fail_under_out_of_range_is_a_usage_error(one_student, cli, value):
    result = cli("grade", one_student, "--assignment", one_student / "a.yaml", "--out", one_student / "out",
                 "--no-progress", "--fail-under", value)
    assert result.exit_code == 2 and "--fail-under" in result.stderr
    assert not (one_student / "out" / "grades.csv").exists()


@pytest.mark.parametrize("args, status", [
    (["list"], 0),
    (["check", "conv-output-size", ROOT / "examples" / "conv-output-size" / "buggy.py"], 1),
])
def test_a_closed_stdout_ends_quietly_with_the_usual_status(args, status):
    """`grader list | head`: the reader is gone before the grader writes (the pipe is closed at once)."""
    proc = subprocess.Popen([sys.executable, "-m", "grader", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == status, stderr
    assert "rror" not in stderr, stderr


# ---------------------------------------------------------------- exit 3: only a broken grader

@pytest.fixture
def three_students(tmp_path):
    (tmp_path / "class").mkdir()
    for name in ("amy", "bob", "cid"):
        (tmp_path / "class" / f"{name}.py").write_text(CORRECT + f"# {name}\n")
    (tmp_path / "a.yaml").write_text("name: x\nproblems: [conv-output-size]\n")
    return tmp_path


def crash_on(monkeypatch, students: set[str]) -> None:
    """The trusted grading code raises for these students (as on data it did not foresee)."""
    from grader.classes import batch

    real = batch.kind_of

    def kind_of(name):
        kind = real(name)

        class Crashing(type(kind)):
            def grade(self, problem, submission, **options):
                if options.get("student") in students:
                    raise RecursionError("maximum recursion depth exceeded")
                return kind.grade(problem, submission, **options)
        return Crashing()
    monkeypatch.setattr(batch, "kind_of", kind_of)


def test_a_grader_failure_on_one_students_data_is_their_result(three_students, cli, monkeypatch):
    crash_on(monkeypatch, {"bob"})
    out = three_students / "out"
    result = cli("grade", three_students / "class", "--assignment", three_students / "a.yaml", "--out", out,
                 "--no-progress")
    assert result.exit_code == 0, result.stderr
    assert "could not grade 1 problem-submission(s) of bob" in result.stderr
    rows = gradebook(out)
    assert rows["amy"]["total"] == rows["cid"]["total"] == "10" and rows["bob"]["total"] == "0"
    bob = json.loads((out / "students" / "bob.json").read_text())["problems"][0]
    assert bob["grader_error"] and "RecursionError" in bob["error"] and "tell course staff" in bob["error"]


def test_a_grader_that_fails_on_everyone_exits_3_with_every_output_written(three_students, cli, monkeypatch):
    crash_on(monkeypatch, {"amy", "bob", "cid"})
    out = three_students / "out"
    result = cli("grade", three_students / "class", "--assignment", three_students / "a.yaml", "--out", out,
                 "--no-progress")
    assert result.exit_code == 3 and "every submission of conv-output-size" in result.stderr
    assert set(gradebook(out)) == {"amy", "bob", "cid"} and (out / "junit.xml").exists()


def test_an_output_that_cannot_be_rendered_costs_no_other_output(three_students, cli, monkeypatch):
    """A renderer that fails (a grader bug) on one student's JSON or on the whole JUnit file: the
    other outputs are still written; only a whole-class output failing makes the run exit 3."""
    import grader.render.gradebook as gradebook_module
    import grader.render.junit as junit_module

    real = gradebook_module.student_json

    def student_json(student):
        if student.student == "bob":
            raise ValueError("cannot render bob")
        return real(student)

    monkeypatch.setattr(gradebook_module, "student_json", student_json)
    args = ["grade", three_students / "class", "--assignment", three_students / "a.yaml", "--no-progress"]
    result = cli(*args, "--out", three_students / "o1")
    assert result.exit_code == 0 and "Warning: could not write" in result.stderr and "bob" in result.stderr
    assert sorted(p.name for p in (three_students / "o1" / "students").iterdir()) == ["amy.json", "cid.json"]
    assert "Not written:" in (three_students / "o1" / "summary.txt").read_text()

    monkeypatch.setattr(junit_module, "junit_xml", lambda report: 1 / 0)
    result = cli(*args, "--out", three_students / "o2")
    assert result.exit_code == 3 and "junit.xml (ZeroDivisionError" in result.stderr
    assert set(gradebook(three_students / "o2")) == {"amy", "bob", "cid"}
    assert (three_students / "o2" / "summary.txt").exists() and not (three_students / "o2" / "junit.xml").exists()
