"""The Ray executor (grader/classes/ray_executor.py): one contract, run over the local pool and over Ray.

The Ray tests share one local cluster per test session, of two nodes on this machine
(`ray.cluster_utils.Cluster`): a head with no CPU, so that every job runs on the other node, with
2 CPUs and no GPU. The GPU tests add a third node for themselves that declares one GPU (only
declared: the scheduling is tested, not CUDA). The Ray tests are skipped where Ray is not installed.
"""
from __future__ import annotations

import csv
from dataclasses import replace as dataclasses_replace
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from grader.problems.bank import Bank
from grader.classes.pool import AutoExecutor, LocalPool
from grader.classes.students import find_students
from grader.classes.batch import grade_class
from grader.classes.assignment import load_assignment
from grader.classes.cache import ResultCache
from grader.sandbox.runner import Call, Job, RunResult

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
NO_RAY = "Ray is not installed: pip install 'grader[ray]'"

CORRECT = """\
import torch


def sigmoid_backward(x, grad_output):
    s = torch.sigmoid(x)
    return grad_output * s * (1 - s)
"""

BUGGY = """\
import torch


def sigmoid_backward(x, grad_output):
    return grad_output * torch.sigmoid(x)
"""

# Loops on one case only (float16): one timeout, then graded again alone, where it loops again.
LOOPS = """\
import torch


def sigmoid_backward(x, grad_output):
    if x.dtype == torch.float16:
        while True:
            pass
    s = torch.sigmoid(x)
    return grad_output * s * (1 - s)
"""

# Kills its own process on the 1-D case; asks for 6 GB (over the 4 GB limit) on float64.
CRASHES = """\
import os
import signal

import torch


def sigmoid_backward(x, grad_output):
    if x.dim() == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    if x.dtype == torch.float64:
        hog = bytearray(6 << 30)
    s = torch.sigmoid(x)
    return grad_output * s * (1 - s)
"""

# Correct only where the sandbox holds: it tries the test's loopback listener and looks at its
# own PID (2 in the PID namespace the sandbox makes). Wherever either check fails it answers
# wrong, so a sandbox that does not hold inside a Ray worker fails the test.
PROBES = """\
import os
import socket

import torch

try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
    CONFINED = False
except OSError:
    CONFINED = os.getpid() <= 3


def sigmoid_backward(x, grad_output):
    if not CONFINED:
        return x
    s = torch.sigmoid(x)
    return grad_output * s * (1 - s)
"""

# Sleeps long enough at import for the test to find and kill its Ray worker.
SLEEPS = """\
import time

import torch

time.sleep(4)


def sigmoid_backward(x, grad_output):
    s = torch.sigmoid(x)
    return grad_output * s * (1 - s)
"""


# ---------------------------------------------------------------- fixtures

CLUSTER: dict = {}  #: the session's cluster: "cluster" (ray.cluster_utils.Cluster), "worker" (its CPU node)


@pytest.fixture(scope="session")
def ray_cluster():
    """One local Ray cluster for the session, this process its driver: a head with 0 CPUs and a
    worker node with 2 CPUs (so every job crosses to another node). Yields its address."""
    try:
        import ray
        from ray.cluster_utils import Cluster
    except ImportError:
        pytest.skip(NO_RAY)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    try:
        CLUSTER.update(cluster=cluster, worker=cluster.add_node(num_cpus=2))
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, log_to_driver=False)
        # The stand-in worker functions below travel by value: the workers cannot import this test module.
        ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
        yield cluster.address
    finally:
        ray.shutdown()
        cluster.shutdown()
        CLUSTER.clear()


@pytest.fixture
def gpu_node(ray_cluster):
    """A node that declares one GPU (and 1 CPU), added to the session's cluster for one test."""
    cluster = CLUSTER["cluster"]
    node = cluster.add_node(num_cpus=1, num_gpus=1)
    cluster.wait_for_nodes()
    try:
        yield node
    finally:
        cluster.remove_node(node)


@pytest.fixture(scope="module")
def local_backend():
    with AutoExecutor("fork") as executor:
        yield executor


@pytest.fixture(scope="module")
def ray_backend(ray_cluster):
    from grader.classes.ray_executor import RayExecutor

    with RayExecutor() as executor:
        yield executor


