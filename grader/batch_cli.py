"""`grader grade` and `grader gradescope`: a thin layer over grader.batch and the renderers."""
from __future__ import annotations

import functools
import os
import sys
import time
from pathlib import Path

import click

from .cli import device_option, get_bank, handle_errors, limit_options, limits_from, notebook_option
from .errors import ExitCode, UsageError
from .render.safe import one_line


def _emit_classroom(encoded: str) -> None:
    """The runner result on stdout and, in GitHub Actions, as the step output `result`."""
    click.get_current_context().meta["classroom_result"] = encoded
    click.echo(encoded)
    github_output = os.environ.get("GITHUB_OUTPUT")
    if github_output:
        with open(github_output, "a", encoding="utf-8") as fh:
            fh.write(f"result={encoded}\n")


def _classroom_fallback(func):
    """With --classroom, a grader that fails before printing its result still leaves a valid one
    (status `error`, no points, the reason), so the reporter never reads an empty result."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            if kwargs.get("classroom") and "classroom_result" not in click.get_current_context().meta:
                from .render.classroom import encode, error_result

                _emit_classroom(encode(error_result(getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}")))
            raise
    return wrapper


def check_student_id(student: str) -> str:
    """--student: an id that names one student, not a path (it becomes part of file names)."""
    if (not student.strip() or len(student) > 200 or student in (".", "..") or "/" in student or "\\" in student
            or one_line(student) != student):
        raise UsageError(f"--student {one_line(student)[:80]!r}: not a usable student id",
                         "Give an id of at most 200 characters without '/', '\\' or control characters.")
    return student


@click.command("grade")
@click.argument("submissions", type=click.Path(path_type=Path))
@click.option("--assignment", "-a", "assignment_path", required=True, type=click.Path(path_type=Path),
              help="The assignment YAML (name, problems).")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), default=Path("grader-out"),
              show_default=True, help="Folder for grades.csv, junit.xml, students/*.json and the cache.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Worker slots (default: two per core, which keeps every core busy).")
@click.option("--force", is_flag=True, help="Grade everything again, ignoring cached results.")
@click.option("--fail-under", metavar="SCORE",
              help="Exit 1 when a student's total is below SCORE (points, or a percentage like 70%).")
@click.option("--single", is_flag=True, help="SUBMISSIONS is one student's submission, not a class folder.")
@click.option("--student", metavar="ID", help="With --single: the student id (default: the file or folder name).")
@click.option("--gradescope", "gradescope_path", type=click.Path(dir_okay=False, path_type=Path),
              help="With --single: write Gradescope's results.json here.")
@click.option("--classroom", is_flag=True,
              help="With --single: print the GitHub Classroom runner result (base64 JSON) and set the step "
                   "output 'result' when $GITHUB_OUTPUT is set.")
@click.option("--progress/--no-progress", "show_progress", default=True, help="Show progress on stderr.")
@click.option("--executor", "executor_kind", type=click.Choice(["fork", "fresh"]), default="fork", show_default=True,
              help="fork: a warm fork server; fresh: a new Python per job (slow; for comparison).")
@limit_options
@device_option
@notebook_option
@click.pass_context
@handle_errors
@_classroom_fallback
def grade_cmd(ctx: click.Context, submissions: Path, assignment_path: Path, out: Path, jobs: int | None, force: bool,
              fail_under: str | None, single: bool, student: str | None, gradescope_path: Path | None,
              classroom: bool, show_progress: bool, executor_kind: str, device: str, notebook: str | None,
              **kwargs) -> None:
    """Grade a class: every submission in SUBMISSIONS on every problem of an assignment.

    SUBMISSIONS holds one entry per student: a folder (any files) or a single .py/.ipynb file;
    the entry's name is the student id. Writes OUT/grades.csv, OUT/junit.xml and
    OUT/students/ID.json, and prints a summary.

    Exit status: 0 when grading worked (whatever the scores), 1 when --fail-under is given and a
    student is below it, 2 for a usage, assignment or spec error, 3 when the grader failed.
    """
    from . import batch
    from .render.progress import Progress
    from .render.summary import render_summary
    from .spec import read_yaml
    from .submission import notebook_mode

    limits = limits_from(kwargs)
    bank = get_bank(ctx)
    assignment = batch.load_assignment(assignment_path, bank)
    # --notebook, else the assignment's `notebook:` (validated by its schema just above)
    notebook = notebook or getattr(assignment, "notebook", None) or read_yaml(assignment_path, "assignment").get("notebook")
    if (gradescope_path or classroom or student) and not single:
        raise UsageError("--gradescope, --classroom and --student grade one submission: add --single")
    if student is not None:
        check_student_id(student)
    if single:
        if not submissions.exists():
            raise UsageError(f"{submissions}: no such file or folder")
        students = [batch.StudentEntry(student or submissions.stem or "submission", submissions)]
    else:
        students = batch.find_students(submissions)
    threshold = batch.parse_fail_under(fail_under, assignment.max_score) if fail_under else None
    executor = batch.AutoExecutor(executor_kind)
    say = sys.stderr if classroom else sys.stdout
    progress = Progress(sys.stderr) if show_progress else None
    start = time.monotonic()
    try:
        with batch.LocalPool(jobs) as pool, notebook_mode(notebook):
            report = batch.grade_class(assignment, students, bank=bank, pool=pool, executor=executor,
                                       cache=batch.ResultCache(out / ".cache"), force=force, limits=limits,
                                       progress=progress, device=device)
    finally:
        executor.close()
    if executor.warning:
        click.echo(f"Warning: {executor.warning}", err=True)
    paths = batch.write_outputs(report, out)
    click.echo(render_summary(report), file=say)
    click.echo(f"\nWrote {paths['gradebook']}, {paths['junit']} and {paths['students']}/<student>.json", file=say)
    if gradescope_path:
        from .render.gradebook import strict_json
        from .render.gradescope import results_json

        gradescope_path.parent.mkdir(parents=True, exist_ok=True)
        gradescope_path.write_text(strict_json(results_json(report.students[0], assignment,
                                                            time.monotonic() - start), indent=2), encoding="utf-8")
        click.echo(f"Wrote {gradescope_path}", file=say)
    if classroom:
        from .render.classroom import encode, runner_result

        _emit_classroom(encode(runner_result(report.students[0])))
    if report.grader_errors:
        click.echo(f"Error: the grader failed on {len(report.grader_errors)} problem-submissions "
                   "(see the summary); their results were not cached, so a re-run retries them.", err=True)
        sys.exit(int(ExitCode.INTERNAL_ERROR))
    if threshold is not None:
        below = [s for s in report.students if s.score < threshold - 1e-9]
        if below:
            names = ", ".join(one_line(s.student) for s in below[:10]) + (" ..." if len(below) > 10 else "")
            click.echo(f"{len(below)} student(s) scored below {threshold:g}: {names}", err=True)
            sys.exit(int(ExitCode.TESTS_FAILED))
    sys.exit(int(ExitCode.OK))


@click.command("gradescope")
@click.argument("assignment_path", metavar="ASSIGNMENT", type=click.Path(path_type=Path))
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path), default=Path("autograder.zip"),
              show_default=True, help="Where to write the autograder zip.")
@click.pass_context
@handle_errors
def gradescope_cmd(ctx: click.Context, assignment_path: Path, out: Path) -> None:
    """Build a Gradescope autograder zip (setup.sh + run_autograder) for an assignment."""
    from .batch import load_assignment
    from .gradescope_zip import build_autograder_zip

    bank = get_bank(ctx)
    assignment = load_assignment(assignment_path, bank)
    names = build_autograder_zip(assignment, assignment_path, bank, out)
    click.echo(f"wrote {out} ({len(names)} files): upload it as the assignment's autograder on Gradescope")
