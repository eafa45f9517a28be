"""The `grader` command: a thin layer that parses, calls the library and renders."""
from __future__ import annotations

import atexit
import gc
import importlib
import json
import os
import sys
import threading
from pathlib import Path

import click

from grader import __version__
from grader.errors import ExitCode
from grader.cli.options import (ClosedPipeSafe, bundle_option, device_option, get_bank, handle_errors, limit_options, limits_from,
                                notebook_option, seed_options)
from grader.cli.service import login_cmd, serve_cmd, submit_cmd, tokens_cmd

# The engine (the bank, the kinds, comparisons) imports torch: each command imports what it uses when
# it runs, so that `grader check` can start its child before this process spends seconds on torch.


class LazyGroup(click.Group):
    """The command group; the commands of other modules (name -> ("module:attribute", the first
    sentence of its help)) are imported when one is run, not when the group is: listing them in
    `grader --help` uses the sentence kept here, so it does not import the engine (and torch)."""

    def __init__(self, *args, lazy: dict[str, tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy and name not in self.commands:
            module, _, attribute = self.lazy[name][0].partition(":")
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max(len(name) for name in self.list_commands(ctx))
        rows = []
        for name in self.list_commands(ctx):
            if name in self.commands:
                command = self.commands[name]
                if not command.hidden:
                    rows.append((name, command.get_short_help_str(limit)))
            else:
                rows.append((name, click.utils.make_default_short_help(self.lazy[name][1], limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


#: name -> (where the command is, the first sentence of its help: tests/test_smoke_cli.py checks them)
LAZY_COMMANDS = {
    "grade": ("grader.cli.grade:grade_cmd",
              "Grade a class: every submission in SUBMISSIONS on every problem of an assignment."),
    "gradescope": ("grader.cli.grade:gradescope_cmd",
                   "Build a Gradescope autograder zip (setup.sh + run_autograder) for an assignment."),
    "report": ("grader.cli.report:report_cmd",
               "Write DIR/report.html: the class report of a graded class (DIR is grader grade's --out)."),
    "release": ("grader.cli.release:release_cmd",
                "Write the student bundle of ASSIGNMENT.yaml: no solutions, no hidden cases."),
    "new": ("grader.cli.new:new", "Scaffold a problem: problems/TOPIC/ID.yaml plus reference and mistake stubs."),
}


@click.group(cls=LazyGroup, lazy=LAZY_COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--bank", type=click.Path(file_okay=False, path_type=Path), envvar="GRADER_BANK",
              help="Folder holding problems/ and reference/ (default: the bundled bank).")
@click.version_option(__version__, prog_name="grader")
@click.pass_context
def main(ctx: click.Context, bank: Path | None) -> None:
    """Grade machine-learning exercises: tensors, tolerances and GPUs."""
    if sys.stdout is not None and sys.stdout is sys.__stdout__:  # the real one (not a test runner's)
        sys.stdout = ClosedPipeSafe(sys.stdout)
    ctx.ensure_object(dict)
    ctx.obj["bank"] = bank


@main.command("list")
@click.option("--topic", help="Only this topic.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handle_errors
def list_cmd(ctx: click.Context, topic: str | None, as_json: bool) -> None:
    """List the problems by topic, with their points."""
    problems = [p for p in get_bank(ctx).all() if topic is None or p.topic == topic]
    if as_json:
        click.echo(json.dumps([{"id": p.id, "title": p.title, "topic": p.topic, "kind": p.kind,
                                "points": p.points, "framework": p.framework} for p in problems], indent=2))
        return
    if not problems:
        click.echo("no problems" + (f" in topic '{topic}'" if topic else ""))
        return
    for topic_name in sorted({p.topic for p in problems}):
        click.echo(click.style(topic_name, bold=True))
        for p in sorted((p for p in problems if p.topic == topic_name), key=lambda p: p.id):
            click.echo(f"  {p.id:<32} {p.points:>5g} pts  {p.kind:<8}  {p.title}")


@main.command()
@click.argument("problem_id")
@click.option("--case", "case_name", metavar="NAME", help="Print this case's inputs as code that rebuilds them.")
@seed_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@bundle_option
@click.pass_context
@handle_errors
def show(ctx: click.Context, problem_id: str, case_name: str | None, seed: int | None, student: str | None,
         as_json: bool, bundle: str | None) -> None:
    """Show a problem: statement, signature and visible cases."""
    from grader.authoring.show import describe_problem, render_case_code, render_problem
    from grader.grading import resolve_seed

    if bundle:
        from grader.cli.bundle import show_from_bundle

        return show_from_bundle(bundle, problem_id, case_name, seed, student, as_json)
    bank = get_bank(ctx)
    problem = bank.get(problem_id)
    seed_value = resolve_seed(seed, student)
    if case_name:
        click.echo(render_case_code(problem, case_name, seed_value, student))
        return
    data = describe_problem(problem, seed_value, student, bank)
    click.echo(json.dumps(data, indent=2) if as_json else render_problem(data))


@main.command()
@click.argument("problem_id")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@bundle_option
@click.pass_context
@handle_errors
def start(ctx: click.Context, problem_id: str, path: Path | None, force: bool, bundle: str | None) -> None:
    """Write a starter file for a problem (default: ./<entry_point>.py)."""
    from grader.errors import UsageError
    from grader.kinds import kind_of

    if bundle:
        from grader.kinds.bundle import Bundle

        found = Bundle(bundle).get(problem_id)
        if found.problem is None:
            raise UsageError(f"'{problem_id}' is a {found.kind} question; answer it in an answers file")
        problem = found.problem
    else:
        problem = get_bank(ctx).get(problem_id)
    if not kind_of(problem.kind).answered_in_code:
        raise UsageError(f"'{problem_id}' is a {problem.kind} question; answer it with 'grader quiz' or an answers file")
    path = path or Path(problem.starter_file)
    if path.is_dir():
        path = path / problem.starter_file
    if path.exists() and not force:
        raise UsageError(f"{path} already exists", "Pass --force to overwrite it, or give another PATH.")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(problem.spec["starter"], encoding="utf-8")
    click.echo(f"wrote {path}: implement {problem.signature}, then run\n  grader check {problem.id} {path}")


@main.command()
@click.argument("problem_id")
@click.argument("submission", type=click.Path(path_type=Path))
@seed_options
@limit_options
@device_option
@notebook_option
@click.option("--json", "as_json", is_flag=True, help="Print only a JSON result.")
@bundle_option
@click.pass_context
@handle_errors
def check(ctx: click.Context, problem_id: str, submission: Path, seed: int | None, student: str | None,
          as_json: bool, device: str, notebook: str | None, bundle: str | None, **kwargs) -> None:
    """Grade one submission FILE (or folder) for a problem.

    Exit status: 0 when every test passed, 1 when any failed, 2 for a usage or spec error.
    """
    limits = limits_from(kwargs)
    if problem_id.endswith((".yaml", ".yml")) and Path(problem_id).is_file():
        from grader.cli.quiz import check_quiz_file  # a whole quiz: grader check QUIZ.yaml answers.yaml

        check_quiz_file(ctx, Path(problem_id), submission, seed, student, as_json)
        return
    if not bundle:
        _require_known_problem(ctx, problem_id)  # a mistyped id: said at once, before torch is imported anywhere
    from grader.cli.warm import WarmExecutor

    executor = WarmExecutor()  # first: the child's template imports torch while this process does
    own_process = bool(ctx.obj.get(OWN_PROCESS))
    collecting = gc.isenabled()
    gc.disable()  # a short command: the cycle collector would only walk torch's objects (0.1-0.4 s of CPU)
    try:
        result = _check(ctx, problem_id, submission, executor, limits=limits, device=device, notebook=notebook,
                        seed=seed, student=student, bundle=bundle)
    finally:
        executor.close()
        if collecting and not own_process:  # the program exits without it: once on, it walks all of torch (0.1 s)
            gc.enable()
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        from grader.render.text import render_result

        click.echo(render_result(result, color=sys.stdout.isatty()))
    if result.grader_error:
        code = ExitCode.INTERNAL_ERROR
    else:
        code = ExitCode.OK if result.passed else ExitCode.TESTS_FAILED
    if own_process:
        exit_at_once(int(code))
    sys.exit(int(code))


def _require_known_problem(ctx: click.Context, problem_id: str) -> None:
    """Raise UnknownProblem, as the bank would, when the bank has no spec file for `problem_id`;
    from the file names alone (the standard library), so a mistyped id costs neither this
    process's nor the template's torch import. A bank that is not there is left to the bank."""
    from grader.problems.locations import default_bank_root, spec_paths, unknown_problem

    root = Path(ctx.obj["bank"]).resolve() if ctx.obj.get("bank") else default_bank_root()
    if (root / "problems").is_dir():
        ids = spec_paths(root)
        if problem_id not in ids:
            raise unknown_problem(root, problem_id, list(ids))


def _check(ctx: click.Context, problem_id: str, submission: Path, executor, bundle: str | None, **options):
    """The result of `grader check` for one problem, from the bank or the student bundle."""
    if bundle:  # the course's student bundle: visible cases, expected outputs precomputed (grader.kinds.bundle)
        from grader.kinds.bundle import Bundle, check_with_bundle

        return check_with_bundle(Bundle(bundle), problem_id, submission, executor=executor, **options)
    from grader.grading import grade

    return grade(problem_id, submission, bank=get_bank(ctx), executor=executor, **options)


@main.command()
@click.argument("quiz_arg", metavar="QUIZ")
@seed_options
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (questions go to stderr).")
@click.option("--save", type=click.Path(dir_okay=False, path_type=Path), help="Also write your answers to this YAML file.")
@click.option("--feedback", type=click.Choice(["end", "each"]), default="end", show_default=True,
              help="When to tell you whether an answer is right: after each answer, or all at the end.")
@click.pass_context
@handle_errors
def quiz(ctx: click.Context, quiz_arg: str, seed: int | None, student: str | None, as_json: bool,
         save: Path | None, feedback: str) -> None:
    """Take a quiz in the terminal: QUIZ is a quiz .yaml file or one question id.

    Questions come one by one; Enter skips (skipped ones come back), 'quit' finishes. Input may be
    piped. Exit status: 0 when every answer is right, 1 otherwise, 2 for a usage or quiz file error.
    """
    from grader.cli.quiz import quiz_command

    quiz_command(ctx, quiz_arg, seed, student, as_json, save, feedback)


@main.command()
@click.argument("name", default="problem", type=click.Choice(["problem"]))
def schema(name: str) -> None:
    """Print the JSON Schema of problem specs (for editors and CI)."""
    from grader.problems.spec import load_schema

    click.echo(json.dumps(load_schema(), indent=2))




for _command in (serve_cmd, tokens_cmd, submit_cmd, login_cmd):
    main.add_command(_command)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report.")
@click.option("--workers", "--jobs", "-j", "workers", type=click.IntRange(min=0), metavar="N",
              help="Problems validated in parallel (default, or 0: CPU count).")
@click.pass_context
@handle_errors
def validate(ctx: click.Context, paths: tuple[Path, ...], as_json: bool, workers: int | None) -> None:
    """Check problems: schema, reference, mistakes killed, inputs, starter (default: whole bank).

    PATHS are spec files or topic folders; none: the whole bank. Exit status: 0 all
    valid, 1 a check failed (each failure names the problem and the reason), 2 a malformed spec.
    """
    from grader.authoring.validate import find_bank_root, validate as run_validation
    from grader.problems.bank import Bank
    from grader.render.validation import render_problem_line, render_report

    bank_root = ctx.obj.get("bank") or (find_bank_root(paths[0]) if paths else None)
    progress = None if as_json else (lambda report: click.echo(render_problem_line(report)))
    report = run_validation(list(paths) or None, bank=Bank(bank_root), workers=workers, progress=progress)
    click.echo(json.dumps(report.to_dict(), indent=2) if as_json else render_report(report))
    if ctx.obj.get(OWN_PROCESS):
        exit_at_once(int(report.exit_code))
    sys.exit(int(report.exit_code))


OWN_PROCESS = "own_process"  #: in ctx.obj: the command runs as the `grader` program, not inside a caller


def run() -> None:
    """The `grader` program (the console script and `python -m grader`). Unlike `main` called from
    Python (tests, CliRunner), a command may end the whole process once its output is written."""
    main(prog_name="grader", obj={OWN_PROCESS: True})


def exit_at_once(code: int) -> None:
    """End the process now: its output is written and its children and folders are gone.

    After `import torch` the interpreter's own shutdown (tearing down every module and object,
    torch's libraries' destructors) takes 0.4-0.6 s and does nothing a finished command needs.
    Exit handlers still run and the standard streams are flushed first; while a thread that is
    not a daemon is alive (it may have work to finish), or a stream cannot be flushed (its error
    must show), the interpreter exits the normal way."""
    others = [t for t in threading.enumerate() if t is not threading.current_thread() and not t.daemon]
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if others or run_exit_handlers is None or threading.current_thread() is not threading.main_thread():
        sys.exit(code)
    try:
        run_exit_handlers()
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except Exception:  # noqa: BLE001 - the normal exit shows what went wrong
        sys.exit(code)
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
