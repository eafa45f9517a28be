"""`grader submit` and `grader login`: the student's side of the course service (grader.service).

The token comes from --token, $GRADER_TOKEN or the file `grader login` writes
($XDG_CONFIG_HOME/grader/credentials.json, readable only by the user). An upload carries an
Idempotency-Key, so a retry after a dropped connection never submits twice.
"""
from __future__ import annotations

import base64
import json
import os
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from grader.errors import ExitCode, GraderError, UsageError

MAX_LOCAL_FILES = 200
TRIES = 3


class Refused(GraderError):
    """The server refused the submission or could not be reached (exit status 4)."""

    exit_code = ExitCode.REFUSED


def credentials_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "grader" / "credentials.json"


def _read_credentials() -> dict:
    try:
        data = json.loads(credentials_path().read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def save_credentials(server: str, token: str) -> Path:
    """Remember the token for `server` (and `server` as the default), in a file only the user can read."""
    data = _read_credentials()
    tokens = data.get("tokens") if isinstance(data.get("tokens"), dict) else {}
    tokens[server] = token
    data.update(tokens=tokens, server=server)
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
    os.chmod(path, 0o600)
    return path


def resolve(server: str | None, token: str | None) -> tuple[str, str]:
    """The server URL and token: the options, then $GRADER_SERVER / $GRADER_TOKEN, then `grader login`'s file."""
    saved = _read_credentials()
    server = server or os.environ.get("GRADER_SERVER") or saved.get("server")
    if not server:
        raise UsageError("no server given", "Pass --server URL (course staff give it), set GRADER_SERVER, "
                         "or run 'grader login --server URL' once.")
    server = server.rstrip("/")
    if not server.startswith(("http://", "https://")):
        raise UsageError(f"--server {server!r}: expected an http:// or https:// URL")
    token = token or os.environ.get("GRADER_TOKEN") or (saved.get("tokens") or {}).get(server)
    if not token:
        raise UsageError(f"no token for {server}", "Run 'grader login --server URL' with the token course staff "
                         "gave you, or pass --token / set GRADER_TOKEN.")
    return server, token


def collect_files(paths: list[Path]) -> dict[str, bytes]:
    """The files to send: each FILE by its name, each folder's files by their path inside it
    (hidden files and __pycache__ left out)."""
    files: dict[str, bytes] = {}

    def add(name: str, path: Path) -> None:
        if name in files:
            raise UsageError(f"two files would be sent as {name!r}", "Rename one, or send their folder instead.")
        if len(files) >= MAX_LOCAL_FILES:
            raise UsageError(f"more than {MAX_LOCAL_FILES} files", "Send only the files the assignment asks for.")
        try:
            files[name] = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"{path}: could not be read ({exc.strerror or exc})") from None

    for path in paths:
        if path.is_dir():
            for item in sorted(path.rglob("*")):
                parts = item.relative_to(path).parts
                if item.is_file() and not item.is_symlink() and not any(
                        p.startswith(".") or p == "__pycache__" for p in parts):
                    add("/".join(parts), item)
        elif path.is_file():
            add(path.name, path)
        else:
            raise UsageError(f"{path}: no such file or folder")
    if not files:
        raise UsageError("nothing to send: the folders given hold no files")
    return files


