"""The `grader` command: a thin layer that parses, calls the library and renders."""
from __future__ import annotations

import functools
import json
import os
import sys
import traceback
from pathlib import Path

import click

from . import __version__
from .bank import Bank
from .errors import ExitCode, GraderError
from .grading import grade, resolve_seed
from .limits import Limits
from .render.text import render_result


def handle_errors(func):
    """Show GraderErrors as 'Error: ...' with their exit status; never an engine traceback."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except GraderError as exc:
            click.echo(f"Error: {exc.message}", err=True)
            if exc.hint:
                click.echo(exc.hint, err=True)
            sys.exit(int(exc.exit_code))
        except (click.exceptions.Exit, click.ClickException, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:  # the grader's own failure: say so, keep the details for staff
            click.echo(f"Error: the grader ran into an internal error ({type(exc).__name__}: {exc}).\n"
                       "This is not your fault: tell course staff, with the command you ran.", err=True)
            if os.environ.get("GRADER_DEBUG"):
                traceback.print_exc()
            else:
                click.echo("Set GRADER_DEBUG=1 to see the details.", err=True)
            sys.exit(int(ExitCode.INTERNAL_ERROR))
    return wrapper


class _ClosedPipeSafe:
    """Standard output that, once its reader is gone (`grader list | head`), sends the rest to
    /dev/null instead of raising BrokenPipeError: the command finishes and exits as it would have."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._to_devnull()
            return len(text)

    def flush(self):
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._to_devnull()

    def _to_devnull(self):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self._stream.fileno())
        os.close(devnull)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def get_bank(ctx: click.Context) -> Bank:
    return Bank(ctx.obj.get("bank"))


def seed_options(func):
    func = click.option("--student", metavar="ID", help="Your student id: selects your own variant.")(func)
    func = click.option("--seed", type=int, metavar="N", help="Seed of the random inputs (default 0).")(func)
    return func


notebook_option = click.option(
    "--notebook", type=click.Choice(["definitions", "run"]), default=None,
    help="How a notebook is graded: definitions (default: only its imports, functions, classes and "
         "constants are loaded) or run (every cell runs in order; the first failing cell is reported).")

device_option = click.option(
    "--device", type=click.Choice(["all", "cpu", "cuda"]), default="all", show_default=True,
    help="Run the cases on these of each problem's devices (unavailable ones are reported as skipped).")


def limit_options(func):
    """Command-line overrides of the child's limits."""
    options = [
        click.option("--time-limit", "time", type=float, metavar="S", help="Wall seconds per case."),
        click.option("--cpu-limit", "cpu", type=float, metavar="S", help="CPU seconds per child."),
        click.option("--memory-limit", "memory_mb", type=int, metavar="MB", help="Memory per child (MB)."),
        click.option("--process-limit", "processes", type=int, metavar="N", help="Processes per child."),
        click.option("--file-size-limit", "file_size_mb", type=int, metavar="MB", help="Largest file written (MB)."),
        click.option("--open-files-limit", "open_files", type=int, metavar="N", help="Open files per child."),
        click.option("--result-limit", "result_mb", type=click.IntRange(min=1), metavar="MB",
                     help="Results all cases of a submission may send back together (MB)."),
        click.option("--allow-weak-sandbox", is_flag=True,
                     help="Grade even where the full sandbox is unavailable (no Linux namespaces, e.g. Docker "
                          "without SYS_ADMIN); every result then says sandbox: weak. Same as GRADER_SANDBOX=weak."),
    ]
    for option in options:
        func = option(func)
    return func


def limits_from(kwargs: dict) -> Limits | None:
    if kwargs.pop("allow_weak_sandbox", False):
        from .sandbox import allow_weak

        allow_weak()
    names = ("time", "cpu", "memory_mb", "processes", "file_size_mb", "open_files", "result_mb")
    values = {n: kwargs.pop(n, None) for n in names}
    return None if all(v is None for v in values.values()) else Limits().with_overrides(values)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--bank", type=click.Path(file_okay=False, path_type=Path), envvar="GRADER_BANK",
              help="Folder holding problems/ and reference/ (default: the bundled bank).")
