"""Terminal rendering of results and problems, for students."""
from __future__ import annotations

import click

from grader.result import ProblemResult, TestResult
from grader.render.safe import one_line, printable


def _score(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".") if x != int(x) else f"{int(x)}"


def _escape(text: str) -> str:
    """Control characters, direction overrides and lone surrogates from student output shown
    escaped, never interpreted by the terminal (and never a UnicodeEncodeError on the way)."""
    return printable(text)


def test_line(test: TestResult, width: int, color: bool) -> list[str]:
    mark = "PASS" if test.passed else "FAIL"
    if color:
        mark = click.style(mark, fg="green" if test.passed else "red", bold=True)
    hidden = " (hidden)" if not test.visible else ""
    lines = [f"  {mark}  {test.name.ljust(width)}  {_score(test.score):>5}/{_score(test.max_score):<5}{hidden}"]
    if test.output and (not test.passed or test.timing or test.metric):  # speed and training tests show their measures
        lines += ["        " + line for line in _escape(test.output).splitlines()]
    return lines


def render_result(result: ProblemResult, color: bool = False, show_output: bool = True) -> str:
    """A table of tests with scores and feedback, then the total."""
    lines = [f"{result.problem}: {result.title}" + (f"  [{one_line(result.submission)}]" if result.submission else "")]
    if result.error:
        lines += ["  " + line for line in _escape(result.error).splitlines()]
    ran, skipped = result.tests, result.skipped
    width = max((len(t.name) for t in ran), default=4)
    if not result.error:
        for test in ran:
            lines += test_line(test, width, color)
    for device in sorted({t.device or "?" for t in skipped}):
        on = [t for t in skipped if (t.device or "?") == device]
        mark = click.style("SKIP", fg="yellow", bold=True) if color else "SKIP"
        reason = one_line(on[0].output.removeprefix("skipped: "))
        lines.append(f"  {mark}  {len(on)} case(s) on {device}: {reason}")
    for note in result.feedback:
        lines += ["  " + line for line in _escape(note).splitlines()]
    if show_output and (result.stdout or result.stderr):
        for label, text in (("stdout", result.stdout), ("stderr", result.stderr)):
            if text.strip():
                lines.append(f"  your code printed ({label}):")
                lines += ["    | " + line for line in _escape(text).splitlines()[:20]]
    if result.graded_at_submission:
        lines.append("  " + result.graded_at_submission["note"])
    if result.grader_error:
        lines.append("  The grader ran into an error: this is not your fault; tell course staff.")
    total = f"Score: {_score(result.score)} / {_score(result.max_score)}"
    if color:
        total = click.style(total, bold=True)
    lines.append(total)
    return "\n".join(lines)
