"""`grader new`: scaffold a problem (grader.authoring.scaffold)."""
from __future__ import annotations

import click

from grader.cli.options import get_bank, handle_errors
from grader.kinds import names as kind_names


@click.command("new")
@click.argument("problem_id")
@click.option("--topic", required=True, help="Topic folder under problems/.")
@click.option("--kind", type=click.Choice(kind_names()), default="function", show_default=True)
@click.option("--title", help="Title (default: from the id).")
@click.pass_context
@handle_errors
def new(ctx: click.Context, problem_id: str, topic: str, kind: str, title: str | None) -> None:
    """Scaffold a problem: problems/TOPIC/ID.yaml plus reference and mistake stubs."""
    from grader.authoring.scaffold import scaffold

    bank = get_bank(ctx)
    for path in scaffold(bank.root, problem_id, topic, kind, title=title):
        click.echo(f"wrote {path.relative_to(bank.root)}")
    click.echo(f"fill in the TODOs, then run: grader validate problems/{topic}/{problem_id}.yaml")
