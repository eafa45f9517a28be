"""The HTTP API (FastAPI): students submit and read their own results; staff export and regrade.

    POST /api/v1/submissions            {"assignment", "files": {name: base64}}, Idempotency-Key header
    GET  /api/v1/submissions[?assignment=]      the caller's own submissions
    GET  /api/v1/submissions/{id}       one submission with its result (404 unless it is the caller's)
    GET  /api/v1/assignments, /api/v1/me, /healthz
    GET  /api/v1/staff/gradebook?assignment=    CSV, one row per student (their latest submission)
    GET  /api/v1/staff/export?assignment=       JSON, every student's latest result in full
    GET  /api/v1/staff/stats?assignment=        per-problem statistics
    POST /api/v1/staff/regrade          {"assignment", "student": optional}

Every request carries `Authorization: Bearer TOKEN` (401 without a valid one). The process stores
uploads as bytes and never imports or runs them; workers grade them in the sandbox.
"""
from __future__ import annotations

import json
import math
import statistics
import time
import uuid

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from grader.service import queue, tokens
from grader.service.course import CourseAssignment
from grader.service.db import Sessions, Student, Submission
from grader.service.uploads import UploadRefused, encode_files, parse_upload
from grader.service.views import student_view

API = "/api/v1"
SMALL_BODY = 16 * 1024  #: the largest body of any request but an upload


