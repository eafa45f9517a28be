"""Shared test helpers: run the real CLI, write student-like submissions."""
from __future__ import annotations

import fnmatch
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


class CliResult:
    def __init__(self, exit_code: int, output: str, stderr: str = ""):
        self.exit_code = exit_code
        self.output = output
        self.stderr = stderr

    def json(self):
        return json.loads(self.output)


class SharedTemplateExecutor:
    """Stands in for `grader check`'s own executor (grader.cli.warm.WarmExecutor) in the commands
    the `cli` fixture runs: the job runs on a child forked from this test process's one warm
    template, as `grader grade` runs its jobs, instead of a template started (a fresh `python -I`
    importing torch, about 2 s of CPU) and stopped for each check. The verdicts are the same
    (tests/test_forkserver.py); how a real `grader check` starts and stops its own template is
    tested through the program: tests/test_check_exit.py, tests/test_golden.py."""

    def __init__(self, server):
        from grader.sandbox.forkserver import ForkServerExecutor

        self._inner = ForkServerExecutor(server)

    def run(self, job):
        return self._inner.run(job)

    def close(self) -> None:
        """The template outlives the command: the test session stops it."""


@pytest.fixture(scope="session")
def check_template(tmp_path_factory):
    """The warm template of the in-process checks (`cli`), its folder in a session folder of its own
    (not in the temporary folder of whichever test starts it)."""
    from grader.sandbox.forkserver import ForkServer

    server = ForkServer()  # like a check's: no huge pages, not warmed for training
    saved, tempfile.tempdir = tempfile.tempdir, str(tmp_path_factory.mktemp("check-template"))
    try:
        server.start()
    finally:
        tempfile.tempdir = saved
    yield server
    server.close()


@pytest.fixture
def cli(check_template):
    """Run `grader ARGS...` in this process (the student's code still runs in a child, forked from
    the session's warm template: SharedTemplateExecutor)."""
    import grader.cli.warm

    def run(*args: str) -> CliResult:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(grader.cli.warm, "WarmExecutor", lambda: SharedTemplateExecutor(check_template))
            result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
        return CliResult(result.exit_code, result.stdout, result.stderr)
    return run


@pytest.fixture
def grader_cmd():
    """Run the installed `python -m grader ARGS...` as a separate process, like a user would."""
    def run(*args: str, timeout: float = 120, **kwargs) -> CliResult:
        proc = subprocess.run([sys.executable, "-m", "grader", *map(str, args)], capture_output=True,
                              text=True, timeout=timeout, **kwargs)
        return CliResult(proc.returncode, proc.stdout, proc.stderr)
    return run


@pytest.fixture
def submission(tmp_path):
    """Write a student's file: submission("code...", name="solution.py") -> path."""
    def write(source: str, name: str = "solution.py") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        return path
    return write


@pytest.fixture(scope="session")
def executor():
    """The warm fork server: the executor `grader grade` uses (~0.1 s a submission instead of
    ~2 s for a fresh interpreter). The CLI tests cover the fresh-process executor of `check`."""
    from grader.sandbox.forkserver import ForkServerExecutor

    with ForkServerExecutor() as fork_executor:
        yield fork_executor


@pytest.fixture
def grade_source(tmp_path, executor):
    """grade_source(problem_id, source, **options) -> ProblemResult: grade a student's source text
    through the real engine (the code runs in a sandboxed child)."""
    from grader.grading import grade

    counter = {"n": 0}

    def run(problem_id: str, source: str, name: str = "solution.py", **options):
        counter["n"] += 1
        folder = tmp_path / f"submission{counter['n']}"
        folder.mkdir()
        path = folder / name
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        return grade(problem_id, path, executor=executor, **options)
    return run


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads -n
def pytest_cmdline_main(config):
    """The whole suite (`python -m pytest -q`, no paths named) runs on 2 pytest-xdist workers, a file
    per worker at a time; a file or test named on the command line runs in this one process, where
    starting workers would cost more than it saves. `-n N` chooses; `-n 0` or `-p no:xdist` is serial."""
    if (config.pluginmanager.hasplugin("xdist") and config.option.numprocesses is None
            and not hasattr(config, "workerinput") and config.args_source == pytest.Config.ArgsSource.TESTPATHS):
        config.option.numprocesses = 2
        if config.option.dist == "no":
            config.option.dist = "loadfile"


def pytest_configure(config):
    """The expected-outputs cache of this test run lives in a folder of its own, removed at the end:
    runs never share cached outputs with each other or with the user's ~/.cache/grader."""
    os.environ["GRADER_CACHE_DIR"] = config._grader_cache = tempfile.mkdtemp(prefix="grader-test-cache-")


def pytest_unconfigure(config):
    shutil.rmtree(getattr(config, "_grader_cache", ""), ignore_errors=True)


SLOW_TESTS = Path(__file__).with_name("slow_tests.txt")


def slow_patterns() -> tuple[list[str], list[str]]:
    """The patterns of tests/slow_tests.txt: (marked slow, kept in the default run despite a match)."""
    slow, kept = [], []
    for line in SLOW_TESTS.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            (kept if line.startswith("!") else slow).append(line.lstrip("!"))
    return slow, kept


def is_listed_slow(nodeid: str, slow: list[str], kept: list[str]) -> bool:
    return (any(fnmatch.fnmatchcase(nodeid, p) for p in slow)
            and not any(fnmatch.fnmatchcase(nodeid, p) for p in kept))


@pytest.hookimpl(tryfirst=True)  # before `-m 'not slow'` selects: the marks must be in place
def pytest_collection_modifyitems(config, items):
    """Tests listed in slow_tests.txt are marked `slow` (deselected by default: the default run stays
    short); tests marked `cuda` run only where a CUDA device is available, and skip cleanly elsewhere."""
    from grader.sandbox.devices import cuda_available

    slow, kept = slow_patterns()
    for item in items:
        if is_listed_slow(item.nodeid, slow, kept):
            item.add_marker(pytest.mark.slow)
    if cuda_available():
        return
    skip = pytest.mark.skip(reason="no CUDA device available")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)
