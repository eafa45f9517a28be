"""`grader serve`, `grader tokens`, `grader submit` and `grader login`: thin layers over grader.service
and grader.service.submit (docs/running-a-course.md)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import click

from grader.cli.options import get_bank, handle_errors
from grader.errors import ExitCode, UsageError

db_option = click.option("--db", "db_url", envvar="GRADER_DB", required=True, metavar="URL",
                         help="Database: sqlite:///course.db (or a file path) or postgresql://user@host/db. "
                              "Also $GRADER_DB (keeps a password off the command line).")


def _service_modules():
    """Import the service's libraries, or say how to install them."""
    try:
        import fastapi  # noqa: F401
        import sqlalchemy  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise UsageError(f"the course service needs more libraries ({exc.name} is missing)",
                         "Install them with: pip install 'grader[service]'") from None


def _open(db_url: str):
    _service_modules()
    from grader.service.db import open_database

    try:
        return open_database(db_url)
    except UsageError:
        raise
    except Exception as exc:  # noqa: BLE001 - a bad URL, a server down, a driver missing: say which
        raise UsageError(f"could not open the database ({type(exc).__name__}: {str(exc).splitlines()[0][:300]})",
                         "Check --db / $GRADER_DB: sqlite:///PATH or postgresql://USER:PASSWORD@HOST/DB.") from None


@click.command("serve")
@click.option("--assignment", "assignments", multiple=True, required=True, type=click.Path(path_type=Path),
              help="An assignment YAML to take submissions for (repeat for several).")
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=0),
              help="Worker processes started beside the API (0: the API only; run workers elsewhere with --no-api).")
@click.option("--jobs", type=click.IntRange(min=1),
              help="Submissions each worker grades at once (default: two per core; with --executor ray, "
                   "two per CPU of the cluster).")
@click.option("--lease-seconds", default=60.0, show_default=True, type=click.FloatRange(min=1),
              help="A worker's hold on a job; a job whose worker died is graded again after this long.")
@click.option("--no-api", is_flag=True, help="Run one worker in this process and no API (for worker machines).")
@click.option("--max-idle", type=float, hidden=True, help="With --no-api: stop after this many idle seconds (tests).")
@click.option("--executor", "executor_kind", type=click.Choice(["fork", "ray"]), default="fork", show_default=True,
              help="Where the workers run the submissions: fork: a warm fork server on this machine; ray: the "
                   "workers of a Ray cluster (pip install 'grader[ray]'; docs/ray.md).")
@click.option("--ray-address", metavar="auto|HOST:PORT",
              help="With --executor ray: the cluster to join (default: $RAY_ADDRESS, or a Ray instance started "
                   "by the worker process on this machine).")
@click.option("--allow-weak-sandbox", is_flag=True,
              help="Grade even where the full sandbox is unavailable (no Linux namespaces, e.g. Docker without "
                   "SYS_ADMIN); every result then says sandbox: weak. Same as GRADER_SANDBOX=weak.")
