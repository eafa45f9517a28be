"""Every output validates for its real consumer, whatever the students are called and whatever
their code prints (issue 11, item 6): JUnit against Jenkins' junit-10.xsd, strict JSON, CSV cells
no spreadsheet runs, GitHub Classroom points that add up exactly to the gradebook, Gradescope
plain text, per-student file names that always fit, nothing raw on the terminal."""
from __future__ import annotations

import base64
import csv
import io
import json
import os
import random
import re
import stat
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
import xmlschema
from click.testing import CliRunner

from grader.problems.bank import Bank
from grader.classes.batch import ClassReport
from grader.classes.assignment import parse_assignment
from grader.classes.outputs import write_outputs
from grader.result import StudentResult
from grader.cli.main import main
from grader.render.classroom import MAX_ENCODED, decode, encode, error_result, reporter_sum, runner_result
from grader.render.gradebook import FORMULA_START, number, student_file_name
from grader.render.gradescope import results_json
from grader.render.junit import junit_xml
from grader.render.summary import render_summary
from grader.result import ProblemResult, Status, split_points
from grader.result import TestResult as CaseResult  # (not a pytest test class)
from grader.problems.submission import printable

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
JUNIT_SCHEMA = xmlschema.XMLSchema(ROOT / "tests" / "data" / "junit-10.xsd")
LONG_ID = "a" * 250
HOSTILE_IDS = ["eve\x1b[31m", '=HYPERLINK("x")', "+1+1", "@SUM(1)", "-2+3", LONG_ID, "tab\there", "rtl\u202etxt.exe"]
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f\u202e\ud800-\udfff]")  # what must never reach a terminal or file raw


def run_cli(*args, env=None):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False, env=env)
    return result.exit_code, result.stdout, result.stderr


def strict_load(text: str):
    """json.loads that refuses NaN and Infinity (as most JSON parsers do)."""
    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")
    return json.loads(text, parse_constant=refuse)


def csv_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def assert_csv_safe(rows: list[list[str]]) -> None:
    for row in rows:
        assert not row[0].startswith(FORMULA_START), row[0]
        for cell in row[1:] if row is not rows[0] else []:
            float(cell)  # score cells stay numbers


# ---------------------------------------------------------------- a hostile class, through the real CLI

CORRECT_CONV = (EXAMPLES / "conv-output-size" / "correct.py").read_text()
SHOUTING = textwrap.dedent("""\
    def conv_output_size(n, kernel, stride=1, padding=0, dilation=1):
        raise ValueError("no \\x1b[2J\\x1b[31m way \\u202e \\udcff\\r<b>bold</b> &amp;")
""")


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory):
    """Correct students named like attacks, one whose errors carry escapes and a lone surrogate,
    one that fails to load; one cheap problem plus one with CUDA cases (skipped without a GPU)."""
    base = tmp_path_factory.mktemp("hostile")
    klass = base / "class"
    klass.mkdir()
    for student in HOSTILE_IDS:
        (klass / f"{student}.py").write_text(CORRECT_CONV)
    (klass / "shouting.py").write_text(SHOUTING)
    (klass / "crash.py").write_text("raise RuntimeError('crash at import: \\x1b[31m')\n")
    assignment = base / "a.yaml"
    assignment.write_text("name: Hostile\nproblems: [conv-output-size]\n")
    out = base / "out"
    code, stdout, stderr = run_cli("grade", klass, "--assignment", assignment, "--out", out, "--no-progress")
    return {"base": base, "class": klass, "assignment": assignment, "out": out, "code": code,
            "stdout": stdout, "stderr": stderr, "ids": HOSTILE_IDS + ["shouting", "crash"]}


