"""`grader quiz` and `grader check QUIZ.yaml answers.yaml`: read, grade with grader.quiz, print, exit."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import yaml

from grader.errors import ExitCode, UsageError
from grader.grading import resolve_seed
from grader.problems.answers import read_answers_file
from grader.problems.bank import Bank
from grader.quiz import grade_quiz, load_quiz, run_interactive, single_question_quiz
from grader.render.quiz import render_quiz
from grader.result import QuizResult


def _exit_status(result: QuizResult) -> int:
    if result.grader_error:
        return int(ExitCode.INTERNAL_ERROR)
    return int(ExitCode.OK if result.passed else ExitCode.TESTS_FAILED)


def check_quiz_file(ctx, quiz_path: Path, answers_path: Path, seed: int | None, student: str | None,
                    as_json: bool) -> None:
    """`grader check QUIZ.yaml answers.yaml`: grade a whole quiz, print it, exit 0/1 (2: bad files)."""
    bank = Bank(ctx.obj.get("bank") if ctx and ctx.obj else None)
    quiz = load_quiz(quiz_path, bank)
    seed_value = resolve_seed(seed, student)
    answers = read_answers_file(answers_path)
    if not isinstance(answers, dict):
        raise UsageError(f"{answers_path}: a quiz's answers file must map question ids to answers "
                         f"(question-id: answer), one per line")
    result = grade_quiz(quiz, answers, bank=bank, seed=seed_value, student=student,
                        base=Path(answers_path).parent, source=str(answers_path))
    click.echo(json.dumps(result.to_dict(), indent=2) if as_json else render_quiz(result, color=sys.stdout.isatty()))
    sys.exit(_exit_status(result))


def quiz_command(ctx, quiz_arg: str, seed: int | None, student: str | None, as_json: bool,
                 save: Path | None, feedback: str = "end") -> None:
    """`grader quiz QUIZ`: QUIZ is a quiz file or one question id."""
    bank = Bank(ctx.obj.get("bank") if ctx and ctx.obj else None)
    if Path(quiz_arg).is_file():
        quiz = load_quiz(Path(quiz_arg), bank)
    else:
        quiz = single_question_quiz(bank.get(quiz_arg))
    seed_value = resolve_seed(seed, student)
    stdin = sys.stdin
    interactive = stdin.isatty() if hasattr(stdin, "isatty") else False
    out = (lambda text: click.echo(text, err=True)) if as_json else click.echo
    result, answers = run_interactive(quiz, bank=bank, seed=seed_value, student=student, read_line=stdin.readline,
                                      write=out, echo=not interactive, feedback_each=feedback == "each")
    if save:
        Path(save).write_text(yaml.safe_dump(answers, allow_unicode=True, sort_keys=False), encoding="utf-8")
        out(f"Your answers are saved in {save}.")
    click.echo(json.dumps(result.to_dict(), indent=2) if as_json else "\n" + render_quiz(result, color=sys.stdout.isatty()))
    sys.exit(_exit_status(result))
