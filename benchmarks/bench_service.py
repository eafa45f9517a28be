"""The course service under load: intake, grading throughput, latency, and the cores a big course needs.

    python benchmarks/bench_service.py                       # SQLite, one worker process
    python benchmarks/bench_service.py --postgres            # PostgreSQL (pgserver) instead
    python benchmarks/bench_service.py --uploads 400 --grade 60 --latency 20

A real `grader serve` on 127.0.0.1 (uvicorn + worker processes), the five card problems
(sigmoid-backward, adam-step, coin-entropy, conv-output-size, attention) in one assignment; each
submission sends five files, correct or with the known mistake (examples/<id>/), carrying a
unique comment so nothing is deduplicated. Four measurements:

1. intake: `--uploads` POSTs from 32 client threads while one worker grades: submissions the one
   API process accepted per second (the clients run on the same machine and share its cores);
2. grading: `--grade` submissions queued with no worker running, then one worker with
   `--jobs` slots: problem-submissions graded per second of wall time (first lease to last result,
   the worker's start-up excluded), and per core;
3. latency: `--latency` submissions sent one at a time at half the measured capacity:
   POST to result seen by a client polling every 0.1 s (median, 95th percentile);
4. the deadline hour of a 50,000-student course (10 problems each, 20% of them in the last hour:
   100,000 problem-submissions in an hour, 27.8 a second): worker cores = 27.8 / per-core rate.
"""
from __future__ import annotations

import argparse
import base64
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = {"sigmoid-backward": "sigmoid_backward.py", "adam-step": "adam_step.py", "coin-entropy": "coin_entropy.py",
            "conv-output-size": "conv_output_size.py", "attention": "attention.py"}
COURSE_RATE = 50_000 * 10 * 0.20 / 3600  # problem-submissions per second in the deadline hour


def files_for(k: int) -> dict[str, str]:
    kind = "correct" if k % 2 == 0 else "buggy"
    return {name: base64.b64encode(((ROOT / "examples" / pid / f"{kind}.py").read_text()
                                    + f"\n# submission {k}\n").encode()).decode() for pid, name in PROBLEMS.items()}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def grader(*args: str, **kwargs) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-m", "grader", *args], env=env, start_new_session=True, **kwargs)


class Course:
    def __init__(self, folder: Path, db_url: str, students: int):
        self.folder, self.db_url = folder, db_url
        self.assignment = folder / "bench.yaml"
        self.assignment.write_text("name: bench\nproblems: [" + ", ".join(PROBLEMS) + "]\nlimits: {time: 20}\n"
                                   "service:\n  rate_limit: {submissions: 100000, per_minutes: 60}\n")
        (folder / "roster.csv").write_text("student\n" + "".join(f"s{i}\n" for i in range(students)))
        grader("tokens", str(folder / "roster.csv"), "--db", db_url, "--out", str(folder / "tokens.csv")).wait()
        self.tokens = [line.split(",")[1] for line in (folder / "tokens.csv").read_text().splitlines()[1:]]
        self.processes: list[subprocess.Popen] = []

    def serve(self, workers: int, jobs: int) -> str:
        port = free_port()
        log = open(self.folder / f"serve-{port}.log", "wb")
        self.processes.append(grader("serve", "--assignment", str(self.assignment), "--db", self.db_url, "--port",
                                     str(port), "--workers", str(workers), "--jobs", str(jobs), stdout=log, stderr=log))
        url = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    return url
            except httpx.TransportError:
                time.sleep(0.2)
        raise SystemExit("the server did not start; see " + str(log.name))

    def worker(self, jobs: int) -> None:
        log = open(self.folder / "worker.log", "ab")
        self.processes.append(grader("serve", "--no-api", "--assignment", str(self.assignment), "--db", self.db_url,
                                     "--jobs", str(jobs), stdout=log, stderr=log))

    def stop(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.processes:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        self.processes = []


def post(client: httpx.Client, url: str, token: str, k: int) -> tuple[int, str]:
    reply = client.post(url + "/api/v1/submissions", json={"assignment": "bench", "files": files_for(k)},
                        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}, timeout=120)
    return reply.status_code, (reply.json().get("id", "") if reply.status_code < 300 else "")


def state(client: httpx.Client, url: str, token: str, submission_id: str) -> str:
    return client.get(f"{url}/api/v1/submissions/{submission_id}", headers={"Authorization": f"Bearer {token}"},
                      timeout=60).json()["state"]


