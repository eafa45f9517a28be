"""Bearer tokens: random (secrets), shown once, stored only as a SHA-256 digest, revocable.

A token is 256 random bits, so a plain digest is enough (nothing to brute-force, unlike a
password). Nothing here logs a token; the API compares digests.
"""
from __future__ import annotations

import csv
import hashlib
import io
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from grader.errors import UsageError
from grader.service.db import Student, Token

PREFIX = "grt_"  #: makes a leaked token easy to recognise (and to search for in logs and repositories)
MAX_STUDENT_ID = 200


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


@dataclass
class Caller:
    """Who sent a request: a student (with their id) or staff."""

    role: str
    student_id: int | None = None
    student: str | None = None

    @property
    def staff(self) -> bool:
        return self.role == "staff"


def authenticate(session: Session, token: str | None) -> Caller | None:
    """The caller a token belongs to, or None for a missing, unknown or revoked token."""
    if not token or len(token) > 200:
        return None
    row = session.execute(select(Token, Student.name).outerjoin(Student, Token.student_id == Student.id)
                          .where(Token.digest == digest(token), Token.revoked_at.is_(None))).first()
    if row is None:
        return None
    found, name = row
    return Caller(found.role, found.student_id, name)


def check_student_id(student: str, where: str) -> str:
    """A roster id: printable, no path characters, at most 200 characters (it names files in exports)."""
    if (not student or len(student) > MAX_STUDENT_ID or not student.isprintable() or student != student.strip()
            or any(c in student for c in "/\\") or student in (".", "..")):
        raise UsageError(f"{where}: student id {student[:80]!r} is not allowed",
                         "A student id is 1 to 200 printable characters, without '/', '\\' or surrounding spaces.")
    return student


def read_roster(path: Path) -> list[str]:
    """The `student` column of a roster CSV, checked (duplicates and empty rows refused)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such roster file", "Give a CSV file with a 'student' column.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: could not be read as UTF-8 text ({exc})") from None
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "student" not in [f.strip() for f in reader.fieldnames]:
        raise UsageError(f"{path}: no 'student' column", "The first line of the roster names its columns, "
                         "one of them 'student' (e.g. 'student,email').")
    column = next(f for f in reader.fieldnames if f.strip() == "student")
    students, seen = [], set()
    for line, row in enumerate(reader, start=2):
        student = (row.get(column) or "").strip()
        if not student:
            continue
        check_student_id(student, f"{path}, line {line}")
        if student in seen:
            raise UsageError(f"{path}, line {line}: student {student!r} is listed twice")
        seen.add(student)
        students.append(student)
    if not students:
        raise UsageError(f"{path}: the roster lists no students")
    return students


def issue_student_tokens(session: Session, students: list[str], reissue: bool = False) -> tuple[dict[str, str], list[str]]:
    """A new token for each student who has no active one (for everyone with `reissue`, revoking the old).
    Returns ({student: token} issued, [students who kept their token])."""
    issued, kept = {}, []
    now = time.time()
    for name in students:
        student = session.execute(select(Student).where(Student.name == name)).scalar_one_or_none()
        if student is None:
            student = Student(name=name, created_at=now)
            session.add(student)
            session.flush()
        active = select(Token).where(Token.student_id == student.id, Token.revoked_at.is_(None))
        if session.execute(active).first() is not None:
            if not reissue:
                kept.append(name)
                continue
            session.execute(update(Token).where(Token.student_id == student.id, Token.revoked_at.is_(None))
                            .values(revoked_at=now))
        token = new_token()
        session.add(Token(digest=digest(token), role="student", student_id=student.id, created_at=now))
        issued[name] = token
    return issued, kept


def issue_staff_token(session: Session) -> str:
    token = new_token()
    session.add(Token(digest=digest(token), role="staff", student_id=None, created_at=time.time()))
    return token


def revoke_student(session: Session, student: str) -> int:
    """Revoke every active token of a student; returns how many."""
    found = session.execute(select(Student).where(Student.name == student)).scalar_one_or_none()
    if found is None:
        raise UsageError(f"no student {student!r} in this database", "Check the id against the roster.")
    return session.execute(update(Token).where(Token.student_id == found.id, Token.revoked_at.is_(None))
                           .values(revoked_at=time.time())).rowcount


def revoke_staff(session: Session) -> int:
    return session.execute(update(Token).where(Token.role == "staff", Token.revoked_at.is_(None))
                           .values(revoked_at=time.time())).rowcount


def write_tokens_csv(path: Path, issued: dict[str, str]) -> None:
    """`student,token` rows, readable only by the owner (the file holds secrets)."""
    import os

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", "token"])
    for student, token in issued.items():
        writer.writerow([student, token])
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(out.getvalue())
