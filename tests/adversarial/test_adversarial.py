"""Hostile submissions against the real engine: each is contained and scored for what it did.

Every file in submissions/ is a student's answer to `sigmoid-backward` that attacks the grader
(see its docstring). They are graded together, a few at a time, by `grader.grading.grade` (and
the ones that could hurt this test process if the sandbox failed, through the real CLI in a
subprocess), on the executor `grader check` and `grader grade` use: children forked from a warm
fork server. The same set graded on fresh interpreters (`runner.SubprocessExecutor`, where no
template can start: a child that imports torch per submission and per lost case, about a minute
on 2 cores) is marked slow; in the default run `test_fresh_interpreter_children_are_confined_too`
grades the attacks on that executor's own steps (environment, descriptors, processes, files).
Placeholders in their source are filled in before grading: __TMP__ (this run's own temporary
folder), __BANK__ (the bank root) and __PORT__ (a loopback listener this test opens).

All attacks are bounded (a few GB, a thousand processes, a minute) and only touch this run's
temporary folder, so they stay harmless even if the sandbox failed.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from grader.sandbox import confine as sandbox
from grader.problems.bank import Bank
from grader.grading import grade
from grader.kinds.function.kind import prepare_cases
from grader.limits import Limits
from grader.render.text import render_result
from grader.sandbox.forkserver import ForkServerExecutor
from grader.sandbox.runner import SubprocessExecutor
from tests.cgroup_helpers import assert_no_cgroup_left, own_cgroups

HERE = Path(__file__).resolve().parent
SUBMISSIONS = HERE / "submissions"
ROOT = HERE.parent.parent
PROBLEM = "sigmoid-backward"
SECRET = "s3cr3t-token-for-the-adversarial-suite"
# 2 GB: torch fits, and a memory bomb meets the limit in about a second (touching memory is slow here)
LIMITS = Limits(time=4.0, load_time=60.0, cpu=30.0, memory_mb=2048, result_mb=64)
# Case time limits other than LIMITS.time, by submission. What proves a timeout a timeout needs no
# 4 s: these hang on both 1-D cases, each waited out in full. The bombs must meet their own limit
# (memory, output, file size, processes) first; on the fork server their cases run while the other
# hostile cases do, and a loaded machine (load 6-9 on 2 cores) made 4 s a timeout: a limit they
# only wait on if something is wrong.
TIME_LIMIT = {"infinite_loop.py": 2.0, "ignore_sigterm.py": 2.0, "memory_bomb.py": 15.0, "huge_output.py": 15.0,
              "big_file.py": 15.0, "fill_disk.py": 15.0, "fork_bomb.py": 15.0}


def limits_of(name: str) -> Limits:
    return dataclasses.replace(LIMITS, time=TIME_LIMIT.get(name, LIMITS.time))
IN_CLI = {"kill_parent.py"}  # would hit this very process if the sandbox failed
# graded by tests of their own (test_hardening.py): they need a key, a partner or a class around them
OWN_TESTS = {"keyring_read.py", "lock_channel.py", "setsid_spinners.py", "honest_busy.py"}

NAMESPACES = all(on for name, on, _ in sandbox.protections()
                 if name in ("pid-namespace", "network-namespace", "filesystem-view"))
needs_namespaces = pytest.mark.skipif(not NAMESPACES, reason="namespaces unavailable here: "
                                      "see 'python -m grader.sandbox' and docs/threat-model.md")
SECCOMP = dict((name, on) for name, on, _ in sandbox.protections()).get("seccomp", False)
needs_seccomp = pytest.mark.skipif(not SECCOMP, reason="seccomp filters unavailable here: "
                                   "see 'python -m grader.sandbox'")


class Listener:
    """A loopback TCP listener that records whether anyone connected."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self.stop.set()
        self.thread.join(2)
        self.sock.close()


def materialise(src: Path, dst: Path, values: dict[str, str]) -> Path:
    """Copy a submission (file or folder) with its placeholders filled in."""
    if src.is_dir():
        dst.mkdir(parents=True)
        for item in src.iterdir():
            materialise(item, dst / item.name, values)
        return dst
    text = src.read_text()
    for key, value in values.items():
        text = text.replace(key, value)
    dst.write_text(text)
    return dst


