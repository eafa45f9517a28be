"""Issue 11, the sandbox part: fair CPU between children, timeouts charged only when they reproduce,
a fresh session keyring, the seccomp filter, no lock channel between two children, and no grading
under weak confinement unless it was allowed (and then never mixed with full results in the cache).

Attacks are bounded like the rest of the suite (40 spinners that stop by themselves after 25 s,
a lock held 6 s, a key in a session keyring of this test's own). The "container" runs start the
grader under tests/adversarial/container.py: a seccomp filter that refuses namespaces and keyctl
as Docker's default profile does, so this machine looks like a container without CAP_SYS_ADMIN.
"""
from __future__ import annotations

import ctypes
import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from grader.sandbox import confine as sandbox
from grader.problems.bank import Bank
from grader.grading import grade
from grader.limits import Limits
from grader.result import ProblemResult, Status
from grader.result import TestResult as CaseResult

from .test_adversarial import PROBLEM, ROOT, SUBMISSIONS, assert_full_marks, materialise

HERE = Path(__file__).resolve().parent
CONTAINER = [sys.executable, str(HERE / "container.py")]
FOUND = {name: on for name, on, _ in sandbox.protections()}
needs = lambda name: pytest.mark.skipif(not FOUND.get(name), reason=f"{name} unavailable here: "  # noqa: E731
                                        "see 'python -m grader.sandbox'")
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="as a normal user the child keeps the grader's uid "
                             "without namespaces: nothing can be hidden from it (docs/threat-model.md)")


def run_grader(*args, container=False, env=None, timeout=300):
    command = (CONTAINER if container else []) + [sys.executable, "-m", "grader", *map(str, args)]
    environment = {k: v for k, v in os.environ.items() if k != "GRADER_SANDBOX"}
    environment.update({"PYTHONPATH": str(ROOT), **(env or {})})
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=environment)


@pytest.fixture
def private_bank(tmp_path):
    """A copy of the bank in this test's own folder (pytest makes it 0700: other uids cannot enter)."""
    bank = tmp_path / "bank"
    bank.mkdir()
    for part in ("problems", "reference"):
        shutil.copytree(ROOT / part, bank / part, ignore=shutil.ignore_patterns("__pycache__"))
    assert not sandbox.readable_by_others([bank / "reference", bank / "problems"])
    return bank


# ---------------------------------------------------------------- weak confinement

def test_no_namespaces_means_no_grading_unless_allowed(tmp_path):
    out = run_grader("check", PROBLEM, ROOT / "examples" / PROBLEM / "correct.py", "--json", container=True)
    assert out.returncode == 2, out.stderr
    assert "--allow-weak-sandbox" in out.stderr and "Traceback" not in out.stderr
    assert out.stdout == ""


def test_weak_sandbox_when_allowed_is_marked_in_every_result(private_bank):
    out = run_grader("check", PROBLEM, ROOT / "examples" / PROBLEM / "correct.py", "--json",
                     "--allow-weak-sandbox", container=True, env={"GRADER_BANK": str(private_bank)})
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["sandbox"] == "weak" and result["score"] == result["max_score"]
    same = run_grader("check", PROBLEM, ROOT / "examples" / PROBLEM / "correct.py", "--json", container=True,
                      env={"GRADER_BANK": str(private_bank), "GRADER_SANDBOX": "weak"})
    assert same.returncode == 0, same.stderr


@as_root
def test_weak_sandbox_refuses_a_bank_other_users_can_read():
    """The checkout's own bank, with the default permissions (0644 files): the child's uid could read it."""
    if not sandbox.readable_by_others([ROOT / "reference", ROOT / "problems"]):
        pytest.skip("this checkout's bank is private already")
    out = run_grader("check", PROBLEM, ROOT / "examples" / PROBLEM / "correct.py", "--allow-weak-sandbox",
                     container=True, env={"GRADER_BANK": str(ROOT)})
    assert out.returncode == 2, out.stderr
    assert "chmod" in out.stderr and "readable by other users" in out.stderr


