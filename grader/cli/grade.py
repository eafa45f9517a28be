"""`grader grade` and `grader gradescope`: a thin layer over grader.classes.batch and the renderers."""
from __future__ import annotations

import dataclasses
import functools
import os
import sys
import time
from pathlib import Path

import click

from grader.classes.assignment import load_assignment
from grader.classes.batch import grade_class
from grader.classes.cache import ResultCache
from grader.classes.outputs import write_gradescope_results, write_outputs
from grader.classes.pool import MANY_JOBS, LocalPool, executor_for
from grader.classes.students import StudentEntry, check_student_id, find_students
from grader.problems.submission import printable
from grader.cli.options import device_option, get_bank, handle_errors, limit_options, limits_from, notebook_option
from grader.errors import ExitCode, UsageError
from grader.kinds import trains_models
from grader.render.safe import one_line


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
                from grader.render.classroom import encode, error_result

                _emit_classroom(encode(error_result(getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}")))
            raise
    return wrapper


@click.command("grade")
@click.argument("submissions", type=click.Path(path_type=Path))
@click.option("--assignment", "-a", "assignment_path", required=True, type=click.Path(path_type=Path),
              help="The assignment YAML (name, problems).")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), default=Path("grader-out"),
              show_default=True, help="Folder for grades.csv, junit.xml, students/*.json, report.html and the cache.")
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
@click.option("--report/--no-report", "html_report", default=True,
              help="Write OUT/report.html, the class report with plots and near-copies (needs matplotlib; not with --single).")
@click.option("--executor", "executor_kind", type=click.Choice(["fork", "fresh", "local", "ray"]), default="fork",
              show_default=True, help="fork (or local): a warm fork server on this machine; fresh: a new Python "
              "per job (slow; for comparison); ray: the workers of a Ray cluster (pip install 'grader[ray]').")
@click.option("--ray-address", metavar="auto|HOST:PORT",
              help="With --executor ray: the cluster to join (default: a local Ray instance, or $RAY_ADDRESS).")
