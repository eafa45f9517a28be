"""`grader report`: a thin layer over grader.classes.report.write_report."""
from __future__ import annotations

from pathlib import Path

import click

from grader.cli.options import get_bank, handle_errors
from grader.classes.report import write_report


@click.command("report")
@click.argument("out", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
@click.option("--submissions", type=click.Path(file_okay=False, path_type=Path),
              help="The class's submissions folder: look for near-copies among them.")
@click.option("--assignment", "-a", "assignment_path", type=click.Path(dir_okay=False, path_type=Path),
              help="The assignment YAML: its problems' starter code and references do not count as copying.")
@click.option("--starter", "starters", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A file of code handed to every student (repeatable): it does not count as copying.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=None,
              help="List pairs whose similarity is at least this (0 to 1; default 0.8).")
@click.option("--title", help="The page's title (default: the assignment's name from summary.txt).")
@click.pass_context
@handle_errors
def report_cmd(ctx: click.Context, out: Path, submissions: Path | None, assignment_path: Path | None,
               starters: tuple[Path, ...], threshold: float | None, title: str | None) -> None:
    """Write DIR/report.html: the class report of a graded class (DIR is grader grade's --out).

    Drawn from DIR/grades.csv and DIR/students/*.json: scores, the cases the class fails, the
    named mistakes, limits hit and speed, one section per student; with --submissions, also
    near-copies. Exit status: 0 written, 2 a usage error (such as matplotlib missing), 3 the
    grader failed.
    """
    exclude = [p.read_text(encoding="utf-8", errors="replace") for p in starters]
    if assignment_path is not None:
        from grader.classes.assignment import load_assignment
        from grader.classes.similarity import boilerplate_sources

        bank = get_bank(ctx)
        assignment = load_assignment(assignment_path, bank)
        exclude += boilerplate_sources([p.problem for p in assignment.problems], bank.reference_dir)
    path = write_report(out, submissions=submissions, exclude=exclude, threshold=threshold, title=title)
    click.echo(f"Wrote {path}")
