"""What a class run writes: the gradebook, JUnit XML, one JSON per student, the summary, each on its
own, atomically; one that cannot be written is noted and costs no other."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from grader.problems.submission import printable

if TYPE_CHECKING:
    from grader.classes.batch import ClassReport

def write_outputs(report: ClassReport, out: Path | str) -> dict[str, Path]:
    """Write the gradebook, JUnit XML, per-student JSON and the summary under `out`; return their paths."""
    from grader.render.gradebook import gradebook_csv, student_file_name, student_json
    from grader.render.junit import junit_xml
    from grader.render.summary import render_summary

    out = Path(out)
    students_dir = out / "students"
    students_dir.mkdir(parents=True, exist_ok=True)
    paths = {"gradebook": out / "grades.csv", "junit": out / "junit.xml", "students": students_dir,
             "summary": out / "summary.txt"}
    report.not_written = []
    # Each output on its own: one that cannot be rendered or written costs no other output.
    _write_or_note(report, paths["gradebook"], lambda: gradebook_csv(report), whole_class=True)
    _write_or_note(report, paths["junit"], lambda: junit_xml(report), whole_class=True)
    for student in report.students:
        path = students_dir / student_file_name(student.student)
        _write_or_note(report, path, lambda: student_json(student))
    _write_or_note(report, paths["summary"], lambda: render_summary(report) + "\n" + "".join(
        f"Not written: {line}\n" for line in report.not_written), whole_class=True)
    return paths


def _write_or_note(report: ClassReport, path: Path, render: Callable[[], str], whole_class: bool = False) -> None:
    """Render and write one output; a failure is noted in `report.not_written` (and, for an output
    of the whole class, in `report.outputs_failed`: the grader is broken), never raised."""
    try:
        _write(path, render())
    except Exception as exc:  # noqa: BLE001 - reported by the caller; the other outputs still get written
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else f"{type(exc).__name__}: {exc}"
        report.not_written.append(f"{printable(str(path))} ({printable(reason)[:300]})")
        report.outputs_failed |= whole_class


def _write(path: Path, text: str) -> None:
    """Write `text` atomically, through a short temporary name (a long file name leaves no room for a suffix)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_gradescope_results(report: ClassReport, path: Path, seconds: float) -> None:
    """Gradescope's results.json for the one submission of a `--single` run."""
    from grader.render.gradebook import strict_json
    from grader.render.gradescope import results_json

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(strict_json(results_json(report.students[0], report.assignment, seconds), indent=2),
                    encoding="utf-8")
