"""Helpers for the course service tests: a real `grader serve` on 127.0.0.1, PostgreSQL via pgserver."""
from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx", reason="the course service tests need the service extra: pip install -e '.[test]'")
pytest.importorskip("fastapi", reason="the course service tests need the service extra: pip install -e '.[test]'")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SERVER_LIFETIME = 900  #: seconds: a server a crashed test run left behind stops by itself after this


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_yaml(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


class Server:
    """`grader serve` in its own process group, stopped (and waited for) by `stop()`."""

    def __init__(self, folder: Path, db_url: str, assignments: list[Path], workers: int = 1, jobs: int = 4,
                 lease_seconds: float = 30, extra: list[str] | None = None, env: dict | None = None,
                 wrapper: list[str] | None = None):
        self.folder, self.db_url = folder, db_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / f"serve-{self.port}.log"
        command = ["timeout", "-k", "10", str(SERVER_LIFETIME), *(wrapper or []), sys.executable, "-m", "grader", "serve",
                   "--db", db_url, "--port", str(self.port), "--workers", str(workers), "--jobs", str(jobs),
                   "--lease-seconds", str(lease_seconds)]
        for path in assignments:
            command += ["--assignment", str(path)]
        command += extra or []
        self._log = open(self.log, "wb")
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
                                        cwd=folder, env=env)
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"grader serve did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.3)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        self._log.close()


def encode(files: dict[str, str | bytes]) -> dict[str, str]:
    return {name: base64.b64encode(data.encode() if isinstance(data, str) else data).decode() for name, data in files.items()}


def post(url: str, token: str | None, assignment: str, files: dict, key: str | None = None, timeout: float = 60):
    headers = {"Idempotency-Key": key or str(uuid.uuid4())}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(url + "/api/v1/submissions", json={"assignment": assignment, "files": encode(files)},
                      headers=headers, timeout=timeout)


def get(url: str, token: str, path: str, **params):
    return httpx.get(url + path, headers={"Authorization": f"Bearer {token}"}, params=params, timeout=60)


def wait_graded(url: str, token: str, submission_id: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = get(url, token, f"/api/v1/submissions/{submission_id}").json()
        if data["state"] in ("graded", "failed"):
            return data
        time.sleep(0.3)
    raise AssertionError(f"submission {submission_id} not graded within {timeout} s")


# ---------------------------------------------------------------- PostgreSQL

class Postgres:
    """A PostgreSQL server for the tests: pgserver's (a pip package) or `postgres` from PATH."""

    def __init__(self, base_url: str, stop):
        self.base_url, self._stop = base_url, stop

    def new_database(self) -> str:
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        url = self.base_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        before, _, query = url.partition("?")
        return before.rsplit("/", 1)[0] + "/" + name + ("?" + query if query else "")

    def stop(self) -> None:
        self._stop()


def start_postgres() -> Postgres:
    """Start a throwaway server, or pytest.skip saying how to get one."""
    url = os.environ.get("GRADER_TEST_POSTGRES_URL")
    if url:
        return Postgres(url, lambda: None)
    pytest.importorskip("psycopg", reason="PostgreSQL tests need psycopg: pip install -e '.[test]'")
    try:
        import pgserver
    except ImportError:
        pgserver = None
    if pgserver is not None:
        folder = tempfile.mkdtemp(prefix="grader-pg-")
        server = pgserver.get_server(folder, cleanup_mode="stop")

        def stop():
            server.cleanup()
            shutil.rmtree(folder, ignore_errors=True)
        return Postgres(server.get_uri(), stop)
    if shutil.which("postgres") and shutil.which("initdb") and shutil.which("pg_ctl") and os.geteuid() != 0:
        folder = Path(tempfile.mkdtemp(prefix="grader-pg-"))
        subprocess.run(["initdb", "-D", str(folder / "data"), "-U", "postgres", "--auth=trust"], check=True,
                       capture_output=True)
        subprocess.run(["pg_ctl", "-D", str(folder / "data"), "-o", f"-k {folder} -c listen_addresses=''",
                        "-w", "start", "-l", str(folder / "log")], check=True, capture_output=True)

        def stop():
            subprocess.run(["pg_ctl", "-D", str(folder / "data"), "-m", "fast", "stop"], capture_output=True)
            shutil.rmtree(folder, ignore_errors=True)
        return Postgres(f"postgresql://postgres@/postgres?host={folder}", stop)
    pytest.skip("no PostgreSQL to test against: pip install pgserver (part of the test extra), put postgres/initdb "
                "on PATH (as a non-root user), or set GRADER_TEST_POSTGRES_URL=postgresql://USER@HOST/DB")