@pytest.fixture(params=["local", pytest.param("ray", marks=pytest.mark.ray)])
def backend(request):
    """The executor under test: the local fork server, or Ray's workers."""
    return request.getfixturevalue(f"{request.param}_backend")


@pytest.fixture
def loopback_listener():
    """A listener on 127.0.0.1 that no sandboxed submission should reach; yields (port, accepted)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)

    def accepted() -> int:
        count = 0
        while True:
            try:
                conn, _ = server.accept()
            except BlockingIOError:
                return count
            conn.close()
            count += 1

    try:
        yield server.getsockname()[1], accepted
    finally:
        server.close()


def write_class(folder: Path, students: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, source in students.items():
        (folder / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    return folder


def write_assignment(path: Path, problems=("sigmoid-backward",), time_limit: float = 1) -> Path:
    lines = ["name: ray contract", "problems:", *[f"  - {p}" for p in problems], "limits:", f"  time: {time_limit}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def grade(executor, folder: Path, assignment: Path, jobs: int = 4, cache: ResultCache | None = None,
          order=None):
    bank = Bank()
    students = find_students(folder)
    if order:
        students = order(students)
    with LocalPool(jobs) as pool:
        return grade_class(load_assignment(assignment, bank), students, bank=bank, pool=pool,
                           executor=executor, cache=cache)


def comparable(data):
    """A result record without what differs from run to run (times, and a speed test's message,
    which quotes the times), for comparing runs."""
    if isinstance(data, dict):
        speed = str(data.get("name", "")).endswith("(speed)")
        return {k: comparable(v) for k, v in data.items()
                if k not in ("seconds", "timing", "submission") and not (speed and k == "output")}
    if isinstance(data, list):
        return [comparable(v) for v in data]
    return data


def differences(a, b, where: str = "$") -> list[str]:
    """Where two records differ (a readable assertion message)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b), key=str) for d in differences(a.get(k), b.get(k), f"{where}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{where}[{i}]")]
    return [] if a == b else [f"{where}: {str(a)[:300]!r} != {str(b)[:300]!r}"]


def by_student(report) -> dict:
    return {s.student: comparable(s.to_dict()) for s in report.students}


# ---------------------------------------------------------------- the contract, over both executors

def test_results_do_not_depend_on_order(backend, tmp_path):
    folder = write_class(tmp_path / "class", {"good": CORRECT, "buggy": BUGGY, "crashes": CRASHES,
                                              "good2": CORRECT, "buggy2": BUGGY})
    assignment = write_assignment(tmp_path / "a.yaml", time_limit=5)
    forward = grade(backend, folder, assignment)
    backward = grade(backend, folder, assignment, jobs=2, order=lambda s: list(reversed(s)))
    assert not differences(by_student(forward), by_student(backward))
    scores = {s.student: s.score for s in forward.students}
    assert scores["good"] == scores["good2"] == 10
    assert scores["buggy"] == scores["buggy2"] < 10
    crashes = next(s for s in forward.students if s.student == "crashes").problems[0]
    tests = {t.name: t for t in crashes.tests}
    assert not tests["vector"].passed and "SIGKILL" in tests["vector"].output
    assert not tests["float64"].passed and tests["small"].passed and not crashes.grader_error


def test_time_limit_is_a_result(backend, tmp_path):
    folder = write_class(tmp_path / "class", {"loops": LOOPS, "good": CORRECT})
    report = grade(backend, folder, write_assignment(tmp_path / "a.yaml", time_limit=1))
    loops, good = (next(s for s in report.students if s.student == name).problems[0] for name in ("loops", "good"))
    float16 = next(t for t in loops.tests if t.name == "float16")
    assert float16.outcome == "timeout" and "took longer than 1 s" in float16.output
    assert "time" in loops.limits_hit and not loops.grader_error
    assert sum(t.passed for t in loops.tests) == len(loops.tests) - 1  # only the looping case is lost
    assert good.score == good.max_score


def test_sandbox_holds_inside_the_workers(backend, tmp_path, loopback_listener):
    port, accepted = loopback_listener
    folder = write_class(tmp_path / "class", {"probe": PROBES.format(port=port)})
    report = grade(backend, folder, write_assignment(tmp_path / "a.yaml", time_limit=5))
    result = report.students[0].problems[0]
    assert accepted() == 0, "a submission reached the test's loopback listener"
    assert result.error is None and result.score == result.max_score, result.to_dict()
    assert result.sandbox == "full"