def orphan_name(tmp: Path) -> str:
    """The name orphan_setsid.py gives its grandchild when __TMP__ is `tmp`."""
    return "orphan-" + hashlib.sha256(str(tmp).encode()).hexdigest()[:8]


def orphans(tmp: Path) -> list[int]:
    """Processes left behind by orphan_setsid.py graded with __TMP__ = `tmp` (only this test's own:
    other tests may be leaving theirs at the same time)."""
    name, found = orphan_name(tmp), []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if Path(f"/proc/{pid}/comm").read_text().strip() == name:
                    found.append(int(pid))
            except OSError:
                pass
    return found


EXECUTORS = [pytest.param("fork server", id="fork-server"),
             pytest.param("fresh interpreter", id="fresh-interpreter", marks=pytest.mark.slow)]


def make_executor(kind: str):
    """A started executor of that kind (close it with `close_executor`)."""
    if kind == "fresh interpreter":
        return SubprocessExecutor()
    executor = ForkServerExecutor()
    executor.server.start()
    return executor


def close_executor(executor) -> None:
    if isinstance(executor, ForkServerExecutor):
        executor.close()


@pytest.fixture(scope="module", params=EXECUTORS)
def run(tmp_path_factory, request):
    """Grade every hostile submission once (in parallel) on one kind of executor; tests then read
    the results."""
    tmp = tmp_path_factory.mktemp("adversarial")
    work = tmp / "work"  # every child's work folder goes here: we can check it is left empty
    work.mkdir()
    listener = Listener()
    values = {"__TMP__": str(tmp), "__BANK__": str(Bank().root), "__PORT__": str(listener.port)}
    (tmp / "results").mkdir()
    (tmp / "results" / "results.json").write_text('{"score": 0}')
    (tmp / "beside").mkdir()
    (tmp / "beside" / "victim.txt").write_text("keep me")
    (tmp / "other").mkdir()
    shutil.copy(ROOT / "examples" / PROBLEM / "correct.py", tmp / "other" / "solution.py")
    (tmp / "secret-outside.txt").write_text(SECRET)
    bank = Bank()
    one_d = [p.name for p in prepare_cases(bank.get(PROBLEM), bank, device="cpu") if p.call.args[0].dim() == 1]
    assert one_d, "the problem needs a 1-D case for the 'only on the 1-D case' attacks"
    subs = tmp / "subs"
    subs.mkdir()
    paths = {}
    for src in sorted(SUBMISSIONS.iterdir()):
        if src.name.startswith(("_", ".")) or src.name in IN_CLI or src.name in OWN_TESTS:
            continue
        paths[src.name] = materialise(src, subs / src.name, values)
    (paths["symlink_outside"] / "secret.txt").symlink_to(tmp / "secret-outside.txt")
    materialise(SUBMISSIONS / "delete_beside.py", tmp / "beside" / "delete_beside.py", values)
    paths["delete_beside.py"] = tmp / "beside" / "delete_beside.py"
    paths["correct (another student)"] = ROOT / "examples" / PROBLEM / "correct.py"

    old_env, old_tempdir = os.environ.get("GRADER_TEST_SECRET"), sys.modules["tempfile"].tempdir
    os.environ["GRADER_TEST_SECRET"] = SECRET
    import tempfile

    tempfile.tempdir = str(work)
    cgroups_before = own_cgroups()
    start = time.monotonic()
    executor = None
    try:
        executor = make_executor(request.param)  # a fork server's template folder is made in `work` too

        def one(name):
            began = time.monotonic()
            result = grade(PROBLEM, paths[name], bank=bank, limits=limits_of(name), executor=executor)
            return name, result, time.monotonic() - began

        with ThreadPoolExecutor(max_workers=3) as pool:
            hanging_first = sorted(paths, key=lambda name: TIME_LIMIT.get(name, LIMITS.time) >= LIMITS.time)
            graded = {name: (result, seconds) for name, result, seconds in pool.map(one, hanging_first)}
        # after delete_beside has run: the other student's folder is graded as usual
        if (tmp / "other" / "solution.py").exists():  # (without a filesystem view, delete_beside wins)
            graded["other (after delete_beside)"] = (grade(PROBLEM, tmp / "other" / "solution.py", bank=bank,
                                                           limits=LIMITS, executor=executor), 0.0)
    finally:
        if executor is not None:
            close_executor(executor)  # before the checks that nothing (template, cgroups) is left behind
        tempfile.tempdir = old_tempdir
        if old_env is None:
            os.environ.pop("GRADER_TEST_SECRET", None)
        else:
            os.environ["GRADER_TEST_SECRET"] = old_env
        listener.close()
    return {"results": graded, "tmp": tmp, "one_d": one_d, "work": work, "listener": listener,
            "seconds": time.monotonic() - start, "cgroups before": cgroups_before}


