"""`grader serve --executor ray` (issue 16: the course service's workers on a Ray cluster) and
`grader serve --allow-weak-sandbox`, through the real CLI: a real server on 127.0.0.1 over SQLite,
submissions sent with `grader submit`, results compared with `grader grade` on the same files."""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select

from service_helpers import Server, post, wait_graded, write_yaml
from test_ray_executor import differences
from test_service import CONV, SIGMOID, comparable, run_cli

ROOT = Path(__file__).resolve().parent.parent
CONTAINER = [sys.executable, str(ROOT / "tests" / "adversarial" / "container.py")]
NO_RAY = "Ray is not installed: pip install 'grader[ray]'"

#: (student, sigmoid-backward variant, conv-output-size variant): right, wrong, broken and crashing code
SUBMISSIONS = [("ann", "correct", "correct"), ("ben", "buggy", "correct"), ("cat", "syntax", "buggy"),
               ("dan", "raises", "buggy")]


def course_files(folder: Path, students: list[str]) -> tuple[Path, dict[str, str], str]:
    """An assignment, tokens for `students` and a staff token: (assignment, tokens, staff token)."""
    assignment = write_yaml(folder / "hw.yaml", """\
        name: hw
        problems: [sigmoid-backward, conv-output-size]
        limits: {time: 20}
        """)
    db_url = f"sqlite:///{folder / 'course.db'}"
    roster = folder / "roster.csv"
    roster.write_text("student\n" + "".join(f"{s}\n" for s in students))
    code, output = run_cli("tokens", roster, "--db", db_url, "--out", folder / "tokens.csv")
    assert code == 0, output
    tokens = dict(line.split(",") for line in (folder / "tokens.csv").read_text().splitlines()[1:])
    code, output = run_cli("tokens", "--staff", "--db", db_url)
    assert code == 0, output
    return assignment, tokens, output.split()[0]


def write_submission(folder: Path, sigmoid: str, conv: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "sigmoid_backward.py").write_text(SIGMOID[sigmoid])
    (folder / "conv_output_size.py").write_text(CONV[conv])
    return folder


def grade_cli(classroom: Path, assignment: Path, out: Path, *extra: str) -> dict[str, dict]:
    """`grader grade` on a class folder: each student's record."""
    proc = subprocess.run([sys.executable, "-m", "grader", "grade", str(classroom), "--assignment", str(assignment),
                           "--out", str(out), "--no-report", "--no-progress", *extra],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {p.stem: json.loads(p.read_text()) for p in (out / "students").iterdir()}


@pytest.fixture(scope="module")
def ray_cluster_address():
    """A Ray cluster of this test's own (a head with 2 CPUs, in processes this test started): its address."""
    pytest.importorskip("ray", reason=NO_RAY)
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2, "include_dashboard": False})
    try:
        yield cluster.address
    finally:
        cluster.shutdown()


