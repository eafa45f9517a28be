"""`grader release`: write the student bundle of an assignment (grader.authoring.release)."""
from __future__ import annotations

from pathlib import Path

import click

from grader.problems.bank import Bank
from grader.cli.options import handle_errors


@click.command("release")
@click.argument("assignment", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="A new or empty folder for the bundle.")
@click.pass_context
@handle_errors
def release_cmd(ctx: click.Context, assignment: Path, out: Path) -> None:
    """Write the student bundle of ASSIGNMENT.yaml: no solutions, no hidden cases.

    Students check their work with it: grader check ID FILE --bundle OUT (or GRADER_BUNDLE=OUT).
    It installs with pip (pip install OUT) or works unpacked anywhere.
    """
    from grader.authoring.release import release

    report = release(assignment, out, bank=Bank(ctx.obj.get("bank")))
    for line in report.lines:
        click.echo(f"  {line}")
    click.echo(f"wrote {out} (package {report.package}); students run: grader check ID FILE --bundle {out}")
