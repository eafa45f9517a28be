"""`grader grade` and `grader gradescope`: a thin layer over grader.batch and the renderers."""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import click

from .cli import device_option, get_bank, handle_errors, limit_options, limits_from
from .errors import ExitCode, UsageError


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
@click.option("--executor", "executor_kind", type=click.Choice(["fork", "fresh"]), default="fork", show_default=True,
              help="fork: a warm fork server; fresh: a new Python per job (slow; for comparison).")
@limit_options
@device_option
@click.pass_context
@handle_errors
def grade_cmd(ctx: click.Context, submissions: Path, assignment_path: Path, out: Path, jobs: int | None, force: bool,
              fail_under: str | None, single: bool, student: str | None, gradescope_path: Path | None,
              classroom: bool, show_progress: bool, html_report: bool, executor_kind: str, device: str, **kwargs) -> None:
    """Grade a class: every submission in SUBMISSIONS on every problem of an assignment.

    SUBMISSIONS holds one entry per student: a folder (any files) or a single .py/.ipynb file;
    the entry's name is the student id. Writes OUT/grades.csv, OUT/junit.xml,
    OUT/students/ID.json and the class report OUT/report.html, and prints a summary.

    Exit status: 0 when grading worked (whatever the scores), 1 when --fail-under is given and a
    student is below it, 2 for a usage, assignment or spec error, 3 when the grader failed.
    """
    from . import batch
    from .render.progress import Progress
    from .render.summary import render_summary

    limits = limits_from(kwargs)
    bank = get_bank(ctx)
    assignment = batch.load_assignment(assignment_path, bank)
    if (gradescope_path or classroom or student) and not single:
        raise UsageError("--gradescope, --classroom and --student grade one submission: add --single")
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
    html_report = html_report and not single and _report_possible()
    start = time.monotonic()
    try:
        with batch.LocalPool(jobs) as pool:
            report = batch.grade_class(assignment, students, bank=bank, pool=pool, executor=executor,
                                       cache=batch.ResultCache(out / ".cache"), force=force, limits=limits,
                                       progress=progress, device=device)
    finally:
        executor.close()
    if executor.warning:
        click.echo(f"Warning: {executor.warning}", err=True)
    paths = batch.write_outputs(report, out)
    if html_report:
        from .report import write_report_after_grading

        paths.update(write_report_after_grading(out, submissions, assignment, bank))
    click.echo(render_summary(report), file=say)
    click.echo(f"\nWrote {paths['gradebook']}, {paths['junit']} and {paths['students']}/<student>.json", file=say)
    if "report" in paths:
        click.echo(f"Wrote {paths['report']}", file=say)
    if gradescope_path:
        from .render.gradescope import results_json

        gradescope_path.parent.mkdir(parents=True, exist_ok=True)
        gradescope_path.write_text(json.dumps(results_json(report.students[0], assignment,
                                                           time.monotonic() - start), indent=2), encoding="utf-8")
        click.echo(f"Wrote {gradescope_path}", file=say)
    if classroom:
        from .render.classroom import encode, runner_result

        encoded = encode(runner_result(report.students[0]))
        click.echo(encoded)
        github_output = os.environ.get("GITHUB_OUTPUT")
        if github_output:
            with open(github_output, "a", encoding="utf-8") as fh:
                fh.write(f"result={encoded}\n")
    if report.grader_errors:
        click.echo(f"Error: the grader failed on {len(report.grader_errors)} problem-submissions "
                   "(see the summary); their results were not cached, so a re-run retries them.", err=True)
        sys.exit(int(ExitCode.INTERNAL_ERROR))
    if threshold is not None:
        below = [s for s in report.students if s.score < threshold - 1e-9]
        if below:
            names = ", ".join(s.student for s in below[:10]) + (" ..." if len(below) > 10 else "")
            click.echo(f"{len(below)} student(s) scored below {threshold:g}: {names}", err=True)
            sys.exit(int(ExitCode.TESTS_FAILED))
    sys.exit(int(ExitCode.OK))


def _report_possible() -> bool:
    """Whether the class report can be drawn; if so, matplotlib starts loading now, while grading runs."""
    from .report import INSTALL_HINT, plots_available, warm_up_in_background

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
    from .batch import load_assignment
    from .gradescope_zip import build_autograder_zip

    bank = get_bank(ctx)
    assignment = load_assignment(assignment_path, bank)
    names = build_autograder_zip(assignment, assignment_path, bank, out)
    click.echo(f"wrote {out} ({len(names)} files): upload it as the assignment's autograder on Gradescope")
