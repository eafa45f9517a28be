"""The course service (issue 15): a real `grader serve` (uvicorn on 127.0.0.1, worker processes) over
SQLite and PostgreSQL, `grader tokens`, and `grader submit` through the real CLI."""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner

from service_helpers import EXAMPLES, Server, free_port, get, post, start_postgres, wait_graded, write_yaml

from grader.cli.main import main

SIGMOID = {"correct": (EXAMPLES / "sigmoid-backward" / "correct.py").read_text(),
           "buggy": (EXAMPLES / "sigmoid-backward" / "buggy.py").read_text(),
           "syntax": "def sigmoid_backward(x, grad_output)\n    return x\n",
           "raises": "def sigmoid_backward(x, grad_output):\n    raise ValueError('not yet')\n"}
CONV = {"correct": (EXAMPLES / "conv-output-size" / "correct.py").read_text(),
        "buggy": (EXAMPLES / "conv-output-size" / "buggy.py").read_text()}
STUDENTS = [f"s{i:02d}" for i in range(110)]  # s60-s109: the 200-submission test's own


def variant(k: int) -> dict[str, str]:
    """The k-th student-like submission: a mix of correct, wrong, broken and crashing code."""
    sig = list(SIGMOID)[k % len(SIGMOID)]
    conv = list(CONV)[(k // len(SIGMOID)) % len(CONV)]
    return {"sigmoid_backward.py": SIGMOID[sig] + f"\n# submission {k}\n", "conv_output_size.py": CONV[conv]}


def run_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout + result.stderr


class Course:
    """A served course: assignments, tokens for STUDENTS, a staff token, the server."""

    def __init__(self, folder: Path, db_url: str, workers: int = 1):
        self.folder, self.db_url = folder, db_url
        self.main = write_yaml(folder / "hw.yaml", """\
            name: hw
            problems: [sigmoid-backward, conv-output-size]
            limits: {time: 20}
            service:
              rate_limit: {submissions: 1000, per_minutes: 60}
            """)
        self.strict = write_yaml(folder / "strict.yaml", """\
            name: strict
            problems: [conv-output-size]
            service:
              rate_limit: {submissions: 2, per_minutes: 30}
              max_upload_kb: 4
              max_files: 3
              hidden_before_deadline: count
            """)
        self.closed = write_yaml(folder / "closed.yaml", """\
            name: closed
            problems: [conv-output-size]
            service:
              deadline: "2020-01-01T00:00:00+00:00"
            """)
        roster = folder / "roster.csv"
        roster.write_text("student,email\n" + "".join(f"{s},{s}@example.org\n" for s in STUDENTS))
        code, output = run_cli("tokens", roster, "--db", db_url, "--out", folder / "tokens.csv")
        assert code == 0, output
        with open(folder / "tokens.csv", newline="") as fh:
            self.tokens = {row["student"]: row["token"] for row in csv.DictReader(fh)}
        code, output = run_cli("tokens", "--staff", "--db", db_url)
        assert code == 0, output
        self.staff = output.split()[0]
        self.server = Server(folder, db_url, [self.main, self.strict, self.closed], workers=workers)
        self.url = self.server.url


@pytest.fixture(scope="module")
def postgres():
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def course(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"course-{request.param}")
    if request.param == "sqlite":
        db_url = f"sqlite:///{folder / 'course.db'}"
    else:
        db_url = request.getfixturevalue("postgres").new_database()
    served = Course(folder, db_url)
    yield served
    served.server.stop()
    log = served.server.log.read_text(errors="replace")
    leaked = [student for student, token in served.tokens.items() if token in log] + (
        ["staff"] if served.staff in log else [])
    assert not leaked, f"tokens written to the server log: {leaked}"


def database(course):
    from grader.service.db import open_database

    return open_database(course.db_url, migrate=False)


def comparable(problem: dict) -> dict:
    """What must be identical between the service and `grader grade` (not timings or the file label)."""
    keep = ("name", "score", "max_score", "status", "output", "outcome", "mistake", "visible", "device")
    return {"problem": problem["problem"], "score": problem["score"], "max_score": problem["max_score"],
            "status": problem["status"], "error": problem["error"], "feedback": problem["feedback"],
            "tests": [{k: t[k] for k in keep} for t in problem["tests"]],
            "skipped": sorted(t["name"] for t in problem["skipped"])}


def grade_and_compare(course, count: int, students: list[str], tmp_path: Path) -> None:
    """`count` submissions from `students`, sent at once: each graded exactly once, as `grader grade` grades them."""
    sent = [(students[k % len(students)], k, variant(k)) for k in range(count)]
    with ThreadPoolExecutor(max_workers=32) as pool:
        replies = list(pool.map(lambda item: post(course.url, course.tokens[item[0]], "hw", item[2]), sent))
    assert [r.status_code for r in replies] == [202] * count, [r.text for r in replies if r.status_code != 202][:3]
    ids = [r.json()["id"] for r in replies]
    assert len(set(ids)) == count
    results = {i: wait_graded(course.url, course.staff, i, timeout=60 + 3 * count) for i in ids}

    from grader.service.db import Job
    from sqlalchemy import select

    with database(course)() as session:
        jobs = session.execute(select(Job).where(Job.submission_id.in_(ids))).scalars().all()
    assert sorted(j.submission_id for j in jobs) == sorted(ids)  # one job each
    assert {(j.state, j.attempts) for j in jobs} == {("done", 1)}  # each leased and recorded once

    classroom = tmp_path / "class"
    for (student, k, files), submission_id in zip(sent, ids):
        folder = classroom / f"{student}-{k}"
        folder.mkdir(parents=True)
        for name, text in files.items():
            (folder / name).write_text(text)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "grader", "grade", str(classroom), "--assignment", str(course.main),
                           "--out", str(out), "--no-report", "--no-progress"], capture_output=True, text=True,
                          timeout=60 + 3 * count)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for (student, k, _), submission_id in zip(sent, ids):
        from grader.service.worker import without_folder

        expected = without_folder(json.loads((out / "students" / f"{student}-{k}.json").read_text()),
                                  str(classroom / f"{student}-{k}"))
        got = results[submission_id]
        assert got["state"] == "graded"
        assert [comparable(p) for p in got["problems"]] == [comparable(p) for p in expected["problems"]]
        assert got["score"] == pytest.approx(expected["score"])