@click.pass_context
@handle_errors
def serve_cmd(ctx: click.Context, assignments: tuple[Path, ...], db_url: str, host: str, port: int, workers: int,
              jobs: int | None, lease_seconds: float, no_api: bool, max_idle: float | None, executor_kind: str,
              ray_address: str | None, allow_weak_sandbox: bool) -> None:
    """Run the course service: the HTTP API and workers that grade submissions in the sandbox."""
    _service_modules()
    from grader.classes.pool import check_executor
    from grader.service.course import load_course

    if allow_weak_sandbox:  # also reaches the worker processes, through the environment they inherit
        from grader.sandbox.confine import allow_weak

        allow_weak()
    check_executor(executor_kind, ray_address)
    if executor_kind == "ray" and not ray_address and not os.environ.get("RAY_ADDRESS") and workers > 1 and not no_api:
        raise UsageError(f"--executor ray without --ray-address would start a Ray instance in each of the {workers} "
                         "worker processes",
                         "Use --workers 1 (its --jobs run on the one Ray instance), or start a cluster "
                         "('ray start --head') and pass --ray-address auto; see docs/ray.md.")
    bank = get_bank(ctx)
    course = load_course(list(assignments), bank)
    if workers or no_api:  # no namespaces and no --allow-weak-sandbox: refuse now, not in a worker restarted forever
        from grader.problems.locations import private_paths
        from grader.sandbox.confine import require_trusted

        require_trusted(private_paths(bank.root))
    sessions = _open(db_url)
    if no_api:
        from grader.service.worker import Worker

        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        if os.environ.get("GRADER_SERVICE_PARENT"):  # started by `grader serve`: stop when it is gone
            threading.Thread(target=_stop_with_parent, args=(int(os.environ["GRADER_SERVICE_PARENT"]), stop),
                             daemon=True).start()
        Worker(sessions, course, bank, slots=jobs, lease_seconds=lease_seconds, executor_kind=executor_kind,
               ray_address=ray_address).run(stop, max_idle=max_idle)
        return
    import uvicorn

    from grader.service.app import create_app

    # the URL (and any password) stays off the process list
    env = dict(os.environ, GRADER_DB=db_url, GRADER_SERVICE_PARENT=str(os.getpid()))
    command = [sys.executable, "-m", "grader", *(["--bank", str(ctx.obj["bank"])] if ctx.obj.get("bank") else []),
               "serve", "--no-api", "--lease-seconds", str(lease_seconds), *(["--jobs", str(jobs)] if jobs else []),
               "--executor", executor_kind, *(["--ray-address", ray_address] if ray_address else []),
               *(["--allow-weak-sandbox"] if allow_weak_sandbox else [])]
    for path in assignments:
        command += ["--assignment", str(path)]
    supervisor = WorkerSupervisor(command, env, workers)
    supervisor.start()
    on = f" grading on Ray ({ray_address or os.environ.get('RAY_ADDRESS') or 'a local instance'})" \
        if executor_kind == "ray" else ""
    click.echo(f"serving {', '.join(course)} on http://{host}:{port} with {workers} worker process(es){on}", err=True)
    # uvicorn re-raises the SIGTERM it caught once it has shut down: make that an exit that stops the workers too
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        uvicorn.run(create_app(sessions, course), host=host, port=port, log_level="info", server_header=False)
    finally:
        supervisor.stop()


def _stop_with_parent(parent: int, stop: threading.Event) -> None:
    while not stop.wait(1.0):
        if os.getppid() != parent:
            stop.set()


class WorkerSupervisor:
    """Keeps `count` worker processes running: one that exits is started again (after a pause)."""

    def __init__(self, command: list[str], env: dict, count: int):
        self.command, self.env, self.count = command, env, count
        self.processes: list[subprocess.Popen] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> None:
        self.processes = [subprocess.Popen(self.command, env=self.env) for _ in range(self.count)]
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(2.0):
            for i, proc in enumerate(self.processes):
                if proc.poll() is not None and not self._stop.is_set():
                    click.echo(f"worker {proc.pid} exited ({proc.returncode}); starting another", err=True)
                    self.processes[i] = subprocess.Popen(self.command, env=self.env)

    def stop(self) -> None:
        self._stop.set()
        for proc in self.processes:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.processes:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


@click.command("tokens")
@click.argument("roster", required=False, type=click.Path(dir_okay=False, path_type=Path))
@db_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the new tokens as student,token rows (made readable only by you).")
@click.option("--reissue", is_flag=True, help="New tokens for every student of the roster; their old ones stop working.")
@click.option("--staff", is_flag=True, help="Issue a staff token (printed once) instead.")
@click.option("--revoke", "revoke", metavar="STUDENT", multiple=True, help="Revoke this student's token (repeatable).")
@click.option("--revoke-staff", is_flag=True, help="Revoke every staff token.")
@handle_errors
def tokens_cmd(roster: Path | None, db_url: str, out: Path | None, reissue: bool, staff: bool,
               revoke: tuple[str, ...], revoke_staff: bool) -> None:
    """Issue tokens: one per student of ROSTER.csv (its `student` column), written to --out.

    Tokens are random and stored only as a hash: a lost one cannot be shown again, only
    replaced (--reissue) or revoked (--revoke STUDENT)."""
    actions = sum([roster is not None, staff, bool(revoke), revoke_staff])
    if actions != 1:
        raise UsageError("give exactly one of: ROSTER.csv (with --out), --staff, --revoke STUDENT, --revoke-staff",
                         "See 'grader tokens --help'.")
    if roster is not None and out is None:
        raise UsageError("--out is required with a roster", "Tokens are secrets: they go to a file, e.g. --out tokens.csv.")
    from grader.service import tokens

    students = tokens.read_roster(roster) if roster is not None else []
    sessions = _open(db_url)
    with sessions.begin() as session:
        if staff:
            click.echo(tokens.issue_staff_token(session))
            click.echo("staff token issued (shown once: keep it safe)", err=True)
        elif revoke_staff:
            click.echo(f"revoked {tokens.revoke_staff(session)} staff token(s)")
        elif revoke:
            for student in revoke:
                click.echo(f"{student}: revoked {tokens.revoke_student(session, student)} token(s)")
        else:
            issued, kept = tokens.issue_student_tokens(session, students, reissue=reissue)
            tokens.write_tokens_csv(out, issued)
            click.echo(f"wrote {len(issued)} token(s) to {out}" + (
                f"; {len(kept)} student(s) already had one (kept; --reissue replaces them)" if kept else ""))