def test_a_hostile_class_is_graded_and_every_student_gets_a_json_file(hostile_class):
    assert hostile_class["code"] == 0, hostile_class["stderr"]
    for name in hostile_class["ids"]:
        student = printable(name)  # the id the grader gives a file name with control characters
        path = hostile_class["out"] / "students" / student_file_name(student)
        data = strict_load(path.read_text(encoding="utf-8"))
        assert data["student"] == student  # the real id inside, whatever the file is called
        assert data["score"] == (0 if student in ("shouting", "crash") else 10)
    names = os.listdir(hostile_class["out"] / "students")
    assert len(names) == len(hostile_class["ids"]) and all(len(n.encode()) <= 130 for n in names)


def test_ordinary_ids_keep_their_file_name_and_odd_ones_get_a_bounded_unique_one():
    for ordinary in ("s01", "jane.doe", "Zoë Martin", "李雷", "x+y@uni", "st-007_b"):
        assert student_file_name(ordinary) == f"{ordinary}.json"
    odd = ["eve\x1b[31m", '=HYPERLINK("x")', '=HYPERLINK("y")', "@SUM(1)", "-2+3", LONG_ID, LONG_ID + "b",
           "tab\there", "rtl\u202etxt.exe", "../../x", ".hidden", "", "bad\udcff", "bad\udcfe", "a/b", "a\\b"]
    names = [student_file_name(s) for s in odd]
    assert len(set(names)) == len(names)  # distinct ids, distinct files
    for name in names:
        assert "/" not in name and not name.startswith(".") and "~" in name
        assert len(f".{name}.tmp".encode()) <= 255 and RAW.search(name) is None


def test_junit_validates_against_the_xunit_schema(hostile_class):
    text = (hostile_class["out"] / "junit.xml").read_text(encoding="utf-8")
    JUNIT_SCHEMA.validate(text)
    assert RAW.search(text) is None
    times = re.findall(r' time="([^"]*)"', text)
    assert times and all(re.fullmatch(r"\d+\.\d{3}", t) for t in times)
    assert 'classname="eve\\x1b[31m.conv-output-size"' in text
    assert "ValueError: no \\x1b[2J" in text  # the student's message, escaped, in the failure
    assert "crash at import" in text          # a load failure says why, not only "when it was loaded:"


def test_gradebook_cells_are_never_formulas(hostile_class):
    rows = csv_rows(hostile_class["out"] / "grades.csv")
    assert_csv_safe(rows)
    students = {row[0]: row for row in rows[1:]}
    assert {"'=HYPERLINK(\"x\")", "'+1+1", "'@SUM(1)", "'-2+3", "eve\\x1b[31m", "tab\\x09here"} <= set(students)
    assert students["'=HYPERLINK(\"x\")"][1:] == ["10", "10"]


def test_summary_and_terminal_show_nothing_raw(hostile_class):
    for text in (hostile_class["stdout"], (hostile_class["out"] / "summary.txt").read_text(encoding="utf-8")):
        assert RAW.search(text) is None and "Slowest submissions" in text


def test_check_shows_a_hostile_exception_message_escaped_and_its_json_is_strict(tmp_path, grader_cmd):
    """A lone surrogate in an exception message used to crash the text output (exit 3)."""
    path = tmp_path / "shouting.py"
    path.write_text(SHOUTING)
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}  # a strict UTF-8 terminal
    text = grader_cmd("check", "conv-output-size", path, env=env)
    assert text.exit_code == 1, text.stderr
    assert RAW.search(text.output) is None and "\\udcff" in text.output and "\\x1b[2J" in text.output
    as_json = grader_cmd("check", "conv-output-size", path, "--json", env=env)
    assert as_json.exit_code == 1
    data = strict_load(as_json.output)
    assert "\\udcff" in data["tests"][0]["output"]


def test_student_option_cannot_name_a_path(hostile_class, tmp_path):
    submission = hostile_class["class"] / "+1+1.py"
    code, _, stderr = run_cli("grade", submission, "--single", "--student", "../../escaped",
                              "--assignment", hostile_class["assignment"], "--out", tmp_path / "out", "--no-progress")
    assert code == 2 and "a student id cannot" in stderr
    assert not (tmp_path / "escaped.json").exists() and not (tmp_path.parent / "escaped.json").exists()


