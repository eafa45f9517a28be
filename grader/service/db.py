"""The service's tables (SQLAlchemy 2) and how to open the database.

One schema for SQLite (the default: one file, nothing to install) and PostgreSQL (production).
Times are epoch seconds (floats), which both store and compare the same way. The schema itself
is created and upgraded by the Alembic migrations in grader/service/migrations (see `upgrade`).
"""
from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import (Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint, create_engine,
                        event)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


class Base(DeclarativeBase):
    pass


class Student(Base):
    __tablename__ = "students"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[float] = mapped_column(Float, default=time.time)


class Token(Base):
    """A bearer token, stored only as its SHA-256 (the token itself is shown once, when issued)."""

    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))  #: student or staff
    student_id: Mapped[int | None] = mapped_column(ForeignKey("students.id"), nullable=True, index=True)
    created_at: Mapped[float] = mapped_column(Float, default=time.time)
    revoked_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class Submission(Base):
    """One upload: its files (JSON of name -> base64, never imported here) and its latest result."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("student_id", "idempotency_key", name="uq_submission_idempotency"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    assignment: Mapped[str] = mapped_column(String(200), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(100))
    files: Mapped[bytes] = mapped_column(LargeBinary)
    n_files: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[float] = mapped_column(Float, default=time.time, index=True)
    state: Mapped[str] = mapped_column(String(16), default="queued")  #: queued, graded, failed
    result: Mapped[str | None] = mapped_column(Text, nullable=True)  #: JSON: the student's problems
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    graded_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class Job(Base):
    """One grading of a submission (a regrade is another job). The queue: see grader.service.queue."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)  #: queued, leased, done, failed
    lease: Mapped[str | None] = mapped_column(String(36), nullable=True)  #: the current holder's lease id
    lease_expires_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    worker: Mapped[str | None] = mapped_column(String(200), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[float] = mapped_column(Float, default=time.time)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)


def normalise_url(url: str) -> str:
    """`sqlite:///course.db` as given; a bare path means a SQLite file; postgresql:// uses psycopg 3."""
    if "://" not in url:
        return f"sqlite:///{Path(url).resolve()}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str) -> Engine:
    """An engine for `url`. SQLite gets WAL, a busy timeout and BEGIN IMMEDIATE (writers queue
    instead of failing with 'database is locked' when the API and workers write at once)."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False}, pool_size=20,
                               max_overflow=30, pool_timeout=120)

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection, _record):
            dbapi_connection.isolation_level = None  # transactions begin below, as IMMEDIATE
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection):
            # a writer takes the write lock up front (a reader upgrading later could fail at once); readers never block
            immediate = connection.get_execution_options().get("sqlite_immediate")
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    # the API serves up to 40 requests at once (its thread pool), each holding one connection at most
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=40, pool_timeout=120)


def upgrade(engine: Engine) -> None:
    """Create or upgrade the tables to the newest migration (Alembic)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.execution_options(sqlite_immediate=True).begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class Sessions:
    """Sessions of one database: `sessions()` to read, `with sessions.begin() as s:` to write (committed at
    the end of the block; on SQLite it holds the write lock from its first statement)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._read = sessionmaker(engine, expire_on_commit=False)
        self._write = sessionmaker(engine.execution_options(sqlite_immediate=True), expire_on_commit=False)

    def __call__(self) -> Session:
        return self._read()

    def begin(self):
        return self._write.begin()


def open_database(url: str, migrate: bool = True) -> Sessions:
    """Sessions of the database at `url`, with the schema upgraded first (unless `migrate` is False)."""
    engine = make_engine(url)
    if migrate:
        upgrade(engine)
    return Sessions(engine)