def result_of(run, name):
    return run["results"][name][0]


def by_name(result):
    return {t.name: t for t in result.tests}


def assert_full_marks(result):
    assert result.score == result.max_score, "\n".join(f"{t.name}: {t.outcome}: {t.output}" for t in result.tests) \
        + f"\nerror: {result.error}\nstderr: {result.stderr[-2000:]}"


def assert_only_1d_cases_lost(run, name: str, outcome: str, words: str):
    """The attack struck only on the 1-D cases: those score 0 with a message, all others pass."""
    result = result_of(run, name)
    tests = by_name(result)
    for case in run["one_d"]:
        bad = tests[case]
        assert bad.score == 0 and bad.outcome == outcome, (case, bad.outcome, bad.output)
        assert words in bad.output.lower(), bad.output
    others = [t for t in result.tests if t.name not in run["one_d"]]
    assert all(t.status.value == "passed" for t in others), [(t.name, t.outcome, t.output) for t in others]


def assert_zero(result, outcome: str | None = None, words: str = ""):
    assert result.score == 0, [(t.name, t.outcome) for t in result.tests]
    for t in result.tests:
        if outcome:
            assert t.outcome == outcome, (t.name, t.outcome, t.output)
        assert words.lower() in (t.output + (result.error or "")).lower(), (t.name, t.output, result.error)


# ---------------------------------------------------------------- faking a score

def test_monkeypatched_comparisons_change_nothing(run):
    assert_zero(result_of(run, "patch_allclose.py"), "wrong", "mismatched elements")


def test_always_equal_object_is_rejected(run):
    assert_zero(result_of(run, "always_equal.py"), "bad_output", "Anything")


def test_tensor_subclass_is_rejected(run):
    assert_zero(result_of(run, "tensor_subclass.py"), "bad_output", "Liar")


def test_pickle_payloads_are_rejected_and_never_run(run):
    assert_zero(result_of(run, "pickle_payload.py"), "bad_output")
    assert not (run["tmp"] / "pwned").exists()


def test_fake_report_on_stdout_is_only_output(run):
    result = result_of(run, "fake_report.py")
    assert_zero(result, "wrong")
    assert "Score: 10 / 10" in result.stdout
    text = render_result(result, color=False)
    assert "\x1b" not in text and "\x07" not in text
    assert "Score: 0 / 10" in text


def test_forged_frames_in_inherited_descriptors(run):
    assert_zero(result_of(run, "forged_frames.py"))


def test_forged_numbers_in_case_headers_cost_only_their_cases(run):
    assert_only_1d_cases_lost(run, "forged_numbers.py", "bad_output", "could not be read")


def test_frames_and_gc_hold_no_expected_values(run):
    assert_zero(result_of(run, "frames_and_gc.py"), "wrong")


def test_mutating_inputs_does_not_change_expected_values(run):
    assert_full_marks(result_of(run, "mutate_inputs.py"))


# ---------------------------------------------------------------- leaving early

def test_sys_exit_at_import(run):
    result = result_of(run, "exit_at_import.py")
    assert result.score == 0 and "sys.exit(0)" in result.error


def test_sys_exit_in_call(run):
    assert_zero(result_of(run, "exit_in_call.py"), "exception", "sys.exit(0)")


def test_os_exit_costs_only_its_case(run):
    assert_only_1d_cases_lost(run, "os_exit.py", "crashed", "exited (status 0)")