# ---------------------------------------------------------------- hand-built reports: every odd value

def hand_built_report(ids: list[str], bank: Bank, message: str = "wrong", seconds: float = 0.25) -> ClassReport:
    """A class on three problems whose points split awkwardly (10/11, 5/6, 1/3...), partial credit."""
    assignment = parse_assignment({"name": "Odd \x1b[1m HW", "problems": [
        "sigmoid-backward", {"id": "conv-output-size", "points": 7}, {"id": "coin-entropy", "points": 33.3}]},
        Path("<test>"), bank)
    students = []
    for n, student in enumerate(ids):
        problems = []
        for index, item in enumerate(assignment.problems):
            cases = item.problem.cases
            maxima = split_points(item.problem.points, [float(c.get("weight", 1)) for c in cases])
            tests = []
            for k, (case, top) in enumerate(zip(cases, maxima)):
                share = [1.0, 0.0, 1 / 3, 0.7777777][(n + k + index) % 4]
                tests.append(CaseResult(name=case["name"], score=top * share, max_score=top,
                                        status=Status.PASSED if share == 1.0 else Status.FAILED,
                                        output="" if share == 1.0 else message, seconds=seconds, outcome="wrong",
                                        visible=bool(case.get("visible", True))))
            skipped = [CaseResult(name="on-gpu", score=0.0, max_score=0.0, status=Status.SKIPPED,
                                  output="skipped: no CUDA device", device="cuda")]
            problems.append(ProblemResult(problem=item.id, title=item.problem.title,
                                          score=sum(t.score for t in tests), max_score=item.problem.points,
                                          tests=tests, student=student, submission=f"{student}.py", seconds=seconds,
                                          skipped=skipped, stdout=message))
        students.append(StudentResult(student, f"/class/{student}.py", problems))
    return ClassReport(assignment, students, wall=1.5, graded=len(ids) * 3, jobs=2)


@pytest.fixture(scope="module")
def bank():
    return Bank()


ODD_IDS = HOSTILE_IDS + ["lone\udcffsurrogate", "nul\x00byte", "bell\x07", "c1\x85next", "nonchar\ufffe"]
ODD_MESSAGE = "got \x1b[31mred\x1b[0m \udcff \x00 \ufffe \u202e\r\n<script>alert(1)</script> " + "y" * 50


def test_hand_built_hostile_report_every_output_validates(bank, tmp_path):
    report = hand_built_report(ODD_IDS, bank, message=ODD_MESSAGE, seconds=float("inf"))
    report.students[0].problems[0].grader_error = True
    report.students[0].problems[0].error = "the grader ran into an error (\x1b[1m)\nsecond line"
    report.students[1].problems[1].error = "s.py raised an error when it was loaded:\n  ValueError: \udcff"
    report.students[1].problems[1].tests[0].seconds = float("nan")
    report.students[2].problems[2].tests[0].timing = {"ratio": float("inf"), "max_ratio": 2.0}
    paths = write_outputs(report, tmp_path)

    junit = paths["junit"].read_text(encoding="utf-8")
    JUNIT_SCHEMA.validate(junit)
    assert RAW.search(junit) is None and "\\udcff" in junit and "ValueError" in junit
    assert all(t in ("0.000", "1.500") for t in re.findall(r' time="([^"]*)"', junit))  # inf and nan seconds: 0.000

    for student in report.students:
        data = strict_load((paths["students"] / student_file_name(student.student)).read_text(encoding="utf-8"))
        assert data["student"] == student.student.encode("utf-8", "backslashreplace").decode()
    nan_student = strict_load((paths["students"] / student_file_name(ODD_IDS[1])).read_text(encoding="utf-8"))
    assert nan_student["problems"][1]["tests"][0]["seconds"] is None
    assert "$.tests[0].seconds" in nan_student["problems"][1]["non_finite"]  # says which number was replaced
    timing = strict_load((paths["students"] / student_file_name(ODD_IDS[2])).read_text(encoding="utf-8"))
    assert timing["problems"][2]["tests"][0]["timing"]["ratio"] is None

    assert_csv_safe(csv_rows(paths["gradebook"]))
    summary = paths["summary"].read_text(encoding="utf-8")
    assert RAW.search(summary) is None and "GRADER ERRORS" in summary
    every = render_summary(report, slowest=len(ODD_IDS))
    assert RAW.search(every) is None and "eve\\x1b[31m" in every and "lone\\udcffsurrogate" in every


