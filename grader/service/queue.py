"""The database as the grading queue: leases with expiry and fenced completion.

A worker leases up to n jobs at once with one statement: on PostgreSQL the candidate rows are
picked `FOR UPDATE SKIP LOCKED` (two workers never wait for or take the same row); on SQLite the
single conditional UPDATE runs under the database's one writer lock. Each lease has an id and an
expiry; the worker renews it while it grades. A job whose lease expired (its worker died) is
leased again, with `attempts` counting every lease. A completion is accepted only with the
current lease id, so a job may run twice but its result is recorded once. A job leased
`max_attempts` times without completing is marked failed (a submission that kills its worker
every time must not block the queue forever).
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from grader.service.db import Job, Submission

MAX_ATTEMPTS = 3


@dataclass
class Lease:
    job_id: int
    submission_id: str
    lease: str
    attempts: int


def enqueue(session: Session, submission_id: str) -> Job:
    job = Job(submission_id=submission_id, state="queued", attempts=0, created_at=time.time())
    session.add(job)
    return job


def _leasable(now: float, max_attempts: int):
    return or_(Job.state == "queued",
               and_(Job.state == "leased", Job.lease_expires_at < now, Job.attempts < max_attempts))


def lease(session: Session, worker: str, n: int = 1, seconds: float = 60.0,
          max_attempts: int = MAX_ATTEMPTS, assignments: list[str] | None = None) -> list[Lease]:
    """Lease up to `n` jobs (of these `assignments`, if given) for `seconds`; the session's commit makes it count."""
    now = time.time()
    _fail_exhausted(session, now, max_attempts)
    candidates = select(Job.id).where(_leasable(now, max_attempts))
    if assignments is not None:
        candidates = candidates.where(Job.submission_id.in_(
            select(Submission.id).where(Submission.assignment.in_(assignments))))
    candidates = candidates.order_by(Job.id).limit(n)
    if session.get_bind().dialect.name == "postgresql":
        # Lock the rows first, then update exactly those: inside `UPDATE ... WHERE id IN (subquery)` PostgreSQL
        # may run a SKIP LOCKED subquery more than once and take more than n rows (seen: 40 leased for n=4).
        chosen = list(session.execute(candidates.with_for_update(skip_locked=True)).scalars())
        if not chosen:
            return []
        target = Job.id.in_(chosen)
    else:
        target = Job.id.in_(candidates.scalar_subquery())  # one statement: SQLite's single writer makes it atomic
    lease_id = str(uuid.uuid4())
    rows = session.execute(
        update(Job).where(target, _leasable(now, max_attempts))
        .values(state="leased", lease=lease_id, lease_expires_at=now + seconds, worker=worker[:200],
                attempts=Job.attempts + 1)
        .returning(Job.id, Job.submission_id, Job.attempts)
        .execution_options(synchronize_session=False)).all()
    return [Lease(job_id, submission_id, lease_id, attempts) for job_id, submission_id, attempts in rows]


def renew(session: Session, leases: list[Lease], seconds: float) -> int:
    """Push the expiry of leases this worker still holds; returns how many it still holds."""
    held = 0
    for item in leases:
        held += session.execute(update(Job).where(Job.id == item.job_id, Job.lease == item.lease,
                                                  Job.state == "leased")
                                .values(lease_expires_at=time.time() + seconds)
                                .execution_options(synchronize_session=False)).rowcount
    return held


def complete(session: Session, item: Lease, result_json: str, score: float, max_score: float) -> bool:
    """Record a job's result if `item` is still the job's current lease; False (nothing written) if not."""
    now = time.time()
    accepted = session.execute(update(Job).where(Job.id == item.job_id, Job.lease == item.lease,
                                                 Job.state == "leased")
                               .values(state="done", finished_at=now)
                               .execution_options(synchronize_session=False)).rowcount == 1
    if accepted:
        session.execute(update(Submission).where(Submission.id == item.submission_id)
                        .values(state="graded", result=result_json, score=score, max_score=max_score,
                                graded_at=now)
                        .execution_options(synchronize_session=False))
    return accepted


def _fail_exhausted(session: Session, now: float, max_attempts: int) -> None:
    """Jobs whose last allowed lease expired: failed, and their submission too unless already graded."""
    exhausted = select(Job.id, Job.submission_id).where(Job.state == "leased", Job.lease_expires_at < now,
                                                         Job.attempts >= max_attempts)
    found = session.execute(exhausted).all()
    for job_id, submission_id in found:
        session.execute(update(Job).where(Job.id == job_id, Job.state == "leased").values(state="failed", finished_at=now)
                        .execution_options(synchronize_session=False))
        session.execute(update(Submission).where(Submission.id == submission_id, Submission.state == "queued")
                        .values(state="failed", graded_at=now).execution_options(synchronize_session=False))


def counts(session: Session) -> dict[str, int]:
    """Jobs by state (for the health endpoint and benchmarks)."""
    from sqlalchemy import func

    return {state: n for state, n in session.execute(select(Job.state, func.count()).group_by(Job.state)).all()}