def wait_all(db_url: str, timeout: float = 3600) -> list[tuple[float, float]]:
    """(first lease, graded) per job once every job is done."""
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import select

    from grader.service.db import Job, open_database

    sessions = open_database(db_url, migrate=False)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sessions() as session:
            jobs = session.execute(select(Job)).scalars().all()
        if jobs and all(j.state in ("done", "failed") for j in jobs):
            return [(j.created_at, j.finished_at) for j in jobs]
        time.sleep(0.5)
    raise SystemExit("grading did not finish")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--uploads", type=int, default=300)
    parser.add_argument("--grade", type=int, default=40, help="submissions for the grading throughput")
    parser.add_argument("--latency", type=int, default=15)
    parser.add_argument("--jobs", type=int, default=2 * (os.cpu_count() or 1), help="a worker's grading slots")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL via pgserver instead of SQLite")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    print(f"machine: {cores} cores, load average {os.getloadavg()[0]:.1f}; database: "
          f"{'PostgreSQL' if args.postgres else 'SQLite'}")

    def new_course(name: str) -> Course:
        folder = Path(tempfile.mkdtemp(prefix=f"bench-service-{name}-"))
        if args.postgres:
            import pgserver

            server = pgserver.get_server(folder / "pg", cleanup_mode="stop")
            database = "b_" + uuid.uuid4().hex[:8]
            server.psql(f"CREATE DATABASE {database};")
            uri = server.get_uri()
            before, _, query = uri.partition("?")
            url = before.rsplit("/", 1)[0] + "/" + database + "?" + query
        else:
            url = f"sqlite:///{folder / 'course.db'}"
        return Course(folder, url, students=50)

    # 1. intake while a worker grades
    course = new_course("intake")
    try:
        url = course.serve(workers=1, jobs=args.jobs)
        with httpx.Client() as client:
            post(client, url, course.tokens[0], -1)  # warm up the connection path
            start = time.monotonic()
            with ThreadPoolExecutor(max_workers=32) as pool:
                codes = list(pool.map(lambda k: post(client, url, course.tokens[k % 50], k)[0], range(args.uploads)))
            intake = args.uploads / (time.monotonic() - start)
        print(f"1. intake: {args.uploads} uploads ({len(PROBLEMS)} files each), {codes.count(202)} accepted, "
              f"{intake:.0f} submissions/s accepted by one API process while a worker graded")
    finally:
        course.stop()

    # 2. grading throughput of one worker
    course = new_course("grade")
    try:
        url = course.serve(workers=0, jobs=args.jobs)
        with httpx.Client() as client:
            for k in range(args.grade):
                post(client, url, course.tokens[k % 50], k)
        course.worker(args.jobs)
        wait_all(course.db_url)
        from sqlalchemy import func, select

        from grader.service.db import Submission, open_database

        with open_database(course.db_url, migrate=False)() as session:
            done = session.execute(select(Submission.graded_at, Submission.score, Submission.max_score)
                                   .order_by(Submission.graded_at)).all()
        full = sum(1 for _, score, top in done if score is not None and abs(score - top) < 1e-9)
        if full != (args.grade + 1) // 2 or len(done) != args.grade:  # the correct half, and only it, gets full marks
            raise SystemExit(f"wrong grades: {full} full marks of {len(done)} graded, expected {(args.grade + 1) // 2}")
        # the first results arrive after the worker's start-up: count what was graded after the first result
        first_at = done[0][0]
        after_first = sum(1 for at, _, _ in done if at > first_at)
        rate = after_first * len(PROBLEMS) / max(done[-1][0] - first_at, 1e-9)
        print(f"2. grading: {args.grade} submissions x {len(PROBLEMS)} problems, one worker with {args.jobs} slots: "
              f"{rate:.1f} problem-submissions/s, {rate / cores:.2f} per core (grades checked: {full} full marks)")
    finally:
        course.stop()

    # 3. latency below capacity
    course = new_course("latency")
    try:
        url = course.serve(workers=1, jobs=args.jobs)
        gap = 2 * len(PROBLEMS) / rate  # arrivals at half the capacity
        latencies = []
        with httpx.Client() as client:
            _, warm = post(client, url, course.tokens[0], 0)
            while state(client, url, course.tokens[0], warm) not in ("graded", "failed"):
                time.sleep(0.2)
            pending: list[tuple[float, str, str]] = []
            lock = threading.Lock()

            def watch(sent_at: float, token: str, submission_id: str) -> None:
                with httpx.Client() as own:
                    while state(own, url, token, submission_id) not in ("graded", "failed"):
                        time.sleep(0.1)
                with lock:
                    latencies.append(time.monotonic() - sent_at)

            threads = []
            for k in range(1, args.latency + 1):
                token = course.tokens[k % 50]
                sent_at = time.monotonic()
                _, submission_id = post(client, url, token, k)
                thread = threading.Thread(target=watch, args=(sent_at, token, submission_id))
                thread.start()
                threads.append(thread)
                time.sleep(gap)
            for thread in threads:
                thread.join()
        latencies.sort()
        p95 = latencies[min(len(latencies) - 1, math.ceil(0.95 * len(latencies)) - 1)]
        print(f"3. latency: {args.latency} submissions, one every {gap:.1f} s (half the capacity): "
              f"median {statistics.median(latencies):.2f} s, 95th percentile {p95:.2f} s, submit to result")
    finally:
        course.stop()

    per_core = rate / cores
    print(f"4. a 50,000-student course's deadline hour: {COURSE_RATE:.1f} submissions/s of one problem each "
          f"needs {COURSE_RATE / per_core:.0f} worker cores at {per_core:.2f} problem-submissions/s per core, and "
          f"{math.ceil(COURSE_RATE / intake)} API process(es) at {intake:.0f} uploads/s each")

if __name__ == "__main__":
    main()
