"""What `grader validate` prints: a line per problem, then the kill rates and the verdict."""
from __future__ import annotations

from grader.result import ProblemReport, ValidationReport


def _checks_mistakes(report: ProblemReport) -> bool:
    """Code problems are validated against their known mistakes; questions are not."""
    return bool(report.mistakes) or any(check.name == "mistakes" for check in report.checks)


def render_problem_line(report: ProblemReport) -> str:
    if report.ok:
        if _checks_mistakes(report):
            mistakes = f"mistakes {report.killed}/{len(report.mistakes)} killed"
            skipped = [c.message for c in report.checks if c.skipped]
            speed = [f"speed {c.message}" for c in report.checks if c.name == "speed"]
            budget = [c.message for c in report.checks if c.name == "budget" and c.message]
            extra = "".join(f"; {note}" for note in speed + budget + skipped)
            return f"ok    {report.problem:<30} {mistakes}{extra} ({report.seconds:.1f} s)"
        return f"ok    {report.problem:<30} {report.kind}"
    lines = [f"FAIL  {report.problem:<30} {report.path}"]
    for failure in report.failures():
        for i, line in enumerate(failure.splitlines()):
            lines.append(("      - " if i == 0 else "        ") + line)
    return "\n".join(lines)


def render_report(report: ValidationReport) -> str:
    lines = []
    functions = [p for p in report.problems if _checks_mistakes(p)]
    if functions:
        lines.append("Mistake kill rate per problem:")
        for p in functions:
            rate = f"{p.killed}/{len(p.mistakes)}"
            pct = f"{100 * p.killed / len(p.mistakes):.0f}%" if p.mistakes else "-"
            lines.append(f"  {p.problem:<32} {rate:>6}  {pct:>5}")
    bad = [p for p in report.problems if not p.ok]
    if report.mistakes_total:
        lines.append(f"Overall mistake kill rate: {report.mistakes_killed}/{report.mistakes_total} "
                     f"({100 * report.kill_rate:.1f}%) over {len(functions)} problems with known mistakes")
    else:  # nothing to kill: a rate of 0/0 says nothing either way
        lines.append("Overall mistake kill rate: no known mistakes were checked")
    lines.append(f"{len(report.problems) - len(bad)} of {len(report.problems)} problems valid"
                 + (f"; {len(bad)} failed: {', '.join(p.problem for p in bad)}" if bad else "")
                 + f" ({report.seconds:.1f} s)")
    return "\n".join(lines)
