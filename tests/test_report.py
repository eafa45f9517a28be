"""The class report (OUT/report.html): every number agrees with grades.csv and the per-student JSON,
mistake counts agree with the named mistakes, near-copies are found and independent work is not,
student strings are escaped, and a real browser renders the figures."""
from __future__ import annotations

import csv
import io
import json
import random
import shutil
import statistics
import subprocess
import textwrap
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli.main import main
from grader.render.gradebook import number
from grader.classes.similarity import find_near_copies, fingerprints, normalised_tokens
from tests.browser import browser_or_why

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def run_cli(*args):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


# ---------------------------------------------------------------- reading the page back

class Page(HTMLParser):
    """What the report shows: every data-stat number, mistake rows (with their student links),
    limit rows, near-copy pairs and student sections."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.stats: dict[tuple, float] = {}
        self.mistake_rows: dict[tuple[str, str], set[str]] = {}
        self.limit_rows: set[tuple[str, str, str]] = set()
        self.pairs: dict[frozenset, float] = {}
        self.sections: list[str] = []
        self.svgs = 0
        self._row = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-stat" in a:
            key = (a["data-stat"],) + tuple(sorted((k, v) for k, v in a.items()
                                                   if k.startswith("data-") and k not in ("data-stat", "data-value")))
            assert key not in self.stats, f"a number shown twice: {key}"
            self.stats[key] = float(a["data-value"])
        if "data-mistake-row" in a:
            self._row = (a["data-problem"], a["data-mistake"])
            self.mistake_rows[self._row] = set()
        elif tag == "a" and self._row and "data-student" in a:
            self.mistake_rows[self._row].add(a["data-student"])
        if "data-limit-row" in a:
            self.limit_rows.add((a["data-student"], a["data-problem"], a["data-limits"]))
        if "data-pair" in a:
            self.pairs[frozenset((a["data-a"], a["data-b"]))] = float(a["data-score"])
        if tag == "section" and "student" in (a.get("class") or "").split():
            self.sections.append(a["data-student"])
        if tag == "svg":
            self.svgs += 1

    def handle_endtag(self, tag):
        if tag == "tr":
            self._row = None


def check_report(out: Path) -> Page:
    """Recompute every figure of the report from grades.csv and students/*.json and compare."""
    page = Page((out / "report.html").read_text(encoding="utf-8"))
    reader = csv.DictReader(io.StringIO((out / "grades.csv").read_text()))
    rows = list(reader)
    problems = reader.fieldnames[1:-1]
    records = {r["student"]: r for r in (json.loads(p.read_text()) for p in (out / "students").glob("*.json"))}
    assert page.sections == [r["student"] for r in rows]
    expected: dict[tuple, float] = {}

    def want(name, x, **where):
        expected[(name,) + tuple(sorted((f"data-{k}", str(v)) for k, v in where.items()))] = float(x)

    totals = [float(r["total"]) for r in rows]
    top = max(r["max_score"] for r in records.values())
    want("students", len(rows))
    want("max-score", top)
    want("mean", statistics.mean(totals))
    want("median", statistics.median(totals))
    want("full-marks", sum(t >= top - 1e-9 for t in totals))
    limits, mistakes, ratios = set(), {}, {}
    for pid in problems:
        results = [next(p for p in records[r["student"]]["problems"] if p["problem"] == pid) for r in rows]
        for row, result in zip(rows, results):
            assert float(row[pid]) == pytest.approx(result["score"], abs=1e-6)
            want("student-problem-score", result["score"], student=row["student"], problem=pid)
        want("problem-max", results[0]["max_score"], problem=pid)
        want("problem-mean", statistics.mean(p["score"] for p in results), problem=pid)
        full = sum(p["status"] == "passed" for p in results)
        want("problem-full-marks", full, problem=pid)
        want("problem-full-marks-rate", full / len(results), problem=pid)
        want("problem-did-not-run", sum(bool(p["error"]) and not p["grader_error"] for p in results), problem=pid)
        want("problem-grader-errors", sum(bool(p["grader_error"]) for p in results), problem=pid)
        for case in {t["name"] for p in results for t in p["tests"]}:
            runs = [t for p in results for t in p["tests"] if t["name"] == case]
            failed = sum(t["status"] != "passed" for t in runs)
            want("case-failed", failed, problem=pid, case=case)
            want("case-failure-rate", failed / len(runs), problem=pid, case=case)
        for student, p in zip((r["student"] for r in rows), results):
            for mistake in {t["mistake"] for t in p["tests"] if t["mistake"]}:
                mistakes.setdefault((pid, mistake), set()).add(student)
            if p["limits_hit"]:
                limits.add((student, pid, ",".join(p["limits_hit"])))
            for t in p["tests"]:
                if t["timing"]:
                    ratios.setdefault(pid, []).append((t["timing"]["ratio"], t["timing"]["max_ratio"]))
    for (pid, mistake), who in mistakes.items():
        want("mistake-count", len(who), problem=pid, mistake=mistake)
    for pid, rs in ratios.items():
        want("speed-count", len(rs), problem=pid)
        want("speed-median-ratio", statistics.median(r for r, _ in rs), problem=pid)
        want("speed-max-ratio", max(r for r, _ in rs), problem=pid)
        want("speed-over-limit", sum(r > m for r, m in rs), problem=pid)
    want("limits-hit", len(limits))
    for row in rows:
        want("student-total", float(row["total"]), student=row["student"])
        assert float(row["total"]) == pytest.approx(records[row["student"]]["score"], abs=1e-5)
    shown = {k: v for k, v in page.stats.items() if k[0] not in ("near-copies", "near-copy-threshold")}
    assert set(shown) == set(expected), (set(shown) ^ set(expected))
    for key, x in expected.items():
        assert shown[key] == pytest.approx(x, abs=1e-5), key
    assert page.mistake_rows == mistakes
    assert page.limit_rows == limits
    if ("near-copies",) in page.stats:
        assert page.stats[("near-copies",)] == len(page.pairs)
    return page


# ---------------------------------------------------------------- submissions

ORIGINAL = '''\
"""HW1."""
import math
import torch


def sigmoid_backward(x, grad_output):
    # derivative of the logistic function
    sig = 1.0 / (1.0 + torch.exp(-x))
    local_grad = sig * (1.0 - sig)
    result = grad_output * local_grad
    return result


def conv_output_size(n, f, p=0, s=1):
    effective = n + 2 * p - f
    steps = effective // s
    return int(steps) + 1


def coin_entropy(p):
    heads = p.clone()
    tails = 1.0 - heads
    term_heads = torch.where(heads > 0, heads * torch.log2(heads.clamp_min(1e-30)), torch.zeros_like(heads))
    term_tails = torch.where(tails > 0, tails * torch.log2(tails.clamp_min(1e-30)), torch.zeros_like(tails))
    total = -(term_heads + term_tails)
    return total
'''

# The same code: names changed, comments changed, reformatted.
RENAMED_AND_REFORMATTED = '''\
import torch
import math

def sigmoid_backward(x, grad_output):
    s_val = 1.0/(1.0+torch.exp(-x))   # my own work
    deriv = s_val*(1.0-s_val)
    out = grad_output*deriv
    return out

def conv_output_size(n, f, p=0, s=1):
    eff = n+2*p-f
    k = eff//s
    return int(k)+1

def coin_entropy(p):
    h = p.clone()
    t = 1.0-h
    a = torch.where(
        h > 0,
        h*torch.log2(h.clamp_min(1e-30)),
        torch.zeros_like(h),
    )
    b = torch.where(t > 0,
                    t*torch.log2(t.clamp_min(1e-30)),
                    torch.zeros_like(t))
    answer = -(a+b)
    return answer
'''

INDEPENDENT_1 = '''\
import math

import torch


def sigmoid_backward(x, grad_output):
    """d/dx sigmoid(x) = s (1 - s)."""
    s = torch.sigmoid(x)
    return grad_output * s * (1 - s)


def conv_output_size(n, f, p=0, s=1):
    return (n - f + 2 * p) // s + 1


def coin_entropy(p):
    q = 1 - p
    return -(torch.special.xlogy(p, p) + torch.special.xlogy(q, q)) / math.log(2)
'''

INDEPENDENT_2 = '''\
import math
import torch


def _expit(z):
    return torch.special.expit(z)


def sigmoid_backward(x, grad_output):
    y = _expit(x)
    slope = y - y * y
    return slope * grad_output


def conv_output_size(n, f, p=0, s=1):
    positions = math.floor((n + 2 * p - f) / s)
    return positions + 1


def coin_entropy(p):
    bits = torch.zeros_like(p)
    inside = (p > 0) & (p < 1)
    kept = p[inside]
    bits[inside] = -(kept * torch.log2(kept) + (1 - kept) * torch.log2(1 - kept))
    return bits
'''

BUGGY = '''\
import math
import torch


def sigmoid_backward(x, grad_output):
    return grad_output * torch.sigmoid(x)


def conv_output_size(n, f, p=0, s=1):
    return math.ceil((n - f + 2 * p) / s) + 1


def coin_entropy(p):
    q = 1 - p
    return -(torch.special.xlogy(p, p) + torch.special.xlogy(q, q))
'''

ASSIGNMENT = "name: Near copies\nproblems: [sigmoid-backward, conv-output-size, coin-entropy]\nlimits: {time: 1}\n"


@pytest.fixture(scope="module")
def graded_pairs(tmp_path_factory):
    """A small class graded through the real CLI: an original, its renamed and reformatted copy,
    two independent correct solutions and a buggy one."""
    base = tmp_path_factory.mktemp("pairs")
    subs = base / "class"
    subs.mkdir()
    for name, source in [("orig", ORIGINAL), ("copycat", RENAMED_AND_REFORMATTED), ("indep1", INDEPENDENT_1),
                         ("indep2", INDEPENDENT_2), ("buggy", BUGGY)]:
        (subs / f"{name}.py").write_text(source)
    (base / "a.yaml").write_text(ASSIGNMENT)
    code, stdout, stderr = run_cli("grade", subs, "--assignment", base / "a.yaml", "--out", base / "out",
                                   "--jobs", "2", "--no-progress")
    assert code == 0, stderr
    return {"base": base, "out": base / "out", "stdout": stdout}


def test_grade_writes_the_report_and_its_numbers_agree(graded_pairs):
    out = graded_pairs["out"]
    assert f"Wrote {out / 'report.html'}" in graded_pairs["stdout"]
    page = check_report(out)
    assert page.svgs >= 2  # the score histogram and the case heatmap at least
    totals = {r["student"]: float(r["total"]) for r in csv.DictReader(io.StringIO((out / "grades.csv").read_text()))}
    assert totals["indep1"] == totals["indep2"] == totals["orig"] == totals["copycat"] == 30  # all correct
    assert totals["buggy"] < 30
    assert page.stats[("mistake-count", ("data-mistake", "ceil-instead-of-floor"), ("data-problem", "conv-output-size"))] == 1


def test_near_copies_are_paired_and_independent_work_is_not(graded_pairs):
    page = check_report(graded_pairs["out"])
    assert set(page.pairs) == {frozenset(("orig", "copycat"))}, page.pairs
    assert page.pairs[frozenset(("orig", "copycat"))] >= 0.8
    text = (graded_pairs["out"] / "report.html").read_text()
    assert "torch.log2(t.clamp_min(1e-30))" in text and "heads * torch.log2(heads.clamp_min(1e-30))" in text  # side by side


def test_report_rebuilds_the_same_page_from_the_output_folder(graded_pairs, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(graded_pairs["out"], out)
    (out / "report.html").unlink()
    code, stdout, stderr = run_cli("report", out, "--submissions", graded_pairs["base"] / "class",
                                   "--assignment", graded_pairs["base"] / "a.yaml")
    assert code == 0, stderr
    rebuilt = (out / "report.html").read_text()
    assert rebuilt == (graded_pairs["out"] / "report.html").read_text()
    code, _, _ = run_cli("report", out)  # without submissions: no near-copies, the rest the same
    assert code == 0
    page = check_report(out)
    assert not page.pairs and "Not checked" in (out / "report.html").read_text()
    code, _, _ = run_cli("report", out, "--submissions", graded_pairs["base"] / "class", "--threshold", "0.05")
    assert code == 0 and len(check_report(out).pairs) > 1  # a lower threshold lists more


def test_example_class_report(tmp_path):
    out = tmp_path / "out"
    code, stdout, stderr = run_cli("grade", EXAMPLES / "class", "--assignment", EXAMPLES / "assignment.yaml",
                                   "--out", out, "--no-progress", "--time-limit", "1")
    assert code == 0, stderr
    page = check_report(out)
    assert page.sections == ["alice", "bob", "carol", "dave", "erin"]
    assert page.limit_rows == {("erin", "coin-entropy", "time")}
    assert page.mistake_rows[("coin-entropy", "nats-not-bits")] == {"carol"}
    assert ("speed-count", ("data-problem", "attention")) in page.stats
    text = (out / "report.html").read_text()
    assert "<script" not in text and "javascript:" not in text  # no JavaScript
    for fetch in ('src="', "url(http", "@import", 'href="http', "<link", "<iframe"):
        assert fetch not in text  # nothing fetched: one self-contained file


# ---------------------------------------------------------------- a generated class (records, no grading)

PROBLEMS = {"vec-add": (10.0, ["small", "large", "empty", "float16"]),
            "mat-mul": (20.0, ["square", "tall", "wide", "batched", "speed (speed)"]),
            "softmax": (5.0, ["rows", "large-magnitude", "masked"])}
MISTAKES = {"vec-add": ["wrong-axis", "<u>$x$</u>"], "mat-mul": ["transposed", "elementwise"], "softmax": ["no-max-shift", "wrong-dim"]}


def random_program(rng: random.Random, student: str) -> str:
    """A program of its own for every student: no two are alike."""
    ops = ["+", "-", "*", "/", "%", "**", "//"]
    lines = [f"# {student}", "import math", ""]
    for f in range(3):
        names = [f"a{f}{i}" for i in range(4)]
        lines.append(f"def func_{f}({', '.join(names[:2])}):")
        for name in names[2:]:
            expr = " ".join(f"{rng.choice(names[:2])} {rng.choice(ops)} {rng.randint(1, 999)}" for _ in range(3)).split()
            lines.append(f"    {name} = {' '.join(expr[:-1])} {rng.choice(['math.sqrt', 'math.log', 'abs', 'round'])}({expr[-1]})")
        lines.append(f"    return {' '.join(rng.choice(names) + ' ' + rng.choice(ops) for _ in range(4))} {names[0]}")
        lines.append("")
    return "\n".join(lines) + "\n"


def make_records(out: Path, subs: Path, n: int, seed: int = 0) -> None:
    """A graded class's output folder written directly (grades.csv, students/*.json) and a
    submissions folder: every outcome the report shows, including an id and messages that try to
    inject HTML, plus the near-copy pair and two independent correct solutions."""
    rng = random.Random(seed)
    (out / "students").mkdir(parents=True)
    subs.mkdir(parents=True)
    students = [f"s{i:03d}" for i in range(n - 5)] + ["orig", "copycat", "indep1", "indep2", "<img src=x onerror=alert(1)>"]
    rows = []
    for student in students:
        problems = []
        for pid, (points, cases) in PROBLEMS.items():
            each = points / len(cases)
            error = limits = None
            fate = rng.random()
            tests = []
            for case in cases:
                passed = fate > 0.3 and rng.random() > 0.2
                test = {"name": case, "score": each if passed else 0.0, "max_score": each,
                        "status": "passed" if passed else "failed", "output": "", "visible": True, "device": "cpu",
                        "seconds": 0.01, "outcome": "passed" if passed else "wrong", "mistake": None, "timing": None}
                if not passed and rng.random() < 0.5:
                    test["mistake"] = rng.choice(MISTAKES[pid])
                    test["output"] = (f"values differ </pre><script>alert('{student}')</script>\n"
                                      f"This matches a known mistake ({test['mistake']}): re-read <b>the statement</b>")
                if case.endswith("(speed)") and passed:
                    ratio = rng.uniform(0.5, 20)
                    test["timing"] = {"seconds": 0.001 * ratio, "median": 0.001 * ratio, "runs": 10,
                                      "reference_seconds": 0.001, "reference_runs": 10, "ratio": ratio,
                                      "max_ratio": 10.0, "device": "cpu"}
                tests.append(test)
            if fate < 0.08:
                error = "SyntaxError in solution.py line 3: <unexpected>"
                tests = [{**t, "score": 0.0, "status": "failed", "outcome": "not_run", "mistake": None, "timing": None,
                          "output": f"not run: {error}"} for t in tests]
            elif fate < 0.12:
                limits = [rng.choice(["time", "memory", "processes"])]
                for t in tests[:2]:
                    t.update(score=0.0, status="failed", outcome="timeout", mistake=None, timing=None)
            grader_error = 0.12 <= fate < 0.13
            if grader_error:
                error = "the grader ran into an error (boom); this is not your fault: tell course staff"
                tests = [{**t, "score": 0.0, "status": "failed", "outcome": "grader_error", "mistake": None,
                          "timing": None} for t in tests]
            score = sum(t["score"] for t in tests)
            problems.append({"problem": pid, "title": pid, "score": score, "max_score": points, "tests": tests,
                             "kind": "function", "submission": student, "seed": 0, "student": student,
                             "error": error, "grader_error": grader_error, "feedback": ["Hint: <i>think</i>"],
                             "stdout": "", "stderr": "", "seconds": 0.1, "limits_hit": limits or [], "skipped": [],
                             "status": "passed" if not error and all(t["status"] == "passed" for t in tests) else "failed"})
        total = round(sum(p["score"] for p in problems), 9)
        record = {"student": student, "submission": student, "score": total,
                  "max_score": sum(p for p, _ in PROBLEMS.values()), "problems": problems}
        (out / "students" / f"{student}.json").write_text(json.dumps(record))
        rows.append([student, *(number(p["score"]) for p in problems), number(total)])
        if student not in ("orig", "copycat", "indep1", "indep2"):
            (subs / f"{student}.py").write_text(random_program(rng, student))
    for name, source in [("orig", ORIGINAL), ("copycat", RENAMED_AND_REFORMATTED), ("indep1", INDEPENDENT_1),
                         ("indep2", INDEPENDENT_2)]:
        (subs / f"{name}.py").write_text(source)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", *PROBLEMS, "total"])
    writer.writerows(rows)
    (out / "grades.csv").write_text(buffer.getvalue())


@pytest.mark.parametrize("n", [20, 200])
def test_generated_class_report(tmp_path, n):
    out, subs = tmp_path / "out", tmp_path / "class"
    make_records(out, subs, n, seed=n)
    code, stdout, stderr = run_cli("report", out, "--submissions", subs, "--assignment", EXAMPLES / "assignment.yaml")
    assert code == 0, stderr
    page = check_report(out)
    assert len(page.sections) == n
    assert set(page.pairs) == {frozenset(("orig", "copycat"))}, page.pairs
    assert page.mistake_rows and page.limit_rows  # the generator made some of each
    text = (out / "report.html").read_text()
    for raw in ("<img src=x", "<script>alert", "<b>the statement", "<i>think", "<unexpected>", "<u>"):
        assert raw not in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "re-read &lt;b&gt;the statement&lt;/b&gt;" in text  # the mistake's feedback, escaped


def test_starter_option_excludes_handed_out_code(tmp_path):
    out, subs = tmp_path / "out", tmp_path / "class"
    make_records(out, subs, 12)
    starter = tmp_path / "starter.py"
    starter.write_text(ORIGINAL)  # as if the instructor had handed out this code
    code, _, stderr = run_cli("report", out, "--submissions", subs, "--starter", starter)
    assert code == 0, stderr
    assert not check_report(out).pairs


@pytest.mark.slow
def test_two_hundred_graded_students_report(tmp_path, grader_cmd):
    from test_batch import make_big_class

    make_big_class(tmp_path / "class", 200)
    assignment = tmp_path / "a.yaml"
    assignment.write_text("name: Big\nproblems: [sigmoid-backward, {id: conv-output-size, points: 5}, coin-entropy]\n")
    out = tmp_path / "out"
    result = grader_cmd("grade", tmp_path / "class", "--assignment", assignment, "--out", out, timeout=1800)
    assert result.exit_code == 0, result.stderr
    page = check_report(out)
    assert len(page.sections) == 200
    assert page.mistake_rows  # the buggy submissions' named mistakes


# ---------------------------------------------------------------- errors and edges

def test_report_errors_name_the_file(tmp_path):
    code, _, stderr = run_cli("report", tmp_path / "nothing")
    assert code == 2 and "not a graded class's output folder" in stderr
    out, subs = tmp_path / "out", tmp_path / "class"
    make_records(out, subs, 8)
    bad = out / "students" / "s000.json"
    bad.write_text("{not json")
    code, _, stderr = run_cli("report", out)
    assert code == 2 and str(bad) in stderr and "Traceback" not in stderr


def test_without_matplotlib_report_says_how_to_install_and_grade_goes_on(tmp_path, monkeypatch):
    import grader.classes.report

    monkeypatch.setattr(grader.classes.report, "plots_available", lambda: False)
    out, subs = tmp_path / "out", tmp_path / "class"
    make_records(out, subs, 6)
    code, _, stderr = run_cli("report", out)
    assert code == 2 and "pip install 'grader[report]'" in stderr
    one = tmp_path / "one"
    one.mkdir()
    (one / "alice.py").write_text(INDEPENDENT_1)
    (tmp_path / "a.yaml").write_text("name: One\nproblems: [conv-output-size]\n")
    code, _, stderr = run_cli("grade", one, "--assignment", tmp_path / "a.yaml", "--out", tmp_path / "graded",
                              "--no-progress")
    assert code == 0 and "report.html not written" in stderr and "pip install" in stderr
    assert (tmp_path / "graded" / "grades.csv").is_file() and not (tmp_path / "graded" / "report.html").exists()


def test_a_report_that_fails_does_not_fail_grading(tmp_path, monkeypatch):
    import grader.classes.report

    def broken(*args, **kwargs):
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(grader.classes.report, "render_report", broken)
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "alice.py").write_text(BUGGY)
    (tmp_path / "a.yaml").write_text("name: One\nproblems: [conv-output-size]\n")
    code, stdout, stderr = run_cli("grade", tmp_path / "one", "--assignment", tmp_path / "a.yaml", "--out",
                                   tmp_path / "graded", "--no-progress")
    assert code == 0, stderr
    assert "report.html not written (RuntimeError: drawing failed)" in stderr and "retry with: grader report" in stderr
    assert (tmp_path / "graded" / "grades.csv").is_file() and not (tmp_path / "graded" / "report.html").exists()


def test_similarity_survives_code_that_does_not_tokenize():
    assert [t.text for t in normalised_tokens("def f(:\n    return 'x\n")][:3] == ["def", "V", "("]
    assert normalised_tokens("\x00\x01 ''' unterminated") is not None
    assert fingerprints({"a.py": "x = (" * 100_000}).where  # huge input is cut, not a hang
    copies = find_near_copies({"a": {"a.py": ORIGINAL}, "b": {"b.py": "def broken(:\n" + ORIGINAL}})
    assert [(p.a, p.b) for p in copies] == [("a", "b")]


def test_starter_code_does_not_count_as_copying():
    starter = ORIGINAL
    students = {"a": {"a.py": ORIGINAL + INDEPENDENT_1}, "b": {"b.py": ORIGINAL + INDEPENDENT_2}}
    assert find_near_copies(students, threshold=0.4)  # both kept the same big starter ...
    assert not find_near_copies(students, exclude=[starter], threshold=0.4)  # ... which is not copying


# ---------------------------------------------------------------- a real browser

def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and rows of an 8-bit RGB/RGBA PNG (what Chromium writes), with zlib only."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, header = 8, [], None
    while pos < len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height = int.from_bytes(header[:4], "big"), int.from_bytes(header[4:8], "big")
    assert header[8] == 8 and header[9] in (2, 6), "expected 8-bit RGB or RGBA"
    channels = 3 if header[9] == 2 else 4
    raw, stride, rows, previous = zlib.decompress(b"".join(chunks)), width * channels, [], bytearray(width * channels)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        rows.append(bytes(b for j in range(0, stride, channels) for b in line[j:j + 3]))
        previous = line
    return width, height, rows


def test_a_real_browser_renders_the_figures(graded_pairs, tmp_path):
    browser, why = browser_or_why()  # on a CI machine, installed when missing (tests/browser.py)
    if browser is None:
        pytest.skip(why)
    shot = tmp_path / "report.png"
    proc = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1000,1400",
                           f"--screenshot={shot}", (graded_pairs["out"] / "report.html").as_uri()],
                          capture_output=True, timeout=120, cwd=tmp_path)
    assert shot.is_file() and shot.stat().st_size > 0, proc.stderr[-2000:]
    width, height, rows = png_pixels(shot.read_bytes())
    assert (width, height) == (1000, 1400)
    pixels = [row[i:i + 3] for row in rows[::4] for i in range(0, len(row), 12)]
    dark = sum(1 for p in pixels if sum(p) < 600)
    assert dark > len(pixels) // 50, "the page looks blank"
    # The histogram's bars are viridis(0.3), #355f8d: the figure itself was drawn, not only text.
    bar = [p for p in pixels if abs(p[0] - 0x35) < 12 and abs(p[1] - 0x5f) < 12 and abs(p[2] - 0x8d) < 12]
    assert len(bar) > 50, "no histogram bars in the screenshot"
    # The heatmap uses cividis: several distinct blue-to-yellow colours.
    assert len({p for p in pixels if p[2] > p[0] + 20 or p[0] > p[2] + 40}) > 5


@pytest.mark.parametrize("ci, root", [("", True), ("false", True), ("true", False)])
def test_the_browser_helper_installs_nothing_off_ci_or_as_a_normal_user(monkeypatch, ci, root):
    """Only a CI machine, as root, may get Chromium installed by the tests: never a developer's laptop."""
    import tests.browser as browser

    monkeypatch.setenv("CI", ci)
    monkeypatch.setattr(browser.shutil, "which", lambda name: "/usr/bin/apt-get" if name == "apt-get" else None)
    monkeypatch.setattr(browser.os, "geteuid", lambda: 0 if root else 1000)
    monkeypatch.setattr(browser.subprocess, "run", lambda *a, **k: pytest.fail(f"ran {a[0]}"))
    assert browser.browser_or_why() == (None, browser.HOW)


def test_the_browser_helper_installs_chromium_on_ci_as_root(monkeypatch):
    import tests.browser as browser

    ran, installed = [], {"done": False}

    def run(step, **kwargs):
        ran.append(step[:2])
        installed["done"] = step[:2] == ["apt-get", "install"]
        return subprocess.CompletedProcess(step, 0, "", "")

    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(browser.shutil, "which", lambda name: {"apt-get": "/usr/bin/apt-get"}.get(
        name, "/usr/bin/chromium" if name == "chromium" and installed["done"] else None))
    monkeypatch.setattr(browser.os, "geteuid", lambda: 0)
    monkeypatch.setattr(browser.subprocess, "run", run)
    assert browser.browser_or_why() == ("/usr/bin/chromium", "")
    assert ran == [["apt-get", "update"], ["apt-get", "install"]]
