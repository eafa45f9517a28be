"""Errors the grader reports to people, and the exit statuses they map to.

A student's wrong answer is never an exception: it is a result. Exceptions here are for
things a person must fix before grading can happen (a bad command line, a broken spec, an
unreadable submission folder), and every one says what is wrong and what to do next.
"""
from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Exit statuses of the `grader` command (a contract with course scripts)."""

    OK = 0            #: everything graded passed (or the command succeeded)
    TESTS_FAILED = 1  #: grading worked and at least one test failed
    USAGE_ERROR = 2   #: bad command line, unknown problem, malformed spec or answers file
    INTERNAL_ERROR = 3  #: the grader itself failed; tell course staff
    REFUSED = 4       #: `grader submit`: the server refused the submission or could not be reached


class GraderError(Exception):
    """An error with a message written for a person; shown without a traceback."""

    exit_code = ExitCode.USAGE_ERROR

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n{self.hint}"


class UsageError(GraderError):
    """The command line or a file named on it is wrong."""


class SpecError(GraderError):
    """A problem spec (or quiz / assignment file) is malformed or inconsistent."""


class UnknownProblem(UsageError):
    """No problem with that id in the bank."""


class SandboxUnavailable(UsageError):
    """The sandbox cannot confine student code here well enough to trust a result (see grader.sandbox)."""


class InternalError(GraderError):
    """The grader itself failed: not the student's fault."""

    exit_code = ExitCode.INTERNAL_ERROR


class SubmissionError(GraderError):
    """A student's files cannot be graded as submitted (e.g. a malformed notebook): the student's
    result, with 0 points and this message, not a usage error (exit status 1)."""

    exit_code = ExitCode.TESTS_FAILED
