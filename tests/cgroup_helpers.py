"""The cgroups a test process's own jobs made, and the check that none is left behind: shared by the
adversarial suite and the cgroup-pool tests, which run beside other tests (pytest-xdist) and so
look only at sets named after this process."""
from __future__ import annotations

import os
import time
from pathlib import Path

from grader.sandbox import confine as sandbox


def own_cgroups() -> list[Path]:
    """This process's cgroups (named grader-<pid>-...), where the sandbox makes them (root only)."""
    own = sandbox._own_cgroup("pids") if os.geteuid() == 0 else None
    if own is None or not os.path.isdir("/sys/fs/cgroup/pids"):
        return []
    return sorted(Path("/sys/fs/cgroup/pids", own.lstrip("/")).glob(f"grader-{os.getpid()}-*"))


def assert_no_cgroup_left(before: list[Path]) -> None:
    """The sets made since `before` are gone; or, where a fork server of this process (the test
    session's) still holds the pool, they wait in it with no process left in them."""
    new = [p for p in own_cgroups() if p not in before]
    if sandbox.CGROUPS._holders == 0:
        assert new == []
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = {p.name: (p / "cgroup.procs").read_text().split() for p in new if p.exists()}
        if not any(left.values()):
            return
        time.sleep(0.1)
    assert not any(left.values()), left