# ---------------------------------------------------------------- the example class, through the real CLI

def _grade_cli(args, out: Path) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, "-m", "grader", "grade", *map(str, args), "--out", str(out),
                           "--no-report", "--no-progress"], capture_output=True, text=True, timeout=600)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.ray
def test_example_class_graded_the_same_on_local_and_ray(ray_cluster, tmp_path, loopback_listener):
    port, accepted = loopback_listener
    folder = tmp_path / "class"
    shutil.copytree(EXAMPLES / "class", folder)
    write_class(folder, {"zz_loops": LOOPS, "zz_crashes": CRASHES, "zz_probe": PROBES.format(port=port)})
    common = [folder, "--assignment", EXAMPLES / "assignment.yaml"]
    runs = {}
    for name, extra in (("local", ["--executor", "local"]),
                        ("ray", ["--executor", "ray", "--ray-address", ray_cluster])):
        code, output = _grade_cli(common + extra, tmp_path / name)
        assert code == 0, output
        students = {p.stem: comparable(json.loads(p.read_text())) for p in (tmp_path / name / "students").iterdir()}
        with open(tmp_path / name / "grades.csv", newline="") as fh:
            runs[name] = (list(csv.reader(fh)), students)
    assert not differences(runs["local"], runs["ray"]), "\n".join(differences(runs["local"], runs["ray"]))
    gradebook = {row[0]: row for row in runs["ray"][0][1:]}
    assert len(gradebook) == 8  # one row per student: alice, bob, carol, dave, erin and three hostile ones
    probe = runs["ray"][1]["zz_probe"]["problems"][0]
    assert probe["score"] == probe["max_score"] and accepted() == 0


# ---------------------------------------------------------------- Ray only: failures and GPUs

def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process we can read."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                parent = int(fh.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                command = fh.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue
        found[int(entry)] = (parent, command)
    return found


def _ray_worker_running_a_child() -> int | None:
    """The pid of a Ray worker of this test session whose fork server has a child running: the
    worker running our job. Only processes this test process started (its descendants) qualify."""
    table = _processes()

    def ours(pid: int) -> bool:
        while pid > 1 and pid in table:
            if pid == os.getpid():
                return True
            pid = table[pid][0]
        return False

    def grandchildren(pid: int) -> bool:
        children = [child for child, (parent, _) in table.items() if parent == pid]
        return any(table[other][0] in children for other in table)

    for pid, (parent, command) in table.items():
        if "template_main" not in command or parent == os.getpid():
            continue
        # a job's child is a grandchild of the template: forked by the template of its cgroup set
        # (which lives on between jobs, so a child alone proves nothing), or, without cgroups,
        # under the outer process that waits for it
        busy = grandchildren(pid)
        if busy and table.get(parent, (0, ""))[1].startswith("ray::") and ours(parent):
            return parent
    return None


@pytest.mark.ray
def test_a_worker_killed_mid_job_gives_one_recorded_result(ray_backend, tmp_path):
    folder = write_class(tmp_path / "class", {"sleeper": SLEEPS})
    assignment = write_assignment(tmp_path / "a.yaml", time_limit=5)
    cache = ResultCache(tmp_path / "cache")
    killed = []

    def kill_the_worker():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            worker = _ray_worker_running_a_child()
            if worker:
                os.kill(worker, signal.SIGKILL)
                killed.append(worker)
            time.sleep(0.1)

    before = ray_backend.stats["retried"]
    killer = threading.Thread(target=kill_the_worker)
    killer.start()
    try:
        report = grade(ray_backend, folder, assignment, cache=cache)
    finally:
        killed.append(None)  # stops the thread if it found nothing
        killer.join()
    assert killed[0], "no Ray worker running the job was found"
    assert ray_backend.stats["retried"] - before == 1
    result = report.students[0].problems[0]
    assert not result.grader_error and result.score == result.max_score, result.to_dict()
    assert report.graded == 1 and len(list((tmp_path / "cache").rglob("*.json"))) == 1


def _dies(request):
    os._exit(3)