def test_twenty_concurrent_submissions_graded_once_as_grader_grade_grades_them(course, tmp_path):
    grade_and_compare(course, 20, STUDENTS[:10], tmp_path)


@pytest.mark.slow
def test_two_hundred_submissions_from_fifty_students(course, tmp_path):
    grade_and_compare(course, 200, STUDENTS[60:110], tmp_path)  # students no other test uses


@pytest.mark.parametrize("course", ["sqlite"], indirect=True)  # the client: any database
def test_submit_cli_prints_the_grade_and_exits_0_or_1(course, tmp_path, grader_cmd):
    correct = tmp_path / "correct"
    correct.mkdir()
    (correct / "sigmoid_backward.py").write_text(SIGMOID["correct"])
    (correct / "conv_output_size.py").write_text(CONV["correct"])
    env = dict(os.environ, GRADER_TOKEN=course.tokens["s20"], XDG_CONFIG_HOME=str(tmp_path / "config"))
    passed = grader_cmd("submit", "hw", correct, "--server", course.url, env=env)
    assert passed.exit_code == 0, passed.output + passed.stderr
    assert "sigmoid-backward: Sigmoid backward" in passed.output and "PASS  small" in passed.output
    assert "Total: 20 / 20" in passed.output

    buggy = tmp_path / "buggy.py"
    buggy.write_text(SIGMOID["buggy"])
    failed = grader_cmd("submit", "hw", buggy, "--server", course.url, "--json", env=env)
    assert failed.exit_code == 1, failed.output + failed.stderr
    data = json.loads(failed.output)
    assert data["submission_id"] and data["state"] == "graded"
    sigmoid = data["problems"][0]
    assert sigmoid["problem"] == "sigmoid-backward" and sigmoid["status"] == "failed"
    assert sigmoid["tests"][0]["mistake"] == "missing-upstream-gradient"
    check = grader_cmd("check", "sigmoid-backward", buggy, "--json")  # the same shape as grader check --json
    assert set(check.json()) <= set(sigmoid) | {"submission"}
    assert [t["status"] for t in check.json()["tests"] if t["visible"]] == \
        [t["status"] for t in sigmoid["tests"] if t["visible"]]

    again = grader_cmd("submit", "hw", "--id", data["submission_id"], "--server", course.url, "--json", env=env)
    assert again.exit_code == 1 and json.loads(again.output)["submission_id"] == data["submission_id"]