@as_root
def test_weak_sandbox_keeps_the_reference_from_the_child(tmp_path, private_bank):
    """The bank the grader uses is out of the child's reach. (read_reference.py is not tried: it
    globs the whole disk, and without a filesystem view any other readable copy of the bank on
    the machine, such as another checkout, is found: docs/threat-model.md.)"""
    if sandbox.readable_by_others([ROOT / "reference"]):
        pytest.skip(f"this checkout ({ROOT}) is readable by other users, so a weakly confined child finds its bank "
                    "like any readable copy on the machine (docs/threat-model.md); run the tests from a private "
                    f"checkout (chmod -R go-rwx {ROOT}) to check the grader's own bank is out of reach")
    for name in ("import_reference.py",):
        sub = materialise(SUBMISSIONS / name, tmp_path / name, {"__BANK__": str(private_bank)})
        out = run_grader("check", PROBLEM, sub, "--json", "--allow-weak-sandbox", container=True,
                         env={"GRADER_BANK": str(private_bank)})
        assert out.returncode == 1, out.stderr
        result = json.loads(out.stdout)
        assert result["score"] == 0 and result["sandbox"] == "weak", name


@needs("filesystem-view")
def test_cache_never_mixes_weak_and_full_results(tmp_path, private_bank):
    """A result graded under weak confinement is not reused under the full sandbox, nor the reverse."""
    (tmp_path / "class").mkdir()
    shutil.copy(ROOT / "examples" / PROBLEM / "correct.py", tmp_path / "class" / "ann.py")
    assignment = tmp_path / "assignment.yaml"
    assignment.write_text(f"name: hw\nproblems: [{PROBLEM}]\n")
    out = tmp_path / "out"
    env = {"GRADER_BANK": str(private_bank)}

    def grade_class(container):
        args = ["grade", tmp_path / "class", "--assignment", assignment, "--out", out, "--no-progress", "--jobs", "1"]
        done = run_grader(*args, *(["--allow-weak-sandbox"] if container else []), container=container, env=env)
        assert done.returncode == 0, done.stderr
        result = json.loads((out / "students" / "ann.json").read_text())["problems"][0]
        assert result["score"] == result["max_score"]
        return result["sandbox"], done.stdout

    assert grade_class(container=True)[0] == "weak"
    assert grade_class(container=False)[0] == "full"
    assert grade_class(container=True)[0] == "weak"
    level, summary = grade_class(container=False)
    assert level == "full" and "cached" in summary.lower()


def test_cache_key_includes_the_protections():
    from grader.classes.cache import job_id

    base = dict(files={"a.py": b"x"}, problem_spec={"id": "p"}, points=1.0, reference="r", seed=0, limits={},
                module_name=None)
    assert job_id(**base) == job_id(**base, protections=sandbox.fingerprint())
    assert job_id(**base, protections="weak:rlimits") != job_id(**base, protections="full:rlimits")


# ---------------------------------------------------------------- keyring, seccomp, locks

KEYCTL = {"x86_64": 250, "aarch64": 219}.get(os.uname().machine)
ADD_KEY = {"x86_64": 248, "aarch64": 217}.get(os.uname().machine)