@pytest.mark.ray
def test_a_job_that_keeps_killing_its_worker_is_reported_not_retried_forever(ray_cluster, tmp_path):
    from grader.classes.ray_executor import RayExecutor

    folder = write_class(tmp_path / "class", {"good": CORRECT})
    assignment = write_assignment(tmp_path / "a.yaml")
    cache = ResultCache(tmp_path / "cache")
    with RayExecutor(retries=2, worker_fn=_dies) as executor:
        report = grade(executor, folder, assignment, cache=cache)
    result = report.students[0].problems[0]
    assert result.grader_error and "could not run this job (3 attempts" in result.error
    assert "WorkerCrashedError" in result.error
    assert executor.stats["attempts"] == 3 and executor.stats["failed"] == 1
    assert not list((tmp_path / "cache").rglob("*.json"))  # a grader failure is not cached: a re-run retries it


def _reports_concurrency(request):
    """A stand-in for a CUDA job: reports when it ran, where, and which GPUs Ray gave it."""
    import ray

    from grader.classes.ray_executor import WorkerReply

    start = time.time()
    time.sleep(0.5)
    seen = {"start": start, "end": time.time(), "gpus": [str(g) for g in ray.get_gpu_ids()], "pid": os.getpid()}
    return WorkerReply(RunResult(cases=[], stdout=json.dumps(seen)), os.getpid(), "node", "stand-in")


def _job(device: str) -> Job:
    return Job(files={}, module="solution.py", entry_point="f", framework="torch",
               calls=[Call(name="c", args=[], kwargs={}, text="f()", device=device)])