@click.version_option(__version__, prog_name="grader")
@click.pass_context
def main(ctx: click.Context, bank: Path | None) -> None:
    """Grade machine-learning exercises: tensors, tolerances and GPUs."""
    if sys.stdout is not None and sys.stdout is sys.__stdout__:  # the real one (not a test runner's)
        sys.stdout = _ClosedPipeSafe(sys.stdout)
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
@click.pass_context
@handle_errors
def show(ctx: click.Context, problem_id: str, case_name: str | None, seed: int | None, student: str | None,
         as_json: bool) -> None:
    """Show a problem: statement, signature and visible cases."""
    from .show import describe_problem, render_case_code, render_problem

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
@click.pass_context
@handle_errors
def start(ctx: click.Context, problem_id: str, path: Path | None, force: bool) -> None:
    """Write a starter file for a problem (default: ./<entry_point>.py)."""
    from .errors import UsageError

    problem = get_bank(ctx).get(problem_id)
    if problem.kind != "function":
        raise UsageError(f"'{problem_id}' is a {problem.kind} question; answer it with 'grader quiz' or an answers file")
    path = path or Path(f"{problem.entry_point}.py")
    if path.is_dir():
        path = path / f"{problem.entry_point}.py"
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
@click.pass_context
@handle_errors
def check(ctx: click.Context, problem_id: str, submission: Path, seed: int | None, student: str | None,
          as_json: bool, device: str, notebook: str | None, **kwargs) -> None:
    """Grade one submission FILE (or folder) for a problem.

    Exit status: 0 when every test passed, 1 when any failed, 2 for a usage or spec error.
    """
    limits = limits_from(kwargs)
    if problem_id.endswith((".yaml", ".yml")) and Path(problem_id).is_file():
        from .quiz import check_quiz_file  # a whole quiz: grader check QUIZ.yaml answers.yaml

        check_quiz_file(ctx, Path(problem_id), submission, seed, student, as_json)
        return
    result = grade(problem_id, submission, bank=get_bank(ctx), seed=seed, student=student, limits=limits,
                   device=device, notebook=notebook)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        click.echo(render_result(result, color=sys.stdout.isatty()))
    if result.grader_error:
        sys.exit(int(ExitCode.INTERNAL_ERROR))
    sys.exit(int(ExitCode.OK if result.passed else ExitCode.TESTS_FAILED))


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
    from .quiz import quiz_command

    quiz_command(ctx, quiz_arg, seed, student, as_json, save, feedback)


@main.command()
@click.argument("name", default="problem", type=click.Choice(["problem"]))
def schema(name: str) -> None:
    """Print the JSON Schema of problem specs (for editors and CI)."""
    from .spec import load_schema

    click.echo(json.dumps(load_schema(), indent=2))


from .batch_cli import grade_cmd, gradescope_cmd  # noqa: E402 - class grading commands (issue 4)

main.add_command(grade_cmd)
main.add_command(gradescope_cmd)

from .report_cli import report_cmd  # noqa: E402 - the class report (issue 17)

main.add_command(report_cmd)

from grader.service_cli import login_cmd, serve_cmd, submit_cmd, tokens_cmd  # noqa: E402 - the course service (issue 15)

for _command in (serve_cmd, tokens_cmd, submit_cmd, login_cmd):
    main.add_command(_command)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report.")
@click.option("--workers", type=int, metavar="N", help="Problems validated in parallel (default: CPU count).")
@click.pass_context
@handle_errors
def validate(ctx: click.Context, paths: tuple[Path, ...], as_json: bool, workers: int | None) -> None:
    """Check problems: schema, reference, mistakes killed, inputs, starter (default: whole bank).

    PATHS are spec files or topic folders; none: the whole bank. Exit status: 0 all
    valid, 1 a check failed (each failure names the problem and the reason), 2 a malformed spec.
    """
    from .validate import find_bank_root, render_problem_line, render_report, validate as run_validation

    bank_root = ctx.obj.get("bank") or (find_bank_root(paths[0]) if paths else None)
    progress = None if as_json else (lambda report: click.echo(render_problem_line(report)))
    report = run_validation(list(paths) or None, bank=Bank(bank_root), workers=workers, progress=progress)
    click.echo(json.dumps(report.to_dict(), indent=2) if as_json else render_report(report))
    sys.exit(int(report.exit_code))


@main.command()
@click.argument("problem_id")
@click.option("--topic", required=True, help="Topic folder under problems/.")
@click.option("--kind", type=click.Choice(["function", "numeric", "choice"]), default="function", show_default=True)
@click.option("--title", help="Title (default: from the id).")
@click.pass_context
@handle_errors
def new(ctx: click.Context, problem_id: str, topic: str, kind: str, title: str | None) -> None:
    """Scaffold a problem: problems/TOPIC/ID.yaml plus reference and mistake stubs."""
    from .scaffold import scaffold

    bank = get_bank(ctx)
    for path in scaffold(bank.root, problem_id, topic, kind, title=title):
        click.echo(f"wrote {path.relative_to(bank.root)}")
    click.echo(f"fill in the TODOs, then run: grader validate problems/{topic}/{problem_id}.yaml")


if __name__ == "__main__":  # pragma: no cover
    main()