@pytest.mark.ray
@pytest.mark.slow
def test_serve_on_ray_grades_each_submission_once_as_grader_grade(ray_cluster_address, tmp_path):
    from grader.service.db import Job, open_database

    assignment, tokens, staff = course_files(tmp_path, [s for s, _, _ in SUBMISSIONS])
    db_url = f"sqlite:///{tmp_path / 'course.db'}"
    classroom = tmp_path / "class"
    folders = {student: write_submission(classroom / student, sig, conv) for student, sig, conv in SUBMISSIONS}
    server = Server(tmp_path, db_url, [assignment], workers=1, jobs=4,
                    extra=["--executor", "ray", "--ray-address", ray_cluster_address])
    try:
        def submit(student: str) -> subprocess.CompletedProcess:
            env = dict(os.environ, GRADER_TOKEN=tokens[student], XDG_CONFIG_HOME=str(tmp_path / "config"))
            return subprocess.run([sys.executable, "-m", "grader", "submit", "hw", str(folders[student]),
                                   "--server", server.url, "--json", "--timeout", "400"],
                                  capture_output=True, text=True, timeout=500, env=env)

        with ThreadPoolExecutor(len(SUBMISSIONS)) as threads:
            sent = dict(zip(folders, threads.map(submit, folders)))
        for student, proc in sent.items():
            assert proc.returncode == (0 if student == "ann" else 1), f"{student}: {proc.stdout}{proc.stderr}"
        # the staff view: every test's output (the student's leaves out hidden tests' details)
        served = {student: wait_graded(server.url, staff, json.loads(proc.stdout)["submission_id"])
                  for student, proc in sent.items()}
    finally:
        server.stop()
    log = server.log.read_text(errors="replace")

    # the worker graded on the Ray cluster, each child job once: 2 problems x 4 students, less cat's
    # sigmoid_backward.py, whose syntax error is found before any child runs
    assert f"on the Ray cluster at {ray_cluster_address}" in log, log[-3000:]
    ray_jobs = re.search(r"on Ray: (\d+) job\(s\), (\d+) attempt\(s\)", log)
    assert ray_jobs and int(ray_jobs[1]) == int(ray_jobs[2]) == 2 * len(SUBMISSIONS) - 1, log[-3000:]
    with open_database(db_url, migrate=False)() as session:
        jobs = session.execute(select(Job)).scalars().all()
    assert sorted(j.submission_id for j in jobs) == sorted(json.loads(p.stdout)["submission_id"] for p in sent.values())
    assert {(j.state, j.attempts) for j in jobs} == {("done", 1)}

    # identical to `grader grade` on the same files, on this machine's fork server
    from grader.service.worker import without_folder

    graded = grade_cli(classroom, assignment, tmp_path / "out")
    for student, data in served.items():
        expected = without_folder(graded[student], str(folders[student]))
        found = differences([comparable(p) for p in data["problems"]], [comparable(p) for p in expected["problems"]])
        assert not found, f"{student}: " + "\n".join(found)
    assert served["ann"]["problems"][0]["score"] == served["ann"]["problems"][0]["max_score"]
    assert served["ben"]["problems"][0]["tests"][0]["mistake"] == "missing-upstream-gradient"