@pytest.mark.parametrize("course", ["sqlite"], indirect=True)  # the client: any database
def test_submit_cli_refusals_exit_4_with_what_to_do(course, tmp_path, grader_cmd):
    code = tmp_path / "conv_output_size.py"
    code.write_text(CONV["correct"])
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "config"))
    env.pop("GRADER_TOKEN", None)

    wrong = grader_cmd("submit", "hw", code, "--server", course.url, "--token", "grt_not-a-token", env=env)
    assert wrong.exit_code == 4 and "did not accept your token" in wrong.stderr and "grader login" in wrong.stderr

    closed = grader_cmd("submit", "closed", code, "--server", course.url, "--token", course.tokens["s21"], env=env)
    assert closed.exit_code == 4 and "closed" in closed.stderr

    unknown = grader_cmd("submit", "hw9", code, "--server", course.url, "--token", course.tokens["s21"], env=env)
    assert unknown.exit_code == 4 and "no assignment 'hw9'" in unknown.stderr

    down = grader_cmd("submit", "hw", code, "--server", f"http://127.0.0.1:{free_port()}",
                      "--token", course.tokens["s21"], env=env)
    assert down.exit_code == 4 and "could not reach the server" in down.stderr

    for _ in range(2):
        ok = grader_cmd("submit", "strict", code, "--server", course.url, "--token", course.tokens["s22"],
                        "--no-wait", env=env)
        assert ok.exit_code == 0, ok.stderr
    limited = grader_cmd("submit", "strict", code, "--server", course.url, "--token", course.tokens["s22"], env=env)
    assert limited.exit_code == 4 and "rate limited" in limited.stderr and "Wait" in limited.stderr

    no_files = grader_cmd("submit", "hw", "--server", course.url, "--token", course.tokens["s21"], env=env)
    assert no_files.exit_code == 2 and "no FILE" in no_files.stderr
    no_token = grader_cmd("submit", "hw", code, "--server", course.url, env=env)
    assert no_token.exit_code == 2 and "grader login" in no_token.stderr


@pytest.mark.parametrize("course", ["sqlite"], indirect=True)  # the client: any database
def test_login_saves_the_token_for_submit(course, tmp_path, grader_cmd):
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "config"))
    env.pop("GRADER_TOKEN", None)
    bad = grader_cmd("login", "--server", course.url, "--token", "grt_wrong", env=env)
    assert bad.exit_code == 4 and not (tmp_path / "config" / "grader" / "credentials.json").exists()
    good = grader_cmd("login", "--server", course.url, "--token", course.tokens["s23"], env=env)
    assert good.exit_code == 0 and "as s23" in good.output
    saved = tmp_path / "config" / "grader" / "credentials.json"
    assert saved.stat().st_mode & 0o077 == 0  # only the user can read it
    code = tmp_path / "conv_output_size.py"
    code.write_text("def conv_output_size(n, f, p=0, s=1):\n    return 0\n")
    result = grader_cmd("submit", "strict", code, env=env)  # server and token from the login
    assert result.exit_code == 1, result.stderr
    assert "hidden test(s)" in result.output  # strict shows only how many hidden tests there are