@dataclass
class Client:
    server: str
    token: str
    timeout: float = 30.0

    def _request(self, method: str, path: str, **kwargs):
        try:
            import httpx
        except ImportError:
            raise UsageError("grader submit needs the httpx library", "Install it with: pip install 'grader[service]'") from None

        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        last = None
        for attempt in range(TRIES):  # safe to repeat: an upload carries its idempotency key
            try:
                return httpx.request(method, self.server + path, headers=headers, timeout=self.timeout, **kwargs)
            except httpx.TransportError as exc:
                last = exc
                time.sleep(0.5 * (attempt + 1))
        raise Refused(f"could not reach the server at {self.server} ({type(last).__name__}: {last})",
                      "Check the address and your connection, or try again later; if it stays down, tell course staff.")

    def _checked(self, response):
        if response.status_code < 400:
            return response.json()
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text[:300]
        status = response.status_code
        if status == 401:
            raise Refused(f"the server did not accept your token ({detail})",
                          "Check it with course staff, then run 'grader login --server URL' again.")
        if status == 429:
            wait = response.headers.get("Retry-After", "?")
            raise Refused(f"{detail}", f"Wait {wait} s, then submit again.")
        if status == 413:
            raise Refused(f"the server refused the upload: {detail}", "Send only the files the assignment asks for.")
        if status == 403:
            raise Refused(f"the server refused the submission: {detail}",
                          "If you think the deadline or your access is wrong, tell course staff.")
        if status == 404:
            raise Refused(f"{detail}", "Check the assignment name (grader submit --list shows them) or the id.")
        if status >= 500:
            raise Refused(f"the server failed ({status})", "Try again in a minute; if it persists, tell course staff.")
        raise Refused(f"the server refused the request ({status}): {detail}")

    def me(self) -> dict:
        return self._checked(self._request("GET", "/api/v1/me"))

    def assignments(self) -> list[dict]:
        return self._checked(self._request("GET", "/api/v1/assignments"))

    def submit(self, assignment: str, files: dict[str, bytes], key: str | None = None) -> dict:
        body = {"assignment": assignment, "files": {n: base64.b64encode(d).decode("ascii") for n, d in files.items()}}
        return self._checked(self._request("POST", "/api/v1/submissions", json=body,
                                           headers={"Idempotency-Key": key or str(uuid.uuid4())}))

    def submission(self, submission_id: str) -> dict:
        from urllib.parse import quote

        return self._checked(self._request("GET", f"/api/v1/submissions/{quote(submission_id, safe='')}"))

    def wait(self, submission_id: str, timeout: float, progress=None) -> dict:
        """Poll until the submission is graded (or failed); Refused after `timeout` seconds."""
        start = time.monotonic()
        delay = 0.2
        while True:
            data = self.submission(submission_id)
            if data.get("state") in ("graded", "failed"):
                return data
            waited = time.monotonic() - start
            if waited > timeout:
                raise Refused(f"submission {submission_id} was not graded within {timeout:g} s (it is still "
                              f"{data.get('state')}); it is stored and will be graded",
                              f"See its result later with: grader submit {data.get('assignment', 'ASSIGNMENT')} "
                              f"--id {submission_id}")
            if progress:
                progress(data.get("state", "?"), waited)
            time.sleep(delay)
            delay = min(delay * 1.5, 2.0)


def as_json(data: dict) -> dict:
    """The `--json` output: the submission id, then each problem exactly as `grader check --json` prints it."""
    return {"submission_id": data["id"], "assignment": data.get("assignment"), "student": data.get("student"),
            "state": data.get("state"), "score": data.get("score"), "max_score": data.get("max_score"),
            "hidden_view": data.get("hidden_view"), "problems": data.get("problems", [])}


def render(data: dict, color: bool = False) -> str:
    """The graded submission as `grader check` shows results, problem by problem, then the total."""
    from grader.classes.cache import result_from_dict
    from grader.render.text import render_result

    blocks = []
    for problem in data.get("problems", []):
        block = render_result(result_from_dict(problem), color=color)
        hidden = problem.get("hidden_tests")
        if hidden:
            block += f"\n  + {hidden} hidden test(s): graded by the course, scores shown after the deadline"
        blocks.append(block)
    if data.get("state") == "failed":
        blocks.append(data.get("detail") or "the grader could not grade this submission: tell course staff")
    score = data.get("score")
    if score is not None:
        blocks.append(f"Total: {score:g} / {data.get('max_score', 0):g}   (submission {data['id']})")
    return "\n\n".join(blocks)


def progress_line(stream=None):
    """A progress callback writing 'grading: queued (3 s)' on one line of a terminal, or nothing elsewhere."""
    stream = stream or sys.stderr
    if not stream.isatty():
        return None

    def show(state: str, waited: float) -> None:
        stream.write(f"\rwaiting for the grade: {state} ({waited:.0f} s) ")
        stream.flush()
    return show