KEYRING_SCENARIO = textwrap.dedent("""
    import ctypes, json, sys
    from grader.sandbox import confine as sandbox
    from grader.grading import grade
    from grader.limits import Limits
    libc = ctypes.CDLL(None, use_errno=True)
    L = ctypes.c_long
    # a session keyring of this process's own, with a secret key: every child started from here inherits it
    assert libc.syscall(L({keyctl}), L(1), b"grader-adversarial-test") > 0
    key = libc.syscall(L({add_key}), b"user", b"{name}", b"{secret}", L({length}), L(-3))
    assert key > 0, ctypes.get_errno()
    if sys.argv[1] == "child":
        path = sys.argv[2]
        source = open(path).read().replace("__KEYID__", str(key))
        open(path, "w").write(source)
        result = grade("{problem}", path, limits=Limits(time=20))
        print(json.dumps(result.to_dict()))
    else:  # the keyring step alone (seccomp would refuse keyctl anyway): a fresh keyring holds no key
        import os
        pid = os.fork()
        if pid == 0:
            sandbox.new_session_keyring()
            found = libc.syscall(L({keyctl}), L(10), L(-3), b"user", b"{name}", L(0))
            os._exit(0 if found < 0 else 1)
        print(json.dumps({{"hidden": os.waitpid(pid, 0)[1] == 0}}))
    buf = ctypes.create_string_buffer(64)
    n = libc.syscall(L({keyctl}), L(11), L(key), buf, L(64))
    print(json.dumps({{"payload": buf.raw[:n].decode()}}))
""")


@needs("session-keyring")
@pytest.mark.parametrize("step", ["keyring", "child"])
def test_the_graders_keys_are_out_of_reach(tmp_path, step):
    secret = "key-s3cr3t-of-the-grader"
    name = "grader-adversarial-key"
    sub = materialise(SUBMISSIONS / "keyring_read.py", tmp_path / "keyring_read.py", {"__KEYNAME__": name})
    script = KEYRING_SCENARIO.format(keyctl=KEYCTL, add_key=ADD_KEY, name=name, secret=secret,
                                     length=len(secret), problem=PROBLEM)
    out = subprocess.run([sys.executable, "-c", script, step, str(sub)], capture_output=True, text=True,
                         timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert lines[-1] == {"payload": secret}  # still there, and not overwritten
    if step == "keyring":
        assert lines[0] == {"hidden": True}
    else:
        result = lines[0]
        assert secret not in json.dumps(result)
        assert result["score"] == result["max_score"], result


@needs("seccomp")
def test_two_children_cannot_signal_through_a_lock(tmp_path):
    from grader.sandbox.forkserver import ForkServerExecutor

    paths = {role: materialise(SUBMISSIONS / "lock_channel.py", tmp_path / f"{role}.py", {"__ROLE__": role})
             for role in ("sender", "receiver")}
    with ForkServerExecutor() as executor, ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(paths, pool.map(lambda p: grade(PROBLEM, p, executor=executor,
                                                           limits=Limits(time=20)), paths.values())))
    for result in results.values():
        assert_full_marks(result)
    assert "lock taken no" in results["sender"].stdout, results["sender"].stdout
    assert "lock seen no" in results["receiver"].stdout, results["receiver"].stdout
    assert "lock seen yes" not in results["receiver"].stdout


# ---------------------------------------------------------------- fair CPU, reproducible timeouts

@needs("cpu-fairness")
def test_setsid_spinners_do_not_starve_honest_children(tmp_path):
    """40 spinning processes in sessions of their own get one child's share of the CPU: honest
    children that need CPU (0.2 s a case) still finish every case well within the time limit."""
    from grader.sandbox.forkserver import ForkServerExecutor

    hog = materialise(SUBMISSIONS / "setsid_spinners.py", tmp_path / "hog.py", {})
    honest = [materialise(SUBMISSIONS / "honest_busy.py", tmp_path / f"honest{i}.py", {}) for i in range(2)]
    limits = Limits(time=3.0, load_time=60.0)
    started = threading.Event()
    with ForkServerExecutor() as executor, ThreadPoolExecutor(max_workers=3) as pool:
        def grade_hog():
            started.set()
            return grade(PROBLEM, hog, executor=executor, limits=limits)

        hogging = pool.submit(grade_hog)
        started.wait()
        threading.Event().wait(2.0)  # let the spinners start (not a timing assertion: only a head start)
        results = list(pool.map(lambda p: grade(PROBLEM, p, executor=executor, limits=limits), honest))
        hogging.result()
    for result in results:
        assert_full_marks(result)