def test_http_401_404_413_429(course):
    url, alice, bob = course.url, course.tokens["s30"], course.tokens["s31"]
    files = {"conv_output_size.py": CONV["correct"]}
    assert post(url, None, "hw", files).status_code == 401
    assert post(url, "grt_forged", "hw", files).status_code == 401
    assert get(url, "grt_forged", "/api/v1/submissions").status_code == 401
    reply = post(url, alice, "hw", files)
    assert reply.status_code == 202
    mine = reply.json()["id"]
    assert get(url, alice, f"/api/v1/submissions/{mine}").status_code == 200
    assert get(url, bob, f"/api/v1/submissions/{mine}").status_code == 404  # someone else's: as if absent
    assert get(url, bob, f"/api/v1/submissions/{uuid.uuid4()}").status_code == 404
    assert [s["id"] for s in get(url, bob, "/api/v1/submissions").json()] == []
    assert get(url, bob, "/api/v1/staff/gradebook", assignment="hw").status_code == 403
    assert get(url, course.staff, f"/api/v1/submissions/{mine}").status_code == 200

    big = post(url, course.tokens["s32"], "strict", {"conv_output_size.py": "x = 1\n" + "#" * 5000})
    assert big.status_code == 413 and "larger than 4 KB" in big.json()["detail"]
    many = post(url, course.tokens["s32"], "strict", {f"f{i}.py": "x = 1\n" for i in range(4)})
    assert many.status_code == 413 and "too many files" in many.json()["detail"]
    import httpx

    huge = httpx.post(url + "/api/v1/submissions", content=b"x" * (8 << 20),
                      headers={"Authorization": f"Bearer {alice}"}, timeout=60)
    assert huge.status_code == 413
    for body in (b"{", b"[1]", b'{"assignment": "strict", "files": {"a.py": "not base64!"}}', b"[" * 100000):
        malformed = httpx.post(url + "/api/v1/submissions", content=body, timeout=60,
                               headers={"Authorization": f"Bearer {course.tokens['s32']}"})
        assert malformed.status_code == 422, body[:50]
    for name in ("../evil.py", "/etc/passwd", "a/../../b.py", ".hidden.py", "a\\b.py"):
        bad = post(url, course.tokens["s32"], "strict", {name: "x = 1\n"})
        assert bad.status_code == 422, name

    for _ in range(2):
        assert post(url, course.tokens["s33"], "strict", files).status_code == 202
    limited = post(url, course.tokens["s33"], "strict", files)
    assert limited.status_code == 429
    retry = int(limited.headers["Retry-After"])
    assert 0 < retry <= 30 * 60 and "rate limited" in limited.json()["detail"]
    assert post(url, course.tokens["s34"], "strict", files).status_code == 202  # another student is not limited


def test_revoked_token_gets_401(course):
    files = {"conv_output_size.py": CONV["correct"]}
    assert post(course.url, course.tokens["s35"], "hw", files).status_code == 202
    code, output = run_cli("tokens", "--revoke", "s35", "--db", course.db_url)
    assert code == 0 and "revoked 1" in output
    assert post(course.url, course.tokens["s35"], "hw", files).status_code == 401


def test_same_idempotency_key_returns_the_same_submission(course):
    key = str(uuid.uuid4())
    token = course.tokens["s36"]
    first = post(course.url, token, "hw", variant(0), key=key)
    second = post(course.url, token, "hw", variant(1), key=key)  # a retry: the key wins, nothing new is stored
    assert first.status_code == 202 and second.status_code == 200
    assert first.json()["id"] == second.json()["id"] and second.json()["replayed"]
    assert len(get(course.url, token, "/api/v1/submissions").json()) == 1
    other = post(course.url, course.tokens["s37"], "hw", variant(0), key=key)  # keys are per student
    assert other.status_code == 202 and other.json()["id"] != first.json()["id"]