def test_gradescope_results_are_plain_text_strict_json_with_reasons(bank):
    report = hand_built_report(["eve\x1b[31m"], bank, message=ODD_MESSAGE)
    problem = report.students[0].problems[1]
    problem.error = "s.py raised an error when it was loaded:\n  RuntimeError: crash at import"
    for test in problem.tests:
        test.output, test.status = "not run: s.py raised an error when it was loaded:", Status.FAILED
    data = strict_load(json.dumps(results_json(report.students[0], report.assignment, float("inf")), allow_nan=False))
    assert data["output_format"] == data["test_output_format"] == data["test_name_format"] == "text"
    assert data["execution_time"] == 0
    for test in data["tests"]:
        assert test["output_format"] == test["name_format"] == "text"
        assert RAW.search(test["output"]) is None
    not_run = [t for t in data["tests"] if t["name"].startswith("conv-output-size")]
    assert not_run and all("RuntimeError: crash at import" in t["output"] for t in not_run)
    assert "RuntimeError: crash at import" in data["output"] and RAW.search(data["output"]) is None


# ---------------------------------------------------------------- GitHub Classroom

def points_line(result: dict) -> str:
    """What the reporter records: `Points ${sum of scores}/${max_score}`; JS prints a number the way
    Python's repr does (shortest round trip), with integral values printed without `.0`."""
    def js(x: float) -> str:
        return str(int(x)) if x == int(x) else repr(x)
    return f"Points {js(reporter_sum([t['score'] for t in result['tests']]))}/{js(result['max_score'])}"


def test_classroom_points_are_exactly_the_gradebook_total(bank):
    report = hand_built_report([f"s{i}" for i in range(12)], bank)
    for student in report.students:
        result = decode(encode(runner_result(student)))
        assert points_line(result) == f"Points {number(student.score)}/{number(student.max_score)}"
        assert all(t["score"] >= 0 for t in result["tests"])
        assert all(abs(t["score"] - s.score) < 2e-6 for t, s in zip(result["tests"], [x for p in student.problems
                                                                                      for x in p.tests]))
    full = report.students[0]
    for problem in full.problems:
        for test in problem.tests:
            test.score, test.status = test.max_score, Status.PASSED
        problem.score = sum(test.score for test in problem.tests)
    assert points_line(runner_result(full)) == "Points 50.3/50.3"


def test_classroom_points_add_up_for_many_random_splits(bank):
    """The reporter adds floats left to right; the sum must be the gradebook's number every time."""
    rng = random.Random(11)
    for trial in range(300):
        problems = []
        for p in range(rng.randint(1, 6)):
            points = rng.choice([1, 3, 7, 10, 12.5, 20, 33.3, 60, 1000])
            maxima = split_points(points, [rng.choice([0.5, 1, 1, 2, 3]) for _ in range(rng.randint(1, 15))])
            tests = [CaseResult(name=f"c{k}", score=m * rng.choice([1, 1, 0, 0.5, 1 / 3, 0.7777777]), max_score=m,
                                status=Status.FAILED) for k, m in enumerate(maxima)]
            problems.append(ProblemResult(problem=f"p{p}", title="", score=sum(t.score for t in tests),
                                          max_score=points, tests=tests))
        student = StudentResult("s", "s.py", problems)
        result = runner_result(student)
        assert points_line(result) == f"Points {number(student.score)}/{number(student.max_score)}", trial