@pytest.mark.ray
def test_a_logical_gpu_runs_one_cuda_job_at_a_time(gpu_node):
    from grader.classes.ray_executor import RayExecutor

    executor = RayExecutor(worker_fn=_reports_concurrency)
    runs: list[tuple[dict, str]] = []

    def run(device):
        result = executor.run(_job(device))
        runs.append((json.loads(result.stdout), device))

    threads = [threading.Thread(target=run, args=(d,)) for d in ["cuda"] * 4 + ["cpu"] * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cuda = sorted((seen for seen, device in runs if device == "cuda"), key=lambda s: s["start"])
    assert len(cuda) == 4 and all(seen["gpus"] == ["0"] for seen in cuda)
    for earlier, later in zip(cuda, cuda[1:]):
        assert later["start"] >= earlier["end"], "two CUDA jobs held the one GPU at once"
    assert all(seen["gpus"] == [] for seen, device in runs if device == "cpu")
    assert len({seen["pid"] for seen in cuda}) < 4  # max_calls=0: a GPU worker is kept, not one per job
    assert executor.stats["launcher:stand-in"] == 6
    executor.close()


def _cuda_job_on_the_cpu(request):
    """A stand-in for a CUDA worker on a machine without CUDA: runs the job with its calls moved to
    the CPU (the child would fail on a logical GPU) and says, as its launcher, whether the job was a
    CUDA one and which GPUs Ray gave it."""
    import dataclasses

    import ray

    from grader.classes.ray_executor import run_on_worker

    job = request.job
    calls = [dataclasses.replace(call, device="cpu") for call in job.calls]
    reply = run_on_worker(dataclasses.replace(request, job=dataclasses.replace(job, calls=calls)))
    reply.launcher = json.dumps({"cuda": job.cuda, "gpus": [str(g) for g in ray.get_gpu_ids()]})
    return reply


def _sigmoid_tests(report) -> tuple[list[str], dict[str, str]]:
    """(names of the tests graded, {skipped test: why}) of the one student's sigmoid-backward."""
    problem = report.students[0].problems[0]
    return [t.name for t in problem.tests], {t.name: t.output for t in problem.skipped}


@pytest.mark.ray
def test_a_cpu_only_driver_runs_cuda_cases_on_a_cluster_with_a_gpu(gpu_node, tmp_path, monkeypatch):
    from grader.classes.ray_executor import RayExecutor

    monkeypatch.setattr("grader.sandbox.devices.cuda_available", lambda: False)  # this driver has no GPU
    folder = write_class(tmp_path / "class", {"good": CORRECT})
    with RayExecutor(worker_fn=_cuda_job_on_the_cpu) as executor:
        assert executor.cuda is True
        report = grade(executor, folder, write_assignment(tmp_path / "a.yaml", time_limit=5))
    graded, skipped = _sigmoid_tests(report)
    assert any(name.endswith("[cuda]") for name in graded) and not skipped, (graded, skipped)
    jobs = [json.loads(key.partition(":")[2]) for key in executor.stats if key.startswith("launcher:")]
    assert jobs == [{"cuda": True, "gpus": ["0"]}]  # the problem's job holds CUDA cases: it asked for the GPU


@pytest.mark.ray
def test_a_gpu_driver_skips_cuda_cases_on_a_cluster_without_one(ray_backend, tmp_path, monkeypatch):
    from grader.sandbox.devices import cuda_usable

    monkeypatch.setattr("grader.sandbox.devices.cuda_available", lambda: True)  # this driver "has" a GPU
    assert ray_backend.cuda is False and not cuda_usable()  # the cluster decides
    folder = write_class(tmp_path / "class", {"good": CORRECT})
    graded, skipped = _sigmoid_tests(grade(ray_backend, folder, write_assignment(tmp_path / "a.yaml", time_limit=5)))
    assert skipped and all(name.endswith("[cuda]") for name in skipped)
    assert set(skipped.values()) == {"skipped: no CUDA device is available on this machine"}  # the usual message
    assert not any(name.endswith("[cuda]") for name in graded)


# ---------------------------------------------------------------- two nodes: plain data only

class MovesFilesAwayFirst:
    """An executor that moves `folders` away before the first job reaches the cluster, and keeps the
    jobs it was given: what the driver read and prepared must be all a worker needs."""

    def __init__(self, inner, folders: list[Path]):
        self.inner, self.folders, self.moved, self.jobs = inner, folders, [], []
        self._lock = threading.Lock()

    def run(self, job):
        with self._lock:
            self.jobs.append(job)
            if not self.moved:
                for folder in self.folders:
                    folder.rename(folder.with_name(folder.name + "-gone"))
                    self.moved.append(folder)
        return self.inner.run(job)


@pytest.mark.ray
def test_jobs_run_on_the_worker_node_as_plain_data(ray_backend, tmp_path):
    """The submissions are gone once the first job leaves (the driver read them; a student's
    problems run as concurrent jobs), and no job names a file of the bank or the submissions
    other than the bank's folders the sandbox is to cover up (Job.hide) and the submission's name
    in messages (Job.label)."""
    import dataclasses

    from ray import cloudpickle

    bank = tmp_path / "bank"  # a copy at a path of its own, to look for in the payloads
    for part in ("problems", "reference"):
        shutil.copytree(ROOT / part, bank / part, ignore=shutil.ignore_patterns("__pycache__"))
    folder = tmp_path / "class"
    (folder / "ann").mkdir(parents=True)
    (folder / "ann" / "sigmoid_backward.py").write_text(BUGGY)
    shutil.copy(EXAMPLES / "conv-output-size" / "correct.py", folder / "ann" / "conv_output_size.py")
    assignment = write_assignment(tmp_path / "a.yaml", problems=("sigmoid-backward", "conv-output-size"), time_limit=5)
    executor = MovesFilesAwayFirst(ray_backend, [folder])
    banked = Bank(bank)
    with LocalPool(4) as pool:
        report = grade_class(load_assignment(assignment, banked), find_students(folder), bank=banked, pool=pool,
                             executor=executor)
    assert executor.moved == [folder] and not folder.exists()
    sigmoid, conv = report.students[0].problems
    assert not sigmoid.grader_error and not conv.grader_error, (sigmoid.error, conv.error)
    assert conv.score == conv.max_score
    assert sigmoid.score == 0 and sigmoid.tests[0].outcome == "wrong"
    assert {node for node, _ in ray_backend.workers} == {CLUSTER["worker"].node_id}  # never the head (no CPU)

    assert len(executor.jobs) >= 2
    for job in executor.jobs:
        assert job.files and all(isinstance(data, bytes) for data in job.files.values())
        assert set(job.hide) >= {str(bank / "problems"), str(bank / "reference")}
        payload = cloudpickle.dumps(dataclasses.replace(job, hide=[], label=""))  # the label: for messages
        for path in (bank, folder):
            assert str(path).encode() not in payload, f"a job names {path}: {job.label}"


def test_where_jobs_run_decides_whether_cuda_cases_run(monkeypatch):
    """The decision an executor whose children run elsewhere makes (Ray: the cluster's GPUs)."""
    import gc

    from grader.sandbox import devices

    class Executor:
        pass

    monkeypatch.setattr("grader.sandbox.devices.cuda_available", lambda: False)  # this machine: no GPU
    first, second = Executor(), Executor()
    devices.decide_cuda_elsewhere(first, True)
    assert devices.cuda_usable() and devices.devices_here() == ["cpu", "cuda"]
    assert devices.select_devices(["cpu", "cuda"]) == (["cpu", "cuda"], [])
    devices.decide_cuda_elsewhere(second, False)  # the latest open executor counts
    assert not devices.cuda_usable()
    assert devices.select_devices(["cuda"]) == ([], [("cuda", "no CUDA device is available on this machine")])
    devices.decide_cuda_elsewhere(second, None)  # closed
    assert devices.cuda_usable()
    monkeypatch.setenv("GRADER_NO_CUDA", "1")
    assert not devices.cuda_usable()
    monkeypatch.delenv("GRADER_NO_CUDA")
    del first
    gc.collect()  # an executor dropped without closing decides nothing any more
    assert not devices.cuda_usable() and devices.devices_here() == ["cpu"]


def test_a_worker_hides_its_own_nodes_bank_too():
    """Job.hide names the driver's bank folders; a node may hold the bank elsewhere."""
    from grader.classes.ray_executor import hiding_this_nodes_bank
    from grader.problems.locations import private_paths

    job = hiding_this_nodes_bank(_job("cpu"))
    assert set(job.hide) == set(private_paths()) and private_paths()
    job = hiding_this_nodes_bank(dataclasses_replace(_job("cpu"), hide=["/driver/bank/reference"]))
    assert "/driver/bank/reference" in job.hide and set(private_paths()) <= set(job.hide)


# ---------------------------------------------------------------- without Ray

def test_a_workers_template_that_died_is_started_again():
    """The health check each Ray worker makes before a job (run here, in this process)."""
    from grader.classes import ray_executor

    launch, launcher, _ = ray_executor._launcher()
    first = ray_executor._worker_state["server"]
    try:
        assert launcher == "fork server" and first.alive()
        os.kill(first._proc.pid, signal.SIGKILL)  # the template this test started
        first._proc.wait(timeout=30)
        assert not first.alive()
        launch, launcher, _ = ray_executor._launcher()
        second = ray_executor._worker_state["server"]
        assert second is not first and second.alive() and launch == second.launch
    finally:
        ray_executor._worker_state["server"].close()
        ray_executor._worker_state["server"] = None


def test_without_ray_the_option_says_how_to_install_it(tmp_path):
    blocker = tmp_path / "no-ray" / "ray"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('Ray is not installed (test stand-in)')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker.parent), str(ROOT)])}
    folder = write_class(tmp_path / "class", {"good": CORRECT})
    proc = subprocess.run([sys.executable, "-m", "grader", "grade", str(folder), "--assignment",
                           str(write_assignment(tmp_path / "a.yaml")), "--executor", "ray", "--out",
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "pip install 'grader[ray]'" in proc.stderr and "Traceback" not in proc.stderr


def test_ray_address_needs_the_ray_executor(tmp_path, grader_cmd):
    folder = write_class(tmp_path / "class", {"good": CORRECT})
    result = grader_cmd("grade", folder, "--assignment", write_assignment(tmp_path / "a.yaml"),
                        "--ray-address", "auto", "--out", tmp_path / "out")
    assert result.exit_code == 2 and "--ray-address goes with --executor ray" in result.stderr


@pytest.mark.ray
def test_an_address_where_no_cluster_answers_is_a_usage_error(ray_cluster, tmp_path):
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()  # nothing listens there now
    folder = write_class(tmp_path / "class", {"good": CORRECT})
    code, output = _grade_cli([folder, "--assignment", write_assignment(tmp_path / "a.yaml"), "--executor", "ray",
                               "--ray-address", f"127.0.0.1:{port}"], tmp_path / "out")
    assert code == 2 and "no Ray cluster answers there" in output and "Traceback" not in output