@limit_options
@device_option
@notebook_option
@click.pass_context
@handle_errors
@_classroom_fallback
def grade_cmd(ctx: click.Context, submissions: Path, assignment_path: Path, out: Path, jobs: int | None, force: bool,
              fail_under: str | None, single: bool, student: str | None, gradescope_path: Path | None,
              classroom: bool, show_progress: bool, html_report: bool, executor_kind: str, ray_address: str | None,
              device: str, notebook: str | None, **kwargs) -> None:
    """Grade a class: every submission in SUBMISSIONS on every problem of an assignment.

    SUBMISSIONS holds one entry per student: a folder (any files) or a single .py/.ipynb file;
    the entry's name is the student id. Writes OUT/grades.csv, OUT/junit.xml,
    OUT/students/ID.json and the class report OUT/report.html, and prints a summary.

    Exit status: 0 when grading worked (whatever the scores), 1 when --fail-under is given and a
    student is below it, 2 for a usage, assignment or spec error, 3 when the grader itself is broken
    (it failed on a problem for every submission; a failure on one student's files is their result).
    """
    from grader.render.progress import Progress
    from grader.render.summary import render_summary

    limits = limits_from(kwargs)
    if (gradescope_path or classroom or student) and not single:
        raise UsageError("--gradescope, --classroom and --student grade one submission: add --single")
    if student is not None:
        check_student_id(student)
    bank = get_bank(ctx)
    assignment = load_assignment(assignment_path, bank)
    if notebook:  # --notebook wins over the assignment's `notebook:`
        assignment = dataclasses.replace(assignment, notebook=notebook)
    if single:
        if not submissions.exists() and not submissions.is_symlink():
            raise UsageError(f"{submissions}: no such file or folder")
        if student is None:  # the file or folder name, unless it cannot name an output file
            student = printable(submissions.stem)
            try:
                check_student_id(student)
            except UsageError:
                student = "submission"
        students = [StudentEntry(student, submissions)]
    else:
        students = find_students(submissions)
    threshold = parse_fail_under(fail_under, assignment.max_score) if fail_under else None
    trains = trains_models(p.problem for p in assignment.problems)
    many = len(students) * len(assignment.problems) >= MANY_JOBS
    executor, jobs = executor_for(executor_kind, ray_address, jobs, training=trains, many_jobs=many)
    say = sys.stderr if classroom else sys.stdout
    progress = Progress(sys.stderr) if show_progress else None
    html_report = html_report and not single and _report_possible()
    start = time.monotonic()
    try:
        with LocalPool(jobs) as pool:
            report = grade_class(assignment, students, bank=bank, pool=pool, executor=executor,
                                       cache=ResultCache(out / ".cache"), force=force, limits=limits,
                                       progress=progress, device=device)
    finally:
        executor.close()
    if executor.warning:
        click.echo(f"Warning: {executor.warning}", err=True)
    paths = write_outputs(report, out)
    if html_report:
        from grader.classes.report import write_report_after_grading

        paths.update(write_report_after_grading(out, submissions, assignment, bank))
    try:  # a renderer's failure must not cost the Gradescope or Classroom result below
        click.echo(render_summary(report), file=say)
    except Exception as exc:  # noqa: BLE001 - reported, and the run exits 3 below
        click.echo(f"Error: the summary could not be rendered ({type(exc).__name__}: {exc})", err=True)
        report.outputs_failed = True
    click.echo(f"\nWrote {paths['gradebook']}, {paths['junit']} and {paths['students']}/<student>.json", file=say)
    if "report" in paths:
        click.echo(f"Wrote {paths['report']}", file=say)
    for line in report.not_written:
        click.echo(f"{'Error' if report.outputs_failed else 'Warning'}: could not write {line}", err=True)
    if gradescope_path:
        write_gradescope_results(report, gradescope_path, time.monotonic() - start)
        click.echo(f"Wrote {gradescope_path}", file=say)
    if classroom:
        from grader.render.classroom import encode, runner_result

        _emit_classroom(encode(runner_result(report.students[0])))
    if report.outputs_failed:
        sys.exit(int(ExitCode.INTERNAL_ERROR))
    if report.broken_problems:
        click.echo(f"Error: the grader failed on {len(report.grader_errors)} problem-submissions, and on every "
                   f"submission of {', '.join(report.broken_problems)} (see the summary); their results were not "
                   "cached, so a re-run retries them.", err=True)
        sys.exit(int(ExitCode.INTERNAL_ERROR))
    if report.grader_errors:  # failures on some students' data only: those students' results say so
        names = sorted({student for student, _ in report.grader_errors})
        click.echo(f"Warning: the grader could not grade {len(report.grader_errors)} problem-submission(s) of "
                   f"{', '.join(names[:10])}{' ...' if len(names) > 10 else ''} (see the summary); their results "
                   "say so and were not cached, so a re-run retries them.", err=True)
    if threshold is not None:
        below = [s for s in report.students if s.score < threshold - 1e-9]
        if below:
            names = ", ".join(one_line(s.student) for s in below[:10]) + (" ..." if len(below) > 10 else "")
            click.echo(f"{len(below)} student(s) scored below {threshold:g}: {names}", err=True)
            sys.exit(int(ExitCode.TESTS_FAILED))
    sys.exit(int(ExitCode.OK))


def _report_possible() -> bool:
    """Whether the class report can be drawn; if so, matplotlib starts loading now, while grading runs."""
    from grader.classes.report import INSTALL_HINT, plots_available, warm_up_in_background

    if not plots_available():
        click.echo(f"Warning: OUT/report.html not written: {INSTALL_HINT}", err=True)
        return False
    warm_up_in_background()
    return True


@click.command("gradescope")
@click.argument("assignment_path", metavar="ASSIGNMENT", type=click.Path(path_type=Path))
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path), default=Path("autograder.zip"),
              show_default=True, help="Where to write the autograder zip.")
@click.pass_context
@handle_errors
def gradescope_cmd(ctx: click.Context, assignment_path: Path, out: Path) -> None:
    """Build a Gradescope autograder zip (setup.sh + run_autograder) for an assignment."""
    from grader.classes.assignment import load_assignment
    from grader.classes.gradescope_zip import build_autograder_zip

    bank = get_bank(ctx)
    assignment = load_assignment(assignment_path, bank)
    names = build_autograder_zip(assignment, assignment_path, bank, out)
    click.echo(f"wrote {out} ({len(names)} files): upload it as the assignment's autograder on Gradescope")


def parse_fail_under(text: str, max_score: float) -> float:
    """`--fail-under 35` (points, 0 to the assignment's total) or `--fail-under 70%` (0% to 100%) -> points."""
    number = text.strip()
    percent = number.endswith("%")
    try:
        value = float(number[:-1] if percent else number)
    except ValueError:
        raise UsageError(f"--fail-under {text!r}: expected points (35) or a percentage (70%)") from None
    top = 100.0 if percent else max_score
    if not 0 <= value <= top:  # NaN fails too
        allowed = "0% to 100%" if percent else f"0 to {max_score:g} points (the assignment's total)"
        raise UsageError(f"--fail-under {text!r}: must be {allowed}")
    return value / 100 * max_score if percent else value
