"""Confining a student's child process: limits, a scrubbed environment, a private work folder.

`confine` runs inside the child before any student code; `child_env` and `make_workdir` run in
the parent. See docs/threat-model.md for what each protection covers.
"""
from __future__ import annotations

import os
import resource
import shutil
import stat
import tempfile
from pathlib import Path

MB = 1 << 20


def child_env(workdir: str) -> dict[str, str]:
    """Only what Python and torch need: no secrets, tokens or paths of the grader's."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": workdir,
        "TMPDIR": workdir,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "CUDA_VISIBLE_DEVICES": "",
    }


def make_workdir(files: dict[str, bytes]) -> str:
    """A fresh private folder holding only copies of the submission's files."""
    workdir = tempfile.mkdtemp(prefix="grader-sub-")
    for name, data in files.items():
        target = Path(workdir, name)
        if not str(target.resolve()).startswith(str(Path(workdir).resolve()) + os.sep):
            continue  # a name like ../x never leaves the folder
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return workdir


def remove_workdir(workdir: str) -> None:
    """Delete the work folder whatever the child left in it (read-only files, odd modes)."""
    def on_error(func, path, _exc):
        try:
            os.chmod(os.path.dirname(path), stat.S_IRWXU)
            os.chmod(path, stat.S_IRWXU)
            func(path)
        except OSError:
            pass

    shutil.rmtree(workdir, onerror=on_error)


def set_rlimit(which: int, value: int) -> None:
    soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value))


def confine(limits: dict, workdir: str) -> None:
    """Apply the limits to this (child) process. Called before any student code runs."""
    set_rlimit(resource.RLIMIT_CORE, 0)
    set_rlimit(resource.RLIMIT_CPU, int(limits["cpu"]) + 1)
    set_rlimit(resource.RLIMIT_AS, int(limits["memory_mb"]) * MB)
    set_rlimit(resource.RLIMIT_FSIZE, int(limits["file_size_mb"]) * MB)
    set_rlimit(resource.RLIMIT_NOFILE, int(limits["open_files"]))
    set_rlimit(resource.RLIMIT_NPROC, int(limits["processes"]))


def kill_tree(pid: int) -> None:
    """Kill the child's process group (its session: the child was started with setsid)."""
    import signal

    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