class _Gate:
    """Holds a shared slot of a gate open until told to let go."""

    def __init__(self, gate):
        self.entered, self.leave = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self.hold, args=(gate,))
        self.thread.start()
        self.entered.wait()

    def hold(self, gate):
        with gate.shared():
            self.entered.set()
            self.leave.wait()

    def release(self):
        self.leave.set()
        self.thread.join()


def _result(outcome: str, limits_hit=()) -> ProblemResult:
    passed = outcome == "passed"
    test = CaseResult("case", 1.0 if passed else 0.0, 1.0, Status.PASSED if passed else Status.FAILED,
                      outcome=outcome)
    return ProblemResult("p", "P", test.score, 1.0, [test], limits_hit=list(limits_hit), sandbox="full")


def _class_grader():
    from grader.classes.assignment import load_assignment
    from grader.classes.batch import ClassGrader

    return ClassGrader(load_assignment(ROOT / "examples" / "assignment.yaml", Bank()), Bank(), executor=None)


def test_a_crowded_timeout_is_graded_again_alone():
    grader = _class_grader()
    calls = []

    def grade_once():
        calls.append(grader.gate._active)  # how many jobs ran beside (or as) this one
        return _result("timeout", ["time"]) if len(calls) == 1 else _result("passed")

    neighbour = _Gate(grader.gate)
    answer = {}
    worker = threading.Thread(target=lambda: answer.update(result=grader._fairly(grade_once)))
    worker.start()
    while len(calls) < 1:
        threading.Event().wait(0.01)
    neighbour.release()  # the re-run waits for the neighbour to finish
    worker.join()
    assert calls == [2, 0]  # first beside the neighbour, then alone (no shared job running)
    assert answer["result"].passed and grader.rerun_alone == 1


def test_a_timeout_alone_or_a_wrong_answer_is_not_graded_again():
    grader = _class_grader()
    calls = []
    assert not grader._fairly(lambda: calls.append(1) or _result("timeout", ["time"])).passed
    neighbour = _Gate(grader.gate)
    try:
        assert not grader._fairly(lambda: calls.append(1) or _result("wrong")).passed
    finally:
        neighbour.release()
    assert len(calls) == 2 and grader.rerun_alone == 0


@needs("cpu-fairness")
def test_class_run_with_a_cpu_hog_and_a_real_infinite_loop(tmp_path):
    """Through `grader grade`: honest students keep full marks next to the hog, in the run and in a
    re-run from the cache; the infinite loop's timeouts reproduce alone, so they are charged."""
    cls = tmp_path / "class"
    cls.mkdir()
    materialise(SUBMISSIONS / "setsid_spinners.py", cls / "hog.py", {})
    materialise(SUBMISSIONS / "infinite_loop.py", cls / "loop.py", {})
    for i in range(2):
        materialise(SUBMISSIONS / "honest_busy.py", cls / f"honest{i}.py", {})
    assignment = tmp_path / "assignment.yaml"
    assignment.write_text(f"name: hw\nproblems: [{PROBLEM}]\nlimits: {{time: 3}}\n")
    out = tmp_path / "out"
    for attempt in ("run", "re-run"):
        done = run_grader("grade", cls, "--assignment", assignment, "--out", out, "--no-progress", "--jobs", "4",
                          timeout=600)
        assert done.returncode == 0, done.stderr
        results = {p.stem: json.loads(p.read_text())["problems"][0] for p in (out / "students").glob("*.json")}
        for name in ("honest0", "honest1"):
            assert results[name]["score"] == results[name]["max_score"], (attempt, results[name]["tests"])
        lost = [t for t in results["loop"]["tests"] if t["status"] != "passed"]
        assert lost and all(t["outcome"] == "timeout" for t in lost), (attempt, lost)
        assert len(lost) < len(results["loop"]["tests"])


# ---------------------------------------------------------------- the filter program itself