def body_limit(course: dict[str, CourseAssignment]) -> int:
    """The largest upload body any assignment allows: base64 grows contents by 4/3, plus names and JSON."""
    return max(math.ceil(c.policy.max_upload_bytes * 4 / 3) + c.policy.max_files * 300 + 4096
               for c in course.values())


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to pass `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise HTTPException(413, f"the request is larger than {limit // 1024} KB")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"the request is larger than {limit // 1024} KB")
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(sessions: Sessions, course: dict[str, CourseAssignment]) -> FastAPI:
    app = FastAPI(title="grader course service", docs_url=None, redoc_url=None, openapi_url=None)
    upload_limit = body_limit(course)

    def session():
        """A read session for one endpoint. Each request holds at most one connection at a time (the
        token is looked up in its own), so concurrent requests cannot exhaust the pool waiting for a second."""
        with sessions() as s:
            yield s

    def caller(request: Request) -> tokens.Caller:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        found = None
        if scheme.lower() == "bearer":
            with sessions() as db:
                found = tokens.authenticate(db, token.strip())
        if found is None:
            raise HTTPException(401, "missing, unknown or revoked token", headers={"WWW-Authenticate": "Bearer"})
        return found

    def staff(who: tokens.Caller = Depends(caller)) -> tokens.Caller:
        if not who.staff:
            raise HTTPException(403, "this needs a staff token")
        return who

    def assignment_named(name: str | None) -> CourseAssignment:
        if not name or name not in course:
            raise HTTPException(404, f"no assignment {str(name)[:100]!r} on this server; "
                                     f"it serves: {', '.join(sorted(course))}")
        return course[name]

    @app.get("/healthz")
    def healthz(db: Session = Depends(session)):
        return {"ok": True, "jobs": queue.counts(db)}

    @app.get(API + "/me")
    def me(who: tokens.Caller = Depends(caller)):
        return {"role": who.role, "student": who.student}

    @app.get(API + "/assignments")
    def assignments(who: tokens.Caller = Depends(caller)):
        now = time.time()
        return [{"name": c.name, "problems": [p.id for p in c.assignment.problems], "max_score": c.assignment.max_score,
                 "deadline": c.policy.deadline, "open": c.policy.open(now),
                 "max_upload_kb": c.policy.max_upload_bytes // 1024, "max_files": c.policy.max_files}
                for c in course.values()]

    @app.post(API + "/submissions")
    async def submit(request: Request, who: tokens.Caller = Depends(caller)):
        if who.staff:
            raise HTTPException(403, "staff tokens cannot submit; use a student's token")
        key = request.headers.get("idempotency-key") or str(uuid.uuid4())
        if len(key) > 100 or not key.isascii() or not key.isprintable():
            raise HTTPException(422, "the Idempotency-Key header must be 1 to 100 printable ASCII characters")
        found = await run_in_threadpool(_replay, who, key)
        if found is not None:
            return JSONResponse(found, status_code=200)
        body = await read_body(request, upload_limit)
        def limits(name: str) -> tuple[int, int]:
            policy = assignment_named(name).policy
            return policy.max_files, policy.max_upload_bytes

        try:
            name, files = parse_upload(body, limits)
        except UploadRefused as exc:
            raise HTTPException(exc.status, exc.message) from None
        entry = course[name]
        data, status, retry_after = await run_in_threadpool(_store, who, key, entry, files)
        headers = {"Retry-After": str(retry_after)} if retry_after else None
        return JSONResponse(data, status_code=status, headers=headers)

    def _replay(who: tokens.Caller, key: str) -> dict | None:
        with sessions() as db:
            found = db.execute(select(Submission).where(Submission.student_id == who.student_id,
                                                        Submission.idempotency_key == key)).scalar_one_or_none()
            return None if found is None else _summary(found, who.student, replayed=True)

    def _store(who: tokens.Caller, key: str, entry: CourseAssignment, files: dict[str, bytes]):
        now = time.time()
        if not entry.policy.open(now):
            return {"detail": f"assignment {entry.name!r} is closed: its deadline has passed"}, 403, None
        try:
            with sessions.begin() as db:
                # the student's row locked (PostgreSQL; SQLite has one writer anyway): their concurrent uploads
                # are counted one after the other, so the limit is exact
                db.execute(select(Student.id).where(Student.id == who.student_id).with_for_update())
                window_start = now - entry.policy.rate_window
                recent = db.execute(select(func.count(), func.min(Submission.created_at)).where(
                    Submission.student_id == who.student_id, Submission.assignment == entry.name,
                    Submission.created_at > window_start)).one()
                if recent[0] >= entry.policy.rate_submissions:
                    wait = max(1, math.ceil(recent[1] + entry.policy.rate_window - now))
                    return ({"detail": f"rate limited: at most {entry.policy.rate_submissions} submissions per "
                                       f"{entry.policy.rate_window / 60:g} minutes; try again in {wait} s",
                             "retry_after": wait}, 429, wait)
                stored = encode_files(files)
                submission = Submission(id=str(uuid.uuid4()), student_id=who.student_id, assignment=entry.name,
                                        idempotency_key=key, files=stored, n_files=len(files),
                                        size=sum(len(v) for v in files.values()), created_at=now, state="queued")
                db.add(submission)
                db.flush()
                queue.enqueue(db, submission.id)
                return _summary(submission, who.student), 202, None
        except IntegrityError:  # the same key sent twice at once: the other request stored it
            found = _replay(who, key)
            if found is None:
                raise
            return found, 200, None

    def _summary(sub: Submission, student: str | None, replayed: bool = False) -> dict:
        data = {"id": sub.id, "assignment": sub.assignment, "student": student, "state": sub.state,
                "created_at": sub.created_at, "files": sub.n_files, "size": sub.size}
        if replayed:
            data["replayed"] = True
        return data

    def own_submission(db: Session, who: tokens.Caller, submission_id: str) -> tuple[Submission, str]:
        row = db.execute(select(Submission, Student.name).join(Student, Submission.student_id == Student.id)
                         .where(Submission.id == submission_id[:64])).first()
        if row is None or (not who.staff and row[0].student_id != who.student_id):
            raise HTTPException(404, "no such submission")  # the same answer for someone else's: ids leak nothing
        return row[0], row[1]

    @app.get(API + "/submissions")
    def list_submissions(assignment: str | None = None, who: tokens.Caller = Depends(caller),
                         db: Session = Depends(session)):
        query = select(Submission).where(Submission.student_id == who.student_id)
        if assignment is not None:
            query = query.where(Submission.assignment == assignment)
        rows = db.execute(query.order_by(Submission.created_at.desc()).limit(200)).scalars()
        return [_summary(sub, who.student) | {"score": sub.score, "max_score": sub.max_score} for sub in rows]

    @app.get(API + "/submissions/{submission_id}")
    def get_submission(submission_id: str, who: tokens.Caller = Depends(caller), db: Session = Depends(session)):
        sub, student = own_submission(db, who, submission_id)
        data = _summary(sub, student)
        data["graded_at"] = sub.graded_at
        if sub.state == "failed":
            data["detail"] = "the grader could not grade this submission; this is not your fault: tell course staff"
        if sub.result is not None:
            result = json.loads(sub.result)
            entry = course.get(sub.assignment)
            view = "full" if who.staff or entry is None else entry.policy.hidden_view()
            data.update(student_view(result, view))
            data["hidden_view"] = view
        return data

    # ------------------------------------------------------------ staff

    def latest(db: Session, entry: CourseAssignment) -> dict[str, Submission | None]:
        """Each student's latest graded submission for the assignment (None: nothing graded yet)."""
        newest = (select(Submission.student_id, func.max(Submission.created_at).label("at"))
                  .where(Submission.assignment == entry.name, Submission.result.is_not(None))
                  .group_by(Submission.student_id).subquery())
        rows = db.execute(select(Submission).join(newest, (Submission.student_id == newest.c.student_id)
                                                  & (Submission.created_at == newest.c.at))
                          .where(Submission.assignment == entry.name, Submission.result.is_not(None))).scalars()
        by_id = {sub.student_id: sub for sub in rows}
        students = db.execute(select(Student).order_by(Student.name)).scalars()
        return {student.name: by_id.get(student.id) for student in students}

    @app.get(API + "/staff/gradebook", response_class=PlainTextResponse)
    def gradebook(assignment: str, who: tokens.Caller = Depends(staff), db: Session = Depends(session)):
        from grader.service.export import class_report
        from grader.render.gradebook import gradebook_csv

        entry = assignment_named(assignment)
        return PlainTextResponse(gradebook_csv(class_report(entry.assignment, latest(db, entry))), media_type="text/csv")

    @app.get(API + "/staff/export")
    def export(assignment: str, who: tokens.Caller = Depends(staff), db: Session = Depends(session)):
        entry = assignment_named(assignment)
        return [{"student": name, "submission": sub.id if sub else None, "created_at": sub.created_at if sub else None,
                 **(json.loads(sub.result) if sub else {"score": 0, "max_score": entry.assignment.max_score,
                                                        "problems": []})}
                for name, sub in latest(db, entry).items()]

    @app.get(API + "/staff/stats")
    def stats(assignment: str, who: tokens.Caller = Depends(staff), db: Session = Depends(session)):
        entry = assignment_named(assignment)
        results = [json.loads(sub.result) for sub in latest(db, entry).values() if sub is not None]
        problems = []
        for index, item in enumerate(entry.assignment.problems):
            scores = [r["problems"][index]["score"] for r in results if len(r.get("problems", [])) > index]
            full = [s for s in scores if s >= item.problem.points - 1e-9]
            problems.append({"problem": item.id, "max_score": item.problem.points, "students": len(scores),
                             "mean": statistics.fmean(scores) if scores else None,
                             "median": statistics.median(scores) if scores else None,
                             "full_marks": len(full)})
        total = db.execute(select(func.count()).where(Submission.assignment == entry.name)).scalar_one()
        return {"assignment": entry.name, "submissions": total, "students_graded": len(results), "problems": problems}

    @app.post(API + "/staff/regrade")
    async def regrade(request: Request, who: tokens.Caller = Depends(staff)):
        try:
            data = json.loads(await read_body(request, SMALL_BODY))
        except ValueError:
            raise HTTPException(422, 'expected {"assignment": NAME, "student": ID (optional)}') from None
        if not isinstance(data, dict) or not isinstance(data.get("student", ""), str):
            raise HTTPException(422, 'expected {"assignment": NAME, "student": ID (optional)}')
        entry = assignment_named(data.get("assignment"))
        return await run_in_threadpool(_regrade, entry, data.get("student"))

    def _regrade(entry: CourseAssignment, student: str | None) -> dict:
        with sessions.begin() as db:
            chosen = latest(db, entry)
            if student is not None:
                if student not in chosen:
                    raise HTTPException(404, f"no student {student[:100]!r}")
                chosen = {student: chosen[student]}
            queued = 0
            for sub in chosen.values():
                if sub is not None:
                    queue.enqueue(db, sub.id)
                    queued += 1
            return {"queued": queued}

    return app
