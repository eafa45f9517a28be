"""Terminal rendering of a quiz result: each problem, then the total. A pure function of the record."""
from __future__ import annotations

import click

from grader.render.safe import one_line
from grader.render.text import _escape, _score, render_result


def render_quiz(result, color: bool = False) -> str:
    who = f" (student {one_line(result.student)})" if result.student else ""
    lines = [f"{result.title}{who}", ""]
    for problem in result.problems:
        block = render_result(problem, color=color).splitlines()
        if len(problem.tests) == 1 and problem.tests[0].name == "answer" and problem.tests[0].passed:
            # a question (its one test is the answer): show what a right answer was recorded as, under its PASS line
            block.insert(2 if not problem.error else len(block) - 1, "        " + _escape(problem.tests[0].output))
        lines += block + [""]
    for note in result.notes:
        lines.append(f"Note: {_escape(note)}")
    total = f"Quiz score: {_score(result.score)} / {_score(result.max_score)}"
    lines.append(click.style(total, bold=True) if color else total)
    return "\n".join(lines)