def test_system_exit_and_keyboard_interrupt(run):
    result = result_of(run, "raise_systemexit_keyboard.py")
    assert_zero(result, "exception")
    assert all("sys.exit(0)" in by_name(result)[case].output for case in run["one_d"])
    assert "KeyboardInterrupt" in by_name(result)["small"].output


def test_deep_recursion_crash_costs_only_its_case(run):
    assert_only_1d_cases_lost(run, "deep_recursion.py", "crashed", "segmentation fault")


# ---------------------------------------------------------------- resources

def test_infinite_loop_hits_the_time_limit(run):
    assert_only_1d_cases_lost(run, "infinite_loop.py", "timeout", "time limit")


def test_ignoring_sigterm_does_not_help(run):
    assert_only_1d_cases_lost(run, "ignore_sigterm.py", "timeout", "time limit")


def test_endless_thread_does_not_hold_the_grader(run):
    result, seconds = run["results"]["endless_thread.py"]
    assert_full_marks(result)
    assert seconds < LIMITS.time * 3


def test_memory_bomb_hits_the_memory_limit(run):
    assert_only_1d_cases_lost(run, "memory_bomb.py", "memory", "memory")


@needs_namespaces
def test_fork_bomb_is_bounded(run):
    result = result_of(run, "fork_bomb.py")
    assert_zero(result, "exception", "forked")
    for test in result.tests:
        made = int(test.output.split("forked ")[1].split()[0])
        assert made < LIMITS.processes, test.output


def test_big_file_hits_the_file_size_limit(run):
    assert_only_1d_cases_lost(run, "big_file.py", "exception", "file too large")


@needs_namespaces
def test_filling_the_disk_is_bounded(run):
    result = result_of(run, "fill_disk.py")
    for case in run["one_d"]:
        bad = by_name(result)[case]
        written = int(bad.output.split("wrote ")[1].split()[0])
        assert written <= LIMITS.disk_mb, bad.output


def test_huge_output_is_refused(run):
    assert_only_1d_cases_lost(run, "huge_output.py", "bad_output", "cannot accept")


def test_output_flood_is_capped(run):
    result = result_of(run, "stdout_flood.py")
    assert_full_marks(result)
    cap = LIMITS.output_kb * 1024
    for text in (result.stdout, result.stderr):
        assert len(text) < cap + 200 and "more bytes not shown" in text


# ---------------------------------------------------------------- reading what is not theirs

@needs_namespaces
def test_reference_cannot_be_read_from_disk(run):
    assert_zero(result_of(run, "read_reference.py"), "exception", "no reference to read")


@needs_namespaces
def test_reference_cannot_be_imported(run):
    assert_zero(result_of(run, "import_reference.py"), "exception", "could not import the reference")


@needs_namespaces
def test_other_submissions_cannot_be_read(run):
    assert_zero(result_of(run, "read_other_submission.py"), "exception", "FileNotFoundError")


@needs_namespaces
def test_environment_secrets_are_not_passed(run):
    result = result_of(run, "env_secrets.py")
    assert_full_marks(result)
    assert SECRET not in json.dumps(result.to_dict())


@needs_namespaces
def test_parent_memory_and_descriptors_are_out_of_reach(run):
    assert_full_marks(result_of(run, "proc_parent.py"))


@needs_namespaces
def test_no_network(run):
    assert_full_marks(result_of(run, "network.py"))
    assert run["listener"].connections == 0


def test_symlink_out_of_the_submission_is_not_followed(run):
    result = result_of(run, "symlink_outside")
    assert_full_marks(result)
    assert any("secret.txt" in note and "symbolic link" in note for note in result.feedback)
    assert SECRET not in json.dumps(result.to_dict())


def test_shipped_torch_numpy_and_conftest_never_shadow(run):
    assert_full_marks(result_of(run, "shipped_torch"))


@needs_seccomp
def test_kernel_surface_is_refused(run):
    """New namespaces, io_uring, userfaultfd, ptrace, bpf, keyctl: each refused with EPERM (seccomp)."""
    result = result_of(run, "kernel_surface.py")
    assert_full_marks(result)
    for name in ("unshare", "clone", "setns", "io_uring_setup", "userfaultfd", "ptrace", "bpf", "keyctl"):
        assert f"{name}: EPERM" in result.stdout, (name, result.stdout[-2000:])
    assert "succeeded" not in result.stdout


