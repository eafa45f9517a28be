"""Folders a killed grader leaves behind are swept by the next one (grader.sandbox.tempdirs):
a folder is removed only once no process holds its lock and it has not changed for an hour, so
a running grader's folders, and fresh ones, are never touched."""
from __future__ import annotations

import os
import signal
import stat
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


def test_only_folders_made_locked_are_swept(tmp_path):
    """Not other programs' folders, not an older grader's (made without a lock: they cannot be
    told from live ones), not a link named like a grader folder."""
    others = [tmp_path / "grader-import-0-abc", tmp_path / "mine", tmp_path / "grader-subject.locked",
              tmp_path / "grader-sub-abc", tmp_path / "grader-template-abc"]
    for other in others:
        other.mkdir()
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "keep").write_text("x")
    (tmp_path / f"grader-sub-link{tempdirs.LOCKED}").symlink_to(target, target_is_directory=True)
    for path in [*others, target]:
        age(path)
    os.utime(tmp_path / f"grader-sub-link{tempdirs.LOCKED}", (HOUR_AGO, HOUR_AGO), follow_symlinks=False)
    assert tempdirs.sweep(str(tmp_path)) == []
    assert all(path.is_dir() for path in [*others, target]) and (target / "keep").exists()


def test_a_left_folder_is_removed_without_following_its_links_or_touching_modes_outside(owner, tmp_path):
    """What a child left in its folder (links to elsewhere, read-only folders) is removed, and
    nothing outside it changes: not the linked folder, its files or its mode, nor the temp dir's."""
    proc, path = owner
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "passwd").write_text("root:x:0:0\n")
    os.chmod(victim, 0o755)
    (path / "link").symlink_to(victim, target_is_directory=True)
    (path / "file-link").symlink_to(victim / "passwd")
    (path / "locked" / "deeper").mkdir(parents=True)
    (path / "locked" / "deeper" / "data").write_text("x")
    os.chmod(path / "locked" / "deeper", 0o500)
    os.chmod(path / "locked", 0o500)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    age(path)
    mode = os.stat(tmp_path).st_mode
    assert tempdirs.sweep(str(tmp_path)) == [str(path)]
    assert not path.exists()
    assert (victim / "passwd").read_text() == "root:x:0:0\n" and stat.S_IMODE(os.stat(victim).st_mode) == 0o755
    assert os.stat(tmp_path).st_mode == mode


def test_a_folder_swapped_for_a_link_after_the_lock_is_left_alone(tmp_path, monkeypatch):
    """A folder that is no longer the one the sweep locked (gone, made again, or swapped for a
    link to elsewhere while the sweep runs) is not removed, and the temp dir keeps its mode."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "passwd").write_text("x")
    folder = tmp_path / f"grader-sub-evil{tempdirs.LOCKED}"
    folder.mkdir()
    age(folder)
    real = tempdirs.fcntl.flock

    def swap_then_lock(fd, operation):
        real(fd, operation)
        folder.rename(tmp_path / "moved")
        folder.symlink_to(victim, target_is_directory=True)

    monkeypatch.setattr(tempdirs.fcntl, "flock", swap_then_lock)
    mode = os.stat(tmp_path).st_mode
    assert tempdirs.sweep(str(tmp_path)) == []
    assert (victim / "passwd").exists() and os.stat(tmp_path).st_mode == mode


def test_a_work_folder_that_cannot_be_made_leaves_nothing_behind(tmp_path, monkeypatch):
    from grader.sandbox import confine

    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    with pytest.raises(OSError):
        confine.make_workdir({"a": b"1", "a/b": b"2"})  # "a" is a file: "a/b" cannot be written
    assert list(tmp_path.iterdir()) == [] and not any(path.startswith(str(tmp_path)) for path in tempdirs._held)


def test_the_grader_imports_where_there_are_no_file_locks():
    """Windows has no fcntl: the folders are made and removed as before, and nothing is swept."""
    code = ("import sys; sys.modules['fcntl'] = None\n"
            "from grader.sandbox import confine, tempdirs\n"
            "path = confine.make_workdir({'solution.py': b'x = 1'})\n"
            "assert not path.endswith(tempdirs.LOCKED) and tempdirs.sweep() == []\n"
            "confine.remove_workdir(path)\n"
            "import os; assert not os.path.exists(path); print('ok')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.stdout.strip() == "ok", result.stderr


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


def test_any_depth_is_removed(tmp_path):
    """A child may nest folders far deeper than the remover's recursion goes: deeper levels are
    moved up into the folder and removed on later passes."""
    path = Path(tempdirs.make("grader-sub-", str(tmp_path)))
    deep = path
    for _ in range(300):
        deep = deep / "d"
    os.makedirs(deep)
    (deep / "bottom.bin").write_bytes(b"x" * 1000)
    tempdirs.remove(str(path))
    assert list(tmp_path.iterdir()) == []


def test_folders_without_read_or_search_permission_are_removed(tmp_path, monkeypatch):
    """A child running as the grader's own user may leave folders it cannot even list (mode 000,
    0300, 0100): they are made accessible through a descriptor that names only them. As root the
    kernel lets every open through, so the refusal a normal user gets is simulated."""
    path = Path(tempdirs.make("grader-sub-", str(tmp_path)))
    for mode in (0o000, 0o300, 0o100):
        folder = path / f"mode{mode:o}"
        (folder / "inner").mkdir(parents=True)
        (folder / "inner" / "data").write_text("x")
        os.chmod(folder, mode)
    refused = {f"mode{mode:o}" for mode in (0o000, 0o300, 0o100)}
    real_open = os.open

    def open_as_a_normal_user_would(name, flags, *args, **kwargs):
        if name in refused and not flags & getattr(os, "O_PATH", 0):
            refused.discard(name)  # refused once, as the mode says; after the chmod it opens
            raise PermissionError(13, "Permission denied", name)
        return real_open(name, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_as_a_normal_user_would)
    tempdirs.remove(str(path))
    assert not refused and list(tmp_path.iterdir()) == []


def test_a_work_folder_renamed_away_is_emptied_and_what_took_its_name_kept(tmp_path):
    """A child that owns its folder (the weak sandbox) may rename it and put something else in
    its place: the folder itself is emptied through the locked descriptor, and the name is
    removed only while it still names that folder."""
    path = Path(tempdirs.make("grader-sub-", str(tmp_path)))
    (path / "solution.py").write_text("x = 1\n")
    path.rename(tmp_path / "moved")
    path.mkdir()
    (path / "not-ours").write_text("keep")
    tempdirs.remove(str(path))
    assert (path / "not-ours").read_text() == "keep"
    assert list((tmp_path / "moved").iterdir()) == []