def test_serve_with_ray_but_without_ray_installed_says_how_to_install_it(tmp_path):
    blocker = tmp_path / "no-ray" / "ray"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('Ray is not installed (test stand-in)')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker.parent), str(ROOT)])}
    assignment = write_yaml(tmp_path / "hw.yaml", "name: hw\nproblems: [conv-output-size]\n")
    proc = subprocess.run([sys.executable, "-m", "grader", "serve", "--assignment", str(assignment),
                           "--db", f"sqlite:///{tmp_path / 'course.db'}", "--executor", "ray"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "pip install 'grader[ray]'" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "course.db").exists()  # refused before anything started


@pytest.mark.parametrize("args, message", [
    (["--ray-address", "auto"], "--ray-address goes with --executor ray"),
    (["--executor", "ray", "--workers", "2"], "would start a Ray instance in each of the 2 worker processes"),
])
def test_serve_executor_usage_errors(tmp_path, args, message):
    assignment = write_yaml(tmp_path / "hw.yaml", "name: hw\nproblems: [conv-output-size]\n")
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    proc = subprocess.run([sys.executable, "-m", "grader", "serve", "--assignment", str(assignment),
                           "--db", f"sqlite:///{tmp_path / 'course.db'}", *args],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


# ---------------------------------------------------------------- --allow-weak-sandbox

def test_serve_without_namespaces_refuses_unless_weak_sandbox_is_allowed(tmp_path):
    """In a container-like process (tests/adversarial/container.py: no namespaces), `grader serve`
    refuses at start (not in workers restarted forever) and names the flag."""
    assignment = write_yaml(tmp_path / "hw.yaml", "name: hw\nproblems: [conv-output-size]\n")
    env = {k: v for k, v in os.environ.items() if k != "GRADER_SANDBOX"}
    proc = subprocess.run([*CONTAINER, sys.executable, "-m", "grader", "serve", "--assignment", str(assignment),
                           "--db", f"sqlite:///{tmp_path / 'course.db'}"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "--allow-weak-sandbox" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_serve_with_weak_sandbox_allowed_grades_and_marks_every_result(tmp_path):
    bank = tmp_path / "bank"  # private (pytest's tmp_path is 0700): weak confinement as root needs that
    for part in ("problems", "reference"):
        shutil.copytree(ROOT / part, bank / part, ignore=shutil.ignore_patterns("__pycache__"))
    env = {k: v for k, v in os.environ.items() if k != "GRADER_SANDBOX"}
    env["GRADER_BANK"] = str(bank)
    assignment, tokens, staff = course_files(tmp_path, ["ann", "ben"])
    db_url = f"sqlite:///{tmp_path / 'course.db'}"
    server = Server(tmp_path, db_url, [assignment], workers=1, jobs=2, extra=["--allow-weak-sandbox"], env=env,
                    wrapper=CONTAINER)
    try:
        right = post(server.url, tokens["ann"], "hw", {"sigmoid_backward.py": SIGMOID["correct"],
                                                       "conv_output_size.py": CONV["correct"]})
        wrong = post(server.url, tokens["ben"], "hw", {"sigmoid_backward.py": SIGMOID["buggy"],
                                                       "conv_output_size.py": CONV["correct"]})
        assert right.status_code == wrong.status_code == 202, right.text + wrong.text
        right, wrong = (wait_graded(server.url, staff, r.json()["id"]) for r in (right, wrong))
    finally:
        server.stop()
    assert right["state"] == wrong["state"] == "graded", server.log.read_text()[-3000:]
    assert {p["sandbox"] for p in right["problems"] + wrong["problems"]} == {"weak"}
    assert right["score"] == right["max_score"]
    assert wrong["problems"][0]["score"] < wrong["problems"][0]["max_score"]
    assert wrong["problems"][0]["tests"][0]["mistake"] == "missing-upstream-gradient"


def test_serve_with_ray_address_auto_resolves_it_before_starting(tmp_path):
    """`--ray-address auto` is resolved as Ray resolves it ($RAY_ADDRESS first): an address where no
    cluster answers stops `grader serve` at start with exit 2, rather than in workers restarted
    every 2 s."""
    pytest.importorskip("ray", reason="needs Ray: pip install -e '.[ray]'")
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()  # nothing listens there now
    assignment = write_yaml(tmp_path / "hw.yaml", "name: hw\nproblems: [conv-output-size]\n")
    env = {**os.environ, "RAY_ADDRESS": f"127.0.0.1:{port}"}
    proc = subprocess.run([sys.executable, "-m", "grader", "serve", "--assignment", str(assignment),
                           "--db", f"sqlite:///{tmp_path / 'course.db'}", "--executor", "ray",
                           "--ray-address", "auto"], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"--ray-address auto (" in proc.stderr and f":{port}): no Ray cluster answers there" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "course.db").exists()


def test_ray_address_auto_with_no_cluster_anywhere_is_a_usage_error(monkeypatch):
    """Where Ray finds no cluster for "auto", the check says so and how to start one."""
    services = pytest.importorskip("ray._private.services", reason="needs Ray: pip install -e '.[ray]'")
    from grader.classes.pool import check_executor
    from grader.errors import UsageError

    def no_cluster(address, temp_dir=None):
        raise ConnectionError("Could not find any running Ray instance.")

    monkeypatch.setattr(services, "canonicalize_bootstrap_address", no_cluster)
    with pytest.raises(UsageError) as caught:
        check_executor("ray", "auto")
    assert "no Ray cluster is running on this machine" in str(caught.value)
    assert "ray start --head" in caught.value.hint