def test_classroom_result_stays_under_the_environment_limit(bank):
    huge = "\x1b[31m" + "x" * 100_000
    report = hand_built_report(["big"], bank, message=huge)
    student = report.students[0]
    many = student.problems[0]
    many.tests = many.tests * 20  # hundreds of tests with a long message each
    many.score = sum(t.score for t in many.tests)
    many.max_score = sum(t.max_score for t in many.tests)
    encoded = encode(runner_result(student))
    assert len(encoded) <= MAX_ENCODED < 128 * 1024
    result = decode(encoded)
    assert points_line(result) == f"Points {number(student.score)}/{number(student.max_score)}"
    messages = " ".join(t["message"] for t in result["tests"])
    assert "more characters" in messages or any("cases)" in t["name"] for t in result["tests"])
    assert "\x1b" not in messages


def test_classroom_error_result_is_valid():
    result = decode(encode(error_result("spec \x1b[1m broken \udcff", 25)))
    assert result["status"] == "error" and result["max_score"] == 25 and len(result["tests"]) == 1
    assert result["tests"][0]["status"] == "error" and "\\udcff" in result["tests"][0]["message"]
    assert result["tests"][0]["line_no"] == 0 and result["tests"][0]["score"] == 0


def test_classroom_writes_a_result_even_when_the_grader_fails(tmp_path, hostile_class, monkeypatch):
    github_output = tmp_path / "github_output"
    github_output.write_text("")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\nproblems: [no-such-problem]\n")
    submission = hostile_class["class"] / "+1+1.py"
    env = {"GITHUB_OUTPUT": str(github_output)}
    code, stdout, stderr = run_cli("grade", submission, "--single", "--assignment", broken, "--out", tmp_path / "o",
                                   "--classroom", "--no-progress", env=env)
    assert code == 2 and "no-such-problem" in stderr
    line = github_output.read_text().strip()
    assert line.startswith("result=") and line.count("\n") == 0
    result = decode(line.removeprefix("result="))
    assert result["status"] == "error" and "no-such-problem" in result["tests"][0]["message"]
    assert decode(stdout.strip().splitlines()[-1]) == result

    import grader.cli.grade

    def explode(*args, **kwargs):
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(grader.cli.grade, "grade_class", explode)
    github_output.write_text("")
    code, _, stderr = run_cli("grade", submission, "--single", "--assignment", hostile_class["assignment"],
                              "--out", tmp_path / "o", "--classroom", "--no-progress", env=env)
    assert code == 3 and "internal error" in stderr
    result = decode(github_output.read_text().strip().removeprefix("result="))
    assert result["status"] == "error" and "disk on fire" in result["tests"][0]["message"]


# ---------------------------------------------------------------- the Gradescope autograder zip

def fake_tools(folder: Path) -> Path:
    """apt-get and python3 stand-ins: `python3 -m venv V` makes a V/bin/pip that logs its arguments."""
    folder.mkdir()
    (folder / "apt-get").write_text("#!/bin/sh\nexit 0\n")
    (folder / "python3").write_text(textwrap.dedent("""\
        #!/bin/sh
        mkdir -p "$3/bin"
        printf '#!/bin/sh\\necho "$@" >> "%s/pip.log"\\n' "$AUTOGRADER" > "$3/bin/pip"
        chmod +x "$3/bin/pip"
        """))
    for tool in folder.iterdir():
        tool.chmod(0o755)
    return folder


