"""What every command shares: error handling, the bank option, seed, limit and device options."""
from __future__ import annotations

import functools
import os
import sys
import traceback
from typing import TYPE_CHECKING

import click

from grader.errors import ExitCode, GraderError
from grader.limits import Limits

if TYPE_CHECKING:  # imported when used: the engine imports torch, and `grader check` starts its child first
    from grader.problems.bank import Bank


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


class ClosedPipeSafe:
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
    from grader.problems.bank import Bank

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
        from grader.sandbox.confine import allow_weak

        allow_weak()
    names = ("time", "cpu", "memory_mb", "processes", "file_size_mb", "open_files", "result_mb")
    values = {n: kwargs.pop(n, None) for n in names}
    return None if all(v is None for v in values.values()) else Limits().with_overrides(values)


bundle_option = click.option(
    "--bundle", metavar="DIR", envvar="GRADER_BUNDLE",
    help="Use the course's student bundle (grader release) instead of a bank: visible cases only. Same as GRADER_BUNDLE.")