@needs_seccomp
def test_file_locks_and_inotify_on_shared_files_are_refused(run):
    result = result_of(run, "file_locks.py")
    assert_full_marks(result)
    assert "flock" in result.stdout and "Operation not permitted" in result.stdout


# ---------------------------------------------------------------- harming the grader or others

@needs_namespaces
def test_results_file_cannot_be_overwritten(run):
    assert_full_marks(result_of(run, "overwrite_results.py"))
    assert (run["tmp"] / "results" / "results.json").read_text() == '{"score": 0}'


@needs_namespaces
def test_files_beside_the_submission_survive(run):
    assert_full_marks(result_of(run, "delete_beside.py"))
    assert (run["tmp"] / "beside" / "victim.txt").read_text() == "keep me"
    assert (run["tmp"] / "other" / "solution.py").exists()
    assert_full_marks(result_of(run, "other (after delete_beside)"))


@needs_namespaces
def test_grader_package_is_read_only(run):
    assert_full_marks(result_of(run, "write_grader.py"))


def test_other_students_scores_are_unchanged(run):
    assert_full_marks(result_of(run, "correct (another student)"))


@needs_namespaces
def test_killing_the_parent_through_the_cli(tmp_path, grader_cmd):
    sub = materialise(SUBMISSIONS / "kill_parent.py", tmp_path / "kill_parent.py", {})
    out = grader_cmd("check", PROBLEM, sub, "--json", "--time-limit", "4", timeout=180)
    assert out.exit_code == 1, out.stderr
    result = out.json()
    lost = [t for t in result["tests"] if t["status"] != "passed"]
    # killpg(0) takes the student's own process (SIGKILL, reported like a memory kill): only 1-D cases
    assert lost and all(t["outcome"] in ("crashed", "memory") and t["score"] == 0 for t in lost), lost
    assert len(lost) < len(result["tests"])


@needs_namespaces
def test_nothing_is_left_behind(run):
    deadline = time.monotonic() + 10
    while orphans(run["tmp"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert orphans(run["tmp"]) == []
    assert list(run["work"].iterdir()) == []
    assert_no_cgroup_left(run["cgroups before"])


def test_the_suite_is_quick(run):
    assert run["seconds"] < 240, run["seconds"]


@needs_namespaces
def test_fresh_interpreter_children_are_confined_too(tmp_path):
    """Where no template can start, each job gets a fresh `python -I` (`SubprocessExecutor`), which
    starts and confines itself on steps of its own: its environment, inherited descriptors, session,
    cgroups joined after the start, and torch imported with the submission's folder as the working
    directory. The attacks on those steps are contained there as on the fork server."""
    values = {"__TMP__": str(tmp_path), "__BANK__": str(Bank().root), "__PORT__": "9"}
    expect = {"proc_parent.py": "full", "env_secrets.py": "full", "orphan_setsid.py": "full",
              "shipped_torch": "full", "read_reference.py": 0, "fork_bomb.py": 0}
    paths = {name: materialise(SUBMISSIONS / name, tmp_path / name, values) for name in expect}
    before = own_cgroups()
    os.environ["GRADER_TEST_SECRET"] = SECRET
    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            results = dict(zip(paths, pool.map(lambda name: grade(PROBLEM, paths[name], executor=SubprocessExecutor(),
                                                                  limits=limits_of(name)), paths)))
    finally:
        os.environ.pop("GRADER_TEST_SECRET", None)
    for name, want in expect.items():
        if want == "full":
            assert_full_marks(results[name])
        else:
            assert results[name].score == 0, (name, [(t.name, t.outcome, t.output) for t in results[name].tests])
    assert SECRET not in json.dumps(results["env_secrets.py"].to_dict())
    deadline = time.monotonic() + 10
    while orphans(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert orphans(tmp_path) == []
    assert_no_cgroup_left(before)


def test_report_timings(run, capsys):
    with capsys.disabled():
        slow = sorted(((s, n) for n, (_, s) in run["results"].items()), reverse=True)[:8]
        print("\nslowest:", ", ".join(f"{n} {s:.1f}s" for s, n in slow), f"; all {run['seconds']:.1f}s")
