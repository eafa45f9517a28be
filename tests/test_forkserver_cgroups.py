"""Cgroups reused from job to job on the fork server (root only: cgroups need it).

A job's child is forked by a template that lives in the job's cgroup set (`forkserver._nested_template`),
and a set goes back to `sandbox.CGROUPS` after its job, emptied of every process but that template.
These tests grade real submissions, hostile ones included, through one set after another."""
from __future__ import annotations

import os
import textwrap
import time
from pathlib import Path

import pytest

from grader.grading import grade
from grader.limits import Limits
from grader.problems.bank import Bank
from grader.sandbox import confine as sandbox
from grader.sandbox.forkserver import ForkServerExecutor
from tests.cgroup_helpers import assert_no_cgroup_left, own_cgroups

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
HOSTILE = Path(__file__).resolve().parent / "adversarial" / "submissions"

pytestmark = pytest.mark.skipif(
    not (hasattr(os, "geteuid") and os.geteuid() == 0 and any(on for n, on, _ in sandbox.protections() if n == "cgroups")),
    reason="cgroups need root and a writable cgroup v1 hierarchy (as a normal user no cgroups are made)")


@pytest.fixture(scope="module")
def bank():
    return Bank()


WHERE = """
def conv_output_size(n, f, p=0, s=1):
    print(open("/proc/self/cgroup").read())
    return (n + 2 * p - f) // s + 1
"""


def cgroups_seen(result) -> set[str]:
    return {line.split(":", 2)[2] for line in result.stdout.splitlines() if ":pids:" in line}


def test_jobs_share_a_clean_set_one_after_another_and_nothing_is_left(bank, tmp_path):
    path = tmp_path / "where.py"
    path.write_text(WHERE)
    before = own_cgroups()
    with ForkServerExecutor() as executor:
        results = []
        for _ in range(4):
            results.append(grade("conv-output-size", path, bank=bank, executor=executor))
            time.sleep(1)  # time to empty the set (a job that finds none ready makes one)
        assert all(r.score == r.max_score for r in results)
        seen = set().union(*(cgroups_seen(r) for r in results))
        # the student's code ran inside a set of this grader's, and the jobs took turns in few sets
        assert seen and all(Path(p).name.startswith(f"grader-{os.getpid()}-") for p in seen), seen
        assert len(seen) < len(results), seen
        # only the sets these jobs ran in: another fork server of this process (the session's) keeps
        # its own sets in the pool, each holding its template
        used = {Path(p).name for p in seen}
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            left = {p.name: (p / "cgroup.procs").read_text().split() for p in own_cgroups() if p.name in used}
            if all(len(pids) <= 1 for pids in left.values()):
                break
            time.sleep(0.1)
        # between jobs a set holds its template only
        nests = {str(n.pid) for n in executor.server._nests.values()}
        assert all(set(pids) <= nests for pids in left.values()), (left, nests)
    assert_no_cgroup_left(before)  # the server closed: every set removed (or emptied), templates and all


def test_a_dead_cgroup_template_is_replaced(bank):
    import signal

    correct = EXAMPLES / "conv-output-size" / "correct.py"
    with ForkServerExecutor() as executor:
        first = grade("conv-output-size", correct, bank=bank, executor=executor)
        nests = list(executor.server._nests.values())
        assert first.score == first.max_score and nests
        for nest in nests:
            os.kill(nest.pid, signal.SIGKILL)
        again = grade("conv-output-size", correct, bank=bank, executor=executor)
        assert again.score == again.max_score
        # the job found its set's template dead and dropped it (the main template forked it), or it
        # took another set of the pool (another fork server of this process may have made one) and
        # started a live template there
        dead = {d.pid for d in nests}
        now = list(executor.server._nests.values())
        assert sum(n.pid in dead for n in now) < len(nests) or any(n.pid not in dead for n in now)


@pytest.mark.slow
def test_hostile_jobs_cost_the_next_job_in_their_set_nothing(bank, tmp_path):
    """Attacks on the processes, memory and cgroup limits, each followed in the same set by an
    honest student: the honest one gets full marks, and each attack scores as in a fresh child."""
    from tests.adversarial.test_adversarial import LIMITS, PROBLEM, SECRET, materialise

    values = {"__TMP__": str(tmp_path), "__BANK__": str(Bank().root), "__PORT__": "9"}
    names = ["fork_bomb.py", "memory_bomb.py", "orphan_setsid.py", "ignore_sigterm.py", "setsid_spinners.py"]
    honest = EXAMPLES / PROBLEM / "correct.py"
    for folder in ("fresh", "fork"):
        (tmp_path / folder).mkdir()
    os.environ["GRADER_TEST_SECRET"] = SECRET
    before = own_cgroups()
    try:
        fresh = {name: grade(PROBLEM, materialise(HOSTILE / name, tmp_path / "fresh" / name, values), bank=bank,
                             limits=LIMITS).score for name in names}
        with ForkServerExecutor() as executor:
            for name in names:
                path = materialise(HOSTILE / name, tmp_path / "fork" / name, values)
                hostile = grade(PROBLEM, path, bank=bank, executor=executor, limits=LIMITS)
                after = grade(PROBLEM, honest, bank=bank, executor=executor, limits=LIMITS)
                assert after.score == after.max_score, (name, [(t.name, t.outcome, t.output) for t in after.tests])
                assert hostile.score == fresh[name], (name, [(t.name, t.outcome, t.output) for t in hostile.tests])
            assert len(executor.server._nests) < len(names)  # the sets were reused
    finally:
        os.environ.pop("GRADER_TEST_SECRET", None)
    assert_no_cgroup_left(before)


def test_a_fresh_child_is_unaffected_by_the_pool(bank, tmp_path):
    """Without a fork server nobody holds the pool: sets are made and removed per job, as before
    (with one running elsewhere in this process, the set is handed to its pool, emptied)."""
    from grader.sandbox.runner import SubprocessExecutor

    path = tmp_path / "where.py"
    path.write_text(textwrap.dedent(WHERE))
    before = own_cgroups()
    result = grade("conv-output-size", path, bank=bank, executor=SubprocessExecutor(), limits=Limits())
    assert result.score == result.max_score and cgroups_seen(result)
    assert_no_cgroup_left(before)