def run_filter(program: bytes, arch: int, nr: int, args=(0,) * 6) -> int:
    """A small classic-BPF interpreter (the instructions the filter uses) over one seccomp_data."""
    import struct

    data = struct.pack("<iIQ6Q", nr, arch, 0, *(list(args) + [0] * 6)[:6])
    code = [struct.unpack("HBBI", program[i:i + 8]) for i in range(0, len(program), 8)]
    acc, pc = 0, 0
    while True:
        op, jt, jf, k = code[pc]
        if op == 0x20:
            acc = struct.unpack_from("<I", data, k)[0]
        elif op in (0x15, 0x35, 0x45):
            hit = acc == k if op == 0x15 else acc >= k if op == 0x35 else bool(acc & k)
            pc += jt if hit else jf
        elif op == 0x06:
            return k
        else:
            raise AssertionError(f"unexpected BPF op {op:#x}")
        pc += 1


@pytest.mark.parametrize("machine", ["x86_64", "aarch64"])
def test_the_filter_program_on_both_architectures(machine):
    import errno

    program = sandbox.seccomp_program(machine)
    numbers, arch = sandbox._SECCOMP_NUMBERS[machine], sandbox._AUDIT_ARCH[machine]
    allow, eperm, enosys = 0x7FFF0000, 0x50000 | errno.EPERM, 0x50000 | errno.ENOSYS
    read = {"x86_64": 0, "aarch64": 63}[machine]
    thread_flags = 0x3D0F00  # what glibc's pthread_create passes
    assert run_filter(program, arch, read) == allow
    assert run_filter(program, 0x40000003, read) == eperm  # i386 calls on x86_64
    for name in ("unshare", "setns", "keyctl", "bpf", "io_uring_setup", "userfaultfd", "ptrace", "flock", "setsid",
                 "mount", "inotify_init1", "perf_event_open"):
        assert run_filter(program, arch, numbers[name]) == eperm, name
    assert run_filter(program, arch, numbers["clone"], (thread_flags,)) == allow
    assert run_filter(program, arch, numbers["clone"], (17,)) == allow  # fork: SIGCHLD only
    assert run_filter(program, arch, numbers["clone"], (0x10000000 | 17,)) == eperm  # CLONE_NEWUSER
    assert run_filter(program, arch, numbers["clone3"]) == enosys
    assert run_filter(program, arch, numbers["fcntl"], (3, 3)) == allow  # F_GETFL
    for cmd in sandbox.FCNTL_DENIED:
        assert run_filter(program, arch, numbers["fcntl"], (3, cmd)) == eperm, cmd
    assert run_filter(program, arch, numbers["socket"], (1, 1)) == allow  # AF_UNIX
    assert run_filter(program, arch, numbers["socket"], (2, 1)) == eperm  # AF_INET
    assert run_filter(program, arch, numbers["socketpair"], (1, 1)) == allow
    if machine == "x86_64":
        assert run_filter(program, arch, 0x40000000 | read) == eperm  # x32
    assert len(program) // 8 < 4096


def test_the_places_a_child_may_read_are_worked_out_once_and_filtered_per_job(tmp_path):
    """The fork server's template works out the readable places once (sandbox.readable_places,
    warmed before it forks); what a job hides (the bank, the output) and its work folder are still
    taken out for every job, whatever the places held."""
    places = sandbox.readable_places()
    assert sandbox.readable_places() is places  # worked out once per process
    prefix = os.path.realpath(sys.prefix)  # Python and its packages
    assert any(real == prefix for _, real, link, _ in places if link is None)
    everything = [root for root, link in sandbox._readable_roots([], str(tmp_path)) if link is None]
    assert prefix in everything
    hidden = [root for root, link in sandbox._readable_roots([prefix + "/a-bank"], str(tmp_path)) if link is None]
    assert prefix not in hidden  # a place that holds a hidden folder is never bound whole
    inside = [root for root, link in sandbox._readable_roots([], prefix + "/some-work-folder") if link is None]
    assert prefix not in inside  # a place that holds the work folder is never bound
    assert sandbox.seccomp_program() is sandbox.seccomp_program()