def test_hidden_tests_by_policy_and_staff_views(course):
    token = course.tokens["s38"]
    reply = post(course.url, token, "strict", {"conv_output_size.py": CONV["buggy"]})
    seen = wait_graded(course.url, token, reply.json()["id"])
    problem = seen["problems"][0]
    assert seen["hidden_view"] == "count" and problem["hidden_tests"] > 0
    assert all(t["visible"] for t in problem["tests"])
    full = get(course.url, course.staff, f"/api/v1/submissions/{reply.json()['id']}").json()
    assert len(full["problems"][0]["tests"]) == len(problem["tests"]) + problem["hidden_tests"]

    book = get(course.url, course.staff, "/api/v1/staff/gradebook", assignment="strict")
    assert book.status_code == 200 and book.headers["content-type"].startswith("text/csv")
    rows = {row["student"]: row for row in csv.DictReader(book.text.splitlines())}
    assert float(rows["s38"]["total"]) == pytest.approx(full["score"])
    assert rows["s59"]["total"] == "0"  # no submission: 0
    stats = get(course.url, course.staff, "/api/v1/staff/stats", assignment="strict").json()
    assert stats["problems"][0]["problem"] == "conv-output-size" and stats["problems"][0]["students"] >= 1

    regrade = httpx_post(course.url + "/api/v1/staff/regrade", course.staff, {"assignment": "strict", "student": "s38"})
    assert regrade.status_code == 200 and regrade.json() == {"queued": 1}
    from grader.service.db import Job, Submission
    from sqlalchemy import select

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with database(course)() as session:
            states = session.execute(select(Job.state).join(Submission, Job.submission_id == Submission.id)
                                     .where(Submission.id == reply.json()["id"])).scalars().all()
        if states == ["done", "done"]:
            break
        time.sleep(0.3)
    assert states == ["done", "done"]
    assert httpx_post(course.url + "/api/v1/staff/regrade", token, {"assignment": "strict"}).status_code == 403


def httpx_post(url: str, token: str, body: dict):
    import httpx

    return httpx.post(url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60)


# ---------------------------------------------------------------- the queue: leases and workers

@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'queue.db'}"
    return request.getfixturevalue("postgres").new_database()


def test_stale_completion_is_rejected_and_attempts_counted(db_url):
    from grader.service import queue
    from grader.service.db import Job, Student, Submission, open_database

    sessions = open_database(db_url)
    with sessions.begin() as session:
        student = Student(name="s", created_at=time.time())
        session.add(student)
        session.flush()
        session.add(Submission(id="sub", student_id=student.id, assignment="hw", idempotency_key="k", files=b"{}",
                               n_files=0, size=0, created_at=time.time(), state="queued"))
        session.flush()
        queue.enqueue(session, "sub")
    with sessions.begin() as session:
        first = queue.lease(session, "worker-a", n=5, seconds=0.5)
    with sessions.begin() as session:
        assert queue.lease(session, "worker-b", n=5, seconds=30) == []  # held: nobody else gets it
    time.sleep(0.7)  # worker-a "died": its lease runs out
    with sessions.begin() as session:
        second = queue.lease(session, "worker-b", n=5, seconds=30)
    assert [(l.job_id, l.attempts) for l in first] == [(first[0].job_id, 1)]
    assert [(l.job_id, l.attempts) for l in second] == [(first[0].job_id, 2)]
    with sessions.begin() as session:
        assert queue.complete(session, first[0], '{"by": "a"}', 0, 1) is False  # stale: rejected
    with sessions.begin() as session:
        assert queue.complete(session, second[0], '{"by": "b"}', 1, 1) is True
    with sessions.begin() as session:
        assert queue.complete(session, second[0], '{"by": "b again"}', 1, 1) is False  # recorded once
    with sessions() as session:
        sub = session.get(Submission, "sub")
        job = session.get(Job, first[0].job_id)
        assert (sub.state, sub.result, job.state, job.attempts) == ("graded", '{"by": "b"}', "done", 2)


