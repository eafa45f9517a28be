"""`grader report DIR`: the class report (DIR/report.html) from a graded class's output folder.

The page is drawn from DIR/grades.csv and DIR/students/*.json alone, so it can be rebuilt at any
time without grading again; near-copies need the submissions folder as well. `grader grade`
calls `write_report` after writing its other outputs.
"""
from __future__ import annotations

import csv
import importlib.util
import io
import json
import re
import threading
from pathlib import Path

import click

from grader.errors import UsageError
from grader.render.gradebook import text_cell
from grader.render.report_html import INSTALL_HINT, ClassData, Plots, render_report

_plots: Plots | None = None
_plots_lock = threading.Lock()


def plots_available() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def get_plots() -> Plots:
    """The plotting helper; matplotlib is imported the first time only."""
    global _plots
    with _plots_lock:
        if _plots is None:
            _plots = Plots()
        return _plots


def warm_up_in_background() -> None:
    """Import matplotlib and draw a throw-away plot (loading the SVG writer and the fonts: about
    0.6 s of CPU) in a thread while the class is graded: the grader's own process mostly waits on
    children then, so the report costs little once grading ends."""
    threading.Thread(target=lambda: get_plots().histogram([50.0]), name="report-warm-up", daemon=True).start()


def load_class(out: Path) -> ClassData:
    """grades.csv and students/*.json of a `grader grade --out` folder; errors name the file."""
    out = Path(out)
    gradebook_path, students_dir = out / "grades.csv", out / "students"
    if not gradebook_path.is_file() or not students_dir.is_dir():
        raise UsageError(f"{out}: not a graded class's output folder (no grades.csv or students/)",
                         "Give the --out folder of 'grader grade'.")
    try:
        reader = csv.DictReader(io.StringIO(gradebook_path.read_text(encoding="utf-8")))
        rows = list(reader)
        header = reader.fieldnames or []
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"{gradebook_path}: cannot read the gradebook ({exc})") from None
    if header[:1] != ["student"] or header[-1:] != ["total"]:
        raise UsageError(f"{gradebook_path}: expected the columns student, <problem ids>..., total",
                         "Re-run 'grader grade' to write it again.")
    records = {}
    for path in sorted(students_dir.glob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(record, dict) or not isinstance(record.get("problems"), list):
                raise ValueError("expected {student, score, max_score, problems: [...]}")
            records[text_cell(str(record["student"]))] = record  # as grades.csv writes the id
        except (OSError, UnicodeDecodeError, ValueError, KeyError) as exc:
            raise UsageError(f"{path}: not a per-student result ({exc})", "Re-run 'grader grade' to write it again.") from None
    students = []
    for row in rows:
        try:
            float(row["total"])
        except (TypeError, ValueError):
            raise UsageError(f"{gradebook_path}: student {row.get('student')!r} has no numeric total") from None
        if row["student"] not in records:
            raise UsageError(f"{gradebook_path}: student {row['student']!r} has no {students_dir}/<student>.json",
                             "Re-run 'grader grade' to write it again.")
        students.append(records[row["student"]])
    return ClassData(title=_title(out), problems=header[1:-1], gradebook=rows, students=students)


def _title(out: Path) -> str:
    """The assignment's name from summary.txt's first line, else the folder's name."""
    try:
        first = (out / "summary.txt").read_text(encoding="utf-8").splitlines()[0]
        found = re.match(r"(.*): \d+ students x \d+ problems", first)
        if found:
            return found.group(1)
    except (OSError, IndexError, UnicodeDecodeError):
        pass
    return f"Class report: {out.resolve().name}"


def read_sources(submissions: Path) -> dict[str, dict[str, str]]:
    """Each student's Python sources (notebooks as their code), as `grader grade` reads them."""
    from grader.classes.students import find_students
    from grader.problems.submission import read_submission

    sources = {}
    for entry in find_students(submissions):
        try:
            sources[entry.student] = read_submission(entry.path).python_sources()
        except Exception:  # noqa: BLE001 - unreadable: that student's result already says why
            sources[entry.student] = {}
    return sources


def write_report(out: Path, *, submissions: Path | None = None, exclude: list[str] = (),
                 threshold: float | None = None, title: str | None = None) -> Path:
    """Write out/report.html from the files in `out` (and near-copies among `submissions`)."""
    from grader.classes.similarity import DEFAULT_THRESHOLD, find_near_copies

    if not plots_available():
        raise UsageError("the class report needs matplotlib, which is not installed", INSTALL_HINT)
    data = load_class(out)
    if title:
        data.title = title
    data.threshold = DEFAULT_THRESHOLD if threshold is None else threshold
    if submissions is not None:
        data.sources = read_sources(submissions)
        graded = {str(r["student"]) for r in data.students}
        data.sources = {s: files for s, files in data.sources.items() if s in graded}
        data.near_copies = find_near_copies(data.sources, exclude=list(exclude), threshold=data.threshold)
    path = Path(out) / "report.html"
    tmp = path.with_name(".report.html.tmp")
    tmp.write_text(render_report(data, get_plots()), encoding="utf-8")
    tmp.replace(path)
    return path


def write_report_after_grading(out: Path, submissions: Path, assignment, bank) -> dict[str, Path]:
    """`grader grade`'s hook: the report with the assignment's starter code and references
    excluded from near-copies. The page is extra: if it fails, grading's outputs stand, with a
    warning and the command to retry."""
    from grader.classes.similarity import boilerplate_sources

    try:
        exclude = boilerplate_sources([p.problem for p in assignment.problems], bank.reference_dir)
        return {"report": write_report(out, submissions=submissions, exclude=exclude, title=assignment.name)}
    except Exception as exc:  # noqa: BLE001 - reported, never fatal to a finished grading run
        message = exc.message if isinstance(exc, UsageError) else f"{type(exc).__name__}: {exc}"
        click.echo(f"Warning: {Path(out) / 'report.html'} not written ({message}); "
                   f"retry with: grader report {out} --submissions {submissions}", err=True)
        return {}