@pytest.mark.parametrize("setting, expected", [
    ("", ["torch"]),
    ("  torch: torch==2.4.1 --index-url https://download.pytorch.org/whl/cpu\n",
     ["torch==2.4.1", "--index-url", "https://download.pytorch.org/whl/cpu"]),
])
def test_setup_sh_installs_from_pypi_and_locks_the_bank(tmp_path, setting, expected):
    assignment = tmp_path / "a.yaml"
    assignment.write_text("name: hw\nproblems: [conv-output-size]\n" + (f"gradescope:\n{setting}" if setting else ""))
    code, stdout, _ = run_cli("gradescope", assignment, "--out", tmp_path / "autograder.zip")
    assert code == 0, stdout
    autograder = tmp_path / "autograder"
    source = autograder / "source"
    with zipfile.ZipFile(tmp_path / "autograder.zip") as zf:
        zf.extractall(source)
        modes = {info.filename: (info.external_attr >> 16) & 0o777 for info in zf.infolist()}
    assert all(mode == 0o600 for name, mode in modes.items() if name.startswith("bank/") or name == "assignment.yaml")
    for path in source.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)  # as a careless unzip leaves them: world-readable
    env = {**os.environ, "AUTOGRADER": str(autograder),
           "PATH": f"{fake_tools(tmp_path / 'tools')}:{os.environ['PATH']}"}
    done = subprocess.run(["bash", source / "setup.sh"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    secret = [source / "assignment.yaml", source / "bank", *(source / "bank").rglob("*")]
    assert any(p.suffix == ".py" and "reference" in p.parts for p in secret)
    for path in secret:
        assert path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO) == 0, path  # root only
    pip = [line.split() for line in (autograder / "pip.log").read_text().splitlines()]
    torch = next(args for args in pip if args[:1] == ["install"] and any(a.startswith("torch") for a in args))
    assert torch[1:] == expected
    assert "download.pytorch.org" not in (source / "setup.sh").read_text() or setting


def test_setup_sh_quotes_the_torch_setting(tmp_path):
    assignment = tmp_path / "a.yaml"
    assignment.write_text("name: hw\nproblems: [conv-output-size]\ngradescope:\n  torch: 'torch; touch /tmp/pwned'\n")
    assert run_cli("gradescope", assignment, "--out", tmp_path / "z.zip")[0] == 0
    with zipfile.ZipFile(tmp_path / "z.zip") as zf:
        setup = zf.read("setup.sh").decode()
    assert "install 'torch;' touch /tmp/pwned" in setup  # one word each, never a second command


def test_docs_classroom_workflow_always_reports_and_has_a_valid_fallback():
    import yaml

    text = (ROOT / "docs" / "batch.md").read_text(encoding="utf-8")
    block = text.split("## GitHub Classroom", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    steps = yaml.safe_load(block)["jobs"]["run-autograding-tests"]["steps"]
    reporter = next(s for s in steps if "autograding-grading-reporter" in s.get("uses", ""))
    assert reporter["if"] == "always()"
    fallback = next(s for s in steps if s.get("id") == "fallback")
    assert "steps.fallback.outputs.result" in reporter["env"]["GRADER_RESULTS"]
    result = strict_load(re.search(r"result='(\{.*\})'", fallback["run"]).group(1))
    assert result["status"] == "error" and result["tests"][0]["line_no"] == 0
    grade = next(s for s in steps if s.get("id") == "grader")
    assert "${{" not in grade["run"]  # event values and secrets come in through env, not the script text


def test_the_class_report_is_written_for_hostile_ids(hostile_class):
    """grades.csv neutralises `=HYPERLINK(...)` to `'=HYPERLINK(...)`; the report still matches each row
    to its student's JSON, and shows every id escaped."""
    pytest.importorskip("matplotlib", reason="the class report needs matplotlib: pip install 'grader[report]'")
    assert "report.html" not in hostile_class["stderr"], hostile_class["stderr"]
    page = (hostile_class["out"] / "report.html").read_text(encoding="utf-8")
    assert "=HYPERLINK(&quot;x&quot;)" in page and RAW.search(page) is None
