"""Folders a killed grader leaves behind are swept by the next one (grader.sandbox.tempdirs):
a folder is removed only once no process holds its lock and it has not changed for an hour, so
a running grader's folders, and fresh ones, are never touched."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.sandbox import tempdirs
from test_check_exit import left_behind

ROOT = Path(__file__).resolve().parent.parent
HOUR_AGO = time.time() - 2 * tempdirs.STALE_AFTER

OWNER = """
import sys, time
from grader.sandbox import tempdirs
print(tempdirs.make("grader-sub-", sys.argv[1]), flush=True)
time.sleep(120)
"""


def age(path: Path) -> None:
    os.utime(path, (HOUR_AGO, HOUR_AGO))


@pytest.fixture
def owner(tmp_path):
    """A process that made a locked folder in tmp_path and is still running (killed at the end)."""
    proc = subprocess.Popen([sys.executable, "-c", OWNER, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    path = Path(proc.stdout.readline().strip())
    yield proc, path
    proc.kill()
    proc.wait()


def test_a_running_owners_folder_is_kept_however_old(owner, tmp_path):
    _, path = owner
    age(path)
    assert tempdirs.sweep(str(tmp_path)) == []
    assert path.is_dir()


def test_a_killed_owners_folder_is_removed_once_old(owner, tmp_path):
    proc, path = owner
    (path / "solution.py").write_text("x = 1\n")
    os.chmod(path / "solution.py", 0o444)  # what a child may leave: read-only files, odd modes
    (path / "sub").mkdir(mode=0o500)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert tempdirs.sweep(str(tmp_path)) == [], "a folder changed within the hour was removed"
    age(path)
    assert tempdirs.sweep(str(tmp_path)) == [str(path)]
    assert not path.exists()


def test_only_the_graders_own_folders_are_swept(tmp_path):
    others = [tmp_path / "grader-import-0-abc", tmp_path / "mine", tmp_path / "grader-subject"]
    for other in others:
        other.mkdir()
    target = tmp_path / "elsewhere"
    target.mkdir()
    (tmp_path / "grader-sub-link").symlink_to(target, target_is_directory=True)
    for path in [*others, target]:
        age(path)
    os.utime(tmp_path / "grader-sub-link", (HOUR_AGO, HOUR_AGO), follow_symlinks=False)
    assert tempdirs.sweep(str(tmp_path)) == []
    assert all(path.is_dir() for path in [*others, target])


def test_a_folder_made_and_removed_in_this_process_lets_go_of_its_lock(tmp_path):
    path = tempdirs.make("grader-sub-", str(tmp_path))
    assert path in tempdirs._held
    age(Path(path))
    assert tempdirs.sweep(str(tmp_path)) == [], "this process's own folder was swept"
    tempdirs.remove(path)
    assert path not in tempdirs._held and not os.path.exists(path)


def test_a_check_sweeps_what_a_killed_check_left(tmp_path):
    """The real case: `grader check` killed with SIGKILL while its template starts leaves its
    folder; the next check, an hour later, removes it (and its own)."""
    own_tmp = tmp_path / "tmp"
    own_tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(own_tmp), "PYTHONPATH": str(ROOT)}
    example = ROOT / "examples" / "sigmoid-backward" / "correct.py"
    command = [sys.executable, "-m", "grader", "check", "sigmoid-backward", str(example)]
    killed = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(own_tmp.glob("grader-template-*")) and time.monotonic() < deadline:
        time.sleep(0.01)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    left = list(own_tmp.glob("grader-template-*"))
    assert len(left) == 1, "the killed check left no folder to sweep"
    age(left[0])
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert left_behind(own_tmp) == []  # no folder, and no process of the killed check's still inside one