@click.command("submit")
@click.argument("assignment", required=False)
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--server", metavar="URL", help="The course server (default: $GRADER_SERVER or the one 'grader login' saved).")
@click.option("--token", metavar="TOKEN", help="Your token (default: $GRADER_TOKEN or the one 'grader login' saved).")
@click.option("--json", "as_json", is_flag=True, help="Print only a JSON result: the submission id and each "
              "problem as 'grader check --json' prints it.")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Wait for the grade.")
@click.option("--timeout", default=600.0, show_default=True, type=click.FloatRange(min=0), metavar="S",
              help="Longest wait for the grade.")
@click.option("--id", "submission_id", metavar="ID", help="Show the result of this earlier submission instead of sending files.")
@click.option("--list", "list_assignments", is_flag=True, help="List the server's assignments and exit.")
@handle_errors
def submit_cmd(assignment: str | None, files: tuple[Path, ...], server: str | None, token: str | None, as_json: bool,
               wait: bool, timeout: float, submission_id: str | None, list_assignments: bool) -> None:
    """Send your files for an assignment to the course server and show the grade.

    ASSIGNMENT is the assignment's name; FILE... are files or folders.

    Exit status: 0 when every visible test passed, 1 when any failed, 2 for a usage error,
    3 when the grader failed on it, 4 when the server refused the submission or could not be reached."""
    from grader.service import submit as client_module

    server, token = client_module.resolve(server, token)
    client = client_module.Client(server, token)
    if list_assignments:
        for item in client.assignments():
            state = "open" if item["open"] else "closed"
            click.echo(f"{item['name']}  ({state}; problems: {', '.join(item['problems'])})")
        return
    if not assignment:
        raise UsageError("missing ASSIGNMENT", "Usage: grader submit ASSIGNMENT FILE... (see --list for the names).")
    if submission_id is None:
        if not files:
            raise UsageError("no FILE given", f"Usage: grader submit {assignment!r} FILE... (files or folders).")
        sent = client.submit(assignment, client_module.collect_files(list(files)))
        submission_id = sent["id"]
        if not as_json:
            again = " (already received earlier)" if sent.get("replayed") else ""
            click.echo(f"submitted {sent['files']} file(s) to {assignment}: submission {submission_id}{again}", err=True)
        if not wait:
            if as_json:
                click.echo(json.dumps({"submission_id": submission_id, "state": sent["state"]}, indent=2))
            return
    data = client.wait(submission_id, timeout, progress=None if as_json else client_module.progress_line())
    if not as_json and sys.stderr.isatty():
        click.echo("", err=True)
    if as_json:
        click.echo(json.dumps(client_module.as_json(data), indent=2))
    else:
        click.echo(client_module.render(data, color=sys.stdout.isatty()))
    from grader.service.views import visible_passed

    if data.get("state") == "failed" or any(p.get("grader_error") for p in data.get("problems", [])):
        sys.exit(int(ExitCode.INTERNAL_ERROR))
    sys.exit(int(ExitCode.OK if visible_passed(data) else ExitCode.TESTS_FAILED))


@click.command("login")
@click.option("--server", required=True, metavar="URL", help="The course server.")
@click.option("--token", metavar="TOKEN", help="Your token (asked for, unechoed, when not given).")
@handle_errors
def login_cmd(server: str, token: str | None) -> None:
    """Check your token with the course server and remember both for 'grader submit'."""
    from grader.service import submit as client_module

    if token is None:
        token = click.prompt("token", hide_input=True).strip()
    server, token = client_module.resolve(server, token)
    who = client_module.Client(server, token).me()
    path = client_module.save_credentials(server, token)
    click.echo(f"logged in to {server} as {who.get('student') or who.get('role')}; token saved in {path}")