def test_concurrent_leases_never_share_a_job(db_url):
    from grader.service import queue
    from grader.service.db import Student, Submission, open_database

    sessions = open_database(db_url)
    with sessions.begin() as session:
        student = Student(name="s", created_at=time.time())
        session.add(student)
        session.flush()
        for i in range(60):
            session.add(Submission(id=f"sub{i}", student_id=student.id, assignment="hw", idempotency_key=f"k{i}",
                                   files=b"{}", n_files=0, size=0, created_at=time.time(), state="queued"))
            session.flush()
            queue.enqueue(session, f"sub{i}")

    def grab(worker: int) -> list[int]:
        taken = []
        while True:
            with sessions.begin() as session:
                got = queue.lease(session, f"w{worker}", n=3, seconds=60)
            assert len(got) <= 3
            if not got:
                return taken
            taken += [item.job_id for item in got]

    with ThreadPoolExecutor(max_workers=6) as pool:
        taken = [job for jobs in pool.map(grab, range(6)) for job in jobs]
    assert sorted(taken) == sorted(set(taken)) and len(taken) == 60


def start_worker(folder: Path, db_url: str, assignment: Path, lease_seconds: float) -> subprocess.Popen:
    return subprocess.Popen(["timeout", "-k", "5", "300", sys.executable, "-m", "grader", "serve", "--no-api",
                             "--db", db_url, "--assignment", str(assignment), "--lease-seconds", str(lease_seconds),
                             "--jobs", "2", "--max-idle", "60"],
                            stdout=open(folder / "worker.log", "ab"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def test_a_worker_killed_mid_job_is_replaced_and_the_job_recorded_once(tmp_path):
    from grader.service.db import Job, Submission
    from sqlalchemy import select

    assignment = write_yaml(tmp_path / "slow.yaml", """\
        name: slow
        problems: [conv-output-size]
        limits: {time: 30, load_time: 60}
        """)
    db_url = f"sqlite:///{tmp_path / 'course.db'}"
    roster = tmp_path / "roster.csv"
    roster.write_text("student\nann\n")
    assert run_cli("tokens", roster, "--db", db_url, "--out", tmp_path / "tokens.csv")[0] == 0
    token = (tmp_path / "tokens.csv").read_text().splitlines()[1].split(",")[1]
    server = Server(tmp_path, db_url, [assignment], workers=0)  # the API only: the workers are started below
    workers = []
    try:
        slow = "import time\ntime.sleep(3)  # long enough to be killed in the middle\n" + CONV["correct"]
        submission_id = post(server.url, token, "slow", {"conv_output_size.py": slow}).json()["id"]
        from grader.service.db import open_database

        sessions = open_database(db_url, migrate=False)

        def job() -> Job:
            with sessions() as session:
                return session.execute(select(Job).where(Job.submission_id == submission_id)).scalar_one()

        workers.append(start_worker(tmp_path, db_url, assignment, lease_seconds=3))
        deadline = time.monotonic() + 120
        while job().state != "leased" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert job().state == "leased" and job().attempts == 1
        os.killpg(workers[0].pid, signal.SIGKILL)  # the worker dies holding the lease
        workers[0].wait(timeout=30)
        assert job().state == "leased"  # nobody recorded anything

        workers.append(start_worker(tmp_path, db_url, assignment, lease_seconds=3))
        graded = wait_graded(server.url, token, submission_id, timeout=180)
        assert graded["state"] == "graded" and graded["score"] == graded["max_score"] > 0
        final = job()
        assert (final.state, final.attempts) == ("done", 2)
        with sessions() as session:
            assert len(session.execute(select(Job).where(Job.submission_id == submission_id)).all()) == 1
            assert session.get(Submission, submission_id).state == "graded"
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
                worker.wait(timeout=60)
        server.stop()


def test_the_api_process_never_runs_an_upload(tmp_path):
    """With no worker running, an upload whose import would leave a mark stays queued and leaves none."""
    assignment = write_yaml(tmp_path / "a.yaml", "name: a\nproblems: [conv-output-size]\n")
    db_url = f"sqlite:///{tmp_path / 'course.db'}"
    (tmp_path / "roster.csv").write_text("student\nann\n")
    assert run_cli("tokens", tmp_path / "roster.csv", "--db", db_url, "--out", tmp_path / "tokens.csv")[0] == 0
    token = (tmp_path / "tokens.csv").read_text().splitlines()[1].split(",")[1]
    mark = tmp_path / "imported"
    server = Server(tmp_path, db_url, [assignment], workers=0)
    try:
        source = f"open({str(mark)!r}, 'w').write('ran')\n" + CONV["correct"]
        notebook = json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
            {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": source}]})
        reply = post(server.url, token, "a", {"conv_output_size.py": source, "nb.ipynb": notebook})
        assert reply.status_code == 202
        time.sleep(2)
        assert get(server.url, token, f"/api/v1/submissions/{reply.json()['id']}").json()["state"] == "queued"
        assert not mark.exists()
    finally:
        server.stop()


def test_tokens_command_checks_the_roster(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'c.db'}"
    (tmp_path / "bad.csv").write_text("name,email\nann,a@x\n")
    code, output = run_cli("tokens", tmp_path / "bad.csv", "--db", db_url, "--out", tmp_path / "t.csv")
    assert code == 2 and "no 'student' column" in output
    (tmp_path / "dup.csv").write_text("student\nann\nann\n")
    code, output = run_cli("tokens", tmp_path / "dup.csv", "--db", db_url, "--out", tmp_path / "t.csv")
    assert code == 2 and "listed twice" in output
    (tmp_path / "ok.csv").write_text("student\nann\nbob\n")
    assert run_cli("tokens", tmp_path / "ok.csv", "--db", db_url, "--out", tmp_path / "t1.csv")[0] == 0
    first = (tmp_path / "t1.csv").read_text()
    assert (tmp_path / "t1.csv").stat().st_mode & 0o077 == 0
    code, output = run_cli("tokens", tmp_path / "ok.csv", "--db", db_url, "--out", tmp_path / "t2.csv")
    assert code == 0 and "2 student(s) already had one" in output
    assert run_cli("tokens", tmp_path / "ok.csv", "--db", db_url, "--out", tmp_path / "t3.csv", "--reissue")[0] == 0
    third = (tmp_path / "t3.csv").read_text()
    assert len(third.splitlines()) == 3 and not set(first.splitlines()[1:]) & set(third.splitlines()[1:])

    from grader.service.db import Token, open_database
    from sqlalchemy import select

    with open_database(db_url)() as session:
        digests = session.execute(select(Token.digest)).scalars().all()
    for line in (first + third).splitlines()[1:]:
        assert line.split(",")[1] not in digests  # stored only as a hash
    code, output = run_cli("tokens", "--db", db_url)
    assert code == 2 and "exactly one of" in output


def test_student_view_policies():
    from grader.service.views import student_view, visible_passed

    result = {"score": 2, "max_score": 3, "problems": [{"problem": "p", "score": 2, "max_score": 3, "status": "failed",
              "error": None, "tests": [
                  {"name": "a", "score": 1, "max_score": 1, "status": "passed", "visible": True, "output": ""},
                  {"name": "b", "score": 1, "max_score": 1, "status": "passed", "visible": False, "output": "x"},
                  {"name": "c", "score": 0, "max_score": 1, "status": "failed", "visible": False,
                   "output": "secret input 42", "mistake": "m"}]}]}
    assert student_view(result, "full") == result
    status = student_view(result, "status")["problems"][0]["tests"]
    assert [t["status"] for t in status] == ["passed", "passed", "failed"]
    assert status[2]["output"] == "" and status[2]["mistake"] is None
    count = student_view(result, "count")
    assert count["problems"][0]["hidden_tests"] == 2 and [t["name"] for t in count["problems"][0]["tests"]] == ["a"]
    assert (count["score"], count["max_score"], count["problems"][0]["status"]) == (1, 1, "passed")
    assert visible_passed(result) and visible_passed(count)
