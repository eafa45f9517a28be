"""Quizzes: a YAML file naming problems of the bank (code problems and questions mixed) with
their points, graded from an answers file or taken interactively.

    title: Week 3 quiz
    reveal: true                 # show answers and explanations afterwards (false for exams)
    problems:
      - {id: conv-output-size, points: 4}   # a code problem: answered with a .py path
      - coin-entropy-quiz                   # a question, worth its own points

Library: `load_quiz`, `grade_quiz` -> `QuizResult`, `run_interactive`; the commands that parse,
call these and render are in grader/cli/quiz.py.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from grader.problems.answers import Answer, AnswerError, _clip, code_path
from grader.problems.bank import Bank
from grader.errors import SpecError, UsageError
from grader.kinds import kind_of
from grader.result import QuizResult, ProblemResult, Status, TestResult
from grader.problems.spec import Problem, load_schema, read_yaml, schema_errors

QUIZ_SCHEMA = "quiz.schema.json"
MAX_UNKNOWN_ID_NOTES = 20


@dataclass
class QuizEntry:
    problem: Problem
    points: float


@dataclass
class Quiz:
    name: str
    title: str
    entries: list[QuizEntry]
    reveal: bool = True
    description: str = ""
    path: Path | None = None

    @property
    def ids(self) -> list[str]:
        return [e.problem.id for e in self.entries]


# ---------------------------------------------------------------- loading

def load_quiz(path: Path | str, bank: Bank) -> Quiz:
    """Read and validate a quiz file; every problem must exist in `bank` (SpecError otherwise)."""
    path = Path(path)
    data = read_yaml(path, "quiz")
    if not isinstance(data, dict):
        raise SpecError(f"{path}: a quiz must be a YAML mapping with a 'problems' list")
    errors = schema_errors(data, load_schema(QUIZ_SCHEMA))
    if errors:
        raise SpecError(f"{path}: invalid quiz:\n" + "\n".join(f"  {e}" for e in errors[:10]),
                        "A quiz has a 'problems' list of ids or {id: ..., points: ...}; see docs/questions.md.")
    entries, seen = [], set()
    for i, item in enumerate(data["problems"]):
        item = {"id": item} if isinstance(item, str) else item
        if item["id"] in seen:
            raise SpecError(f"{path}: $.problems[{i}]: '{item['id']}' is listed twice")
        seen.add(item["id"])
        try:
            problem = bank.get(item["id"])
        except UsageError as exc:
            raise SpecError(f"{path}: $.problems[{i}]: {exc.message}", exc.hint) from None
        entries.append(QuizEntry(problem, float(item.get("points", problem.points))))
    return Quiz(name=data.get("name", path.stem), title=data.get("title", path.stem), entries=entries,
                reveal=data.get("reveal", True), description=data.get("description", ""), path=path)


def single_question_quiz(problem: Problem) -> Quiz:
    return Quiz(name=problem.id, title=problem.title, entries=[QuizEntry(problem, problem.points)])


# ---------------------------------------------------------------- grading

def scaled(result: ProblemResult, points: float) -> ProblemResult:
    """`result` with its scores rescaled so that its maximum is `points`."""
    if result.max_score and result.max_score != points:
        factor = points / result.max_score
        for test in result.tests:
            test.score, test.max_score = round(test.score * factor, 6), round(test.max_score * factor, 6)
        result.score = round(result.score * factor, 6)
        result.max_score = points
    return result


def failed_result(problem: Problem, points: float, message: str, outcome: str, source: str | None) -> ProblemResult:
    test = TestResult(name="answer", score=0.0, max_score=points, status=Status.FAILED, output=message, outcome=outcome)
    return ProblemResult.empty(problem, max_score=points, tests=[test], submission=source)


def grade_entry(entry: QuizEntry, raw: Any, *, bank: Bank, seed: int, student: str | None, base: Path | None,
                source: str, reveal: bool, executor=None, limits=None, confine: bool = True) -> ProblemResult:
    """One problem of a quiz: questions from the raw answer, code problems from a .py path.

    With `confine` (an answers file) the path must lie inside `base`; a person typing a path in
    `grader quiz` on their own machine may name any file they can read."""
    from grader.grading import grade
    problem = entry.problem
    kind = kind_of(problem.kind)
    if not kind.answered_in_code:
        result = kind.grade(problem, Answer(raw, source, base), bank=bank, seed=seed, student=student,
                            reveal=reveal, executor=executor, limits=limits)
        return scaled(result, entry.points)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return failed_result(problem, entry.points, f"no file given for the code problem '{problem.id}' "
                             f"(answer it with the path of your .py file)", "missing", source)
    if not isinstance(raw, str):
        return failed_result(problem, entry.points, f"the answer to the code problem '{problem.id}' must be the "
                             f"path of a .py file, not {type(raw).__name__}", "unreadable", source)
    if confine:
        try:
            path = code_path(raw, base)  # inside the answers file's folder only: never the bank, another student
        except AnswerError as exc:
            return failed_result(problem, entry.points, f"{exc}", "unreadable", source)
    else:
        path = Path(raw).expanduser()
        path = base / path if base is not None and not path.is_absolute() else path
    try:
        result = grade(problem.id, path, bank=bank, executor=executor, seed=seed, limits=limits)
    except SpecError:
        raise
    except UsageError as exc:  # the student's file is missing or unreadable: 0 for this problem
        return failed_result(problem, entry.points, exc.message, "unreadable", str(path))
    result.student = student
    return scaled(result, entry.points)


def grade_quiz(quiz: Quiz, answers: dict[str, Any], *, bank: Bank, seed: int, student: str | None = None,
               base: Path | None = None, source: str = "answers", executor=None, limits=None,
               graded: dict[str, ProblemResult] | None = None, confine: bool = True) -> QuizResult:
    """Grade a whole quiz from a mapping problem id -> raw answer (code problems: a .py path).

    `graded` holds results already computed for some answers (feedback given as the quiz went)."""
    graded = graded or {}
    results = [graded.get(e.problem.id) or
               grade_entry(e, answers.get(e.problem.id), bank=bank, seed=seed, student=student, base=base,
                           source=source, reveal=quiz.reveal, executor=executor, limits=limits, confine=confine)
               for e in quiz.entries]
    notes = []
    others = [k for k in answers if k not in quiz.ids]
    for other in others[:MAX_UNKNOWN_ID_NOTES]:
        close = difflib.get_close_matches(other, quiz.ids, n=1)
        notes.append(f"'{_clip(other)}' is not a question of this quiz; its answer was ignored"
                     + (f" (did you mean '{close[0]}'?)" if close else ""))
    if len(others) > MAX_UNKNOWN_ID_NOTES:  # a student's file may hold thousands: say so once
        notes.append(f"... and {len(others) - MAX_UNKNOWN_ID_NOTES} more ids that are not questions of this quiz")
    return QuizResult(quiz=quiz.name, title=quiz.title, score=round(sum(r.score for r in results), 6),
                      max_score=round(sum(e.points for e in quiz.entries), 6), problems=results,
                      seed=seed, student=student, notes=notes)


# ---------------------------------------------------------------- interactive

SKIP_WORDS = {"", "skip", "?"}
QUIT_WORDS = {"quit", "done", "exit", ":q"}


def question_text(entry: QuizEntry, bank: Bank, seed: int, student: str | None) -> list[str]:
    from grader.authoring.show import describe_problem

    problem = entry.problem
    data = describe_problem(problem, seed, student, bank)
    lines = [data["statement"].rstrip(), ""]
    if not kind_of(problem.kind).answered_in_code:
        lines.append(data["question"])
        lines += [f"  {o['label']}) {o['text']}" for o in data.get("options", [])]
        lines.append(f"({data['answer_format']})")
    else:
        lines += [f"Implement: {data['signature']}  (write it with 'grader start {problem.id}')",
                  "(answer with the path of your .py file)"]
    return lines


def typed_answer_error(entry: QuizEntry, text: str, bank: Bank, seed: int) -> str | None:
    """Why an interactively typed answer cannot be used (None when it can)."""
    return kind_of(entry.problem.kind).typed_answer_error(entry.problem, text, bank, seed)


def verdict(result: ProblemResult) -> str:
    """One answer's result in a line or two, for feedback as the quiz goes."""
    score = f"{result.score:g}/{result.max_score:g}"
    if result.score >= result.max_score:
        return f"right ({score})"
    failed = [t for t in result.tests if not t.passed]
    if len(result.tests) > 1 and failed:  # a code problem: how many tests passed, then the first failure
        why = f"{len(result.tests) - len(failed)} of {len(result.tests)} tests passed; {failed[0].name}: {failed[0].output}"
    else:
        why = result.error or (failed[0].output if failed else "")
    return f"not right ({score})" + (f": {why.strip().splitlines()[0]}" if why.strip() else "")


def run_interactive(quiz: Quiz, *, bank: Bank, seed: int, student: str | None,
                    read_line: Callable[[], str], write: Callable[[str], None], echo: bool = False,
                    executor=None, limits=None, feedback_each: bool = False) -> tuple[QuizResult, dict[str, Any]]:
    """Ask the quiz's questions one by one; Enter or 'skip' skips (skipped ones come back),
    'quit' ends. Works on a pipe: end of input ends the quiz. Returns the result and the answers.

    With `feedback_each`, each answer is graded as soon as it is given and the verdict shown
    (with the explanation only where the quiz reveals answers); otherwise all at the end."""
    n = len(quiz.entries)
    write(f"{quiz.title}: {n} question{'s' if n != 1 else ''}, {sum(e.points for e in quiz.entries):g} points"
          + (f" (student {student})" if student else ""))
    write("Press Enter or type 'skip' to skip a question (you come back to it later); type 'quit' to finish.\n")
    answers: dict[str, Any] = {}
    graded: dict[str, ProblemResult] = {}
    pending = list(range(n))
    finished = False
    while pending and not finished:
        skipped = []
        for i in pending:
            entry = quiz.entries[i]
            write(f"[{i + 1}/{n}] {entry.problem.id} ({entry.points:g} points)")
            for line in question_text(entry, bank, seed, student):
                write(line)
            while True:
                line = read_line()
                if line == "":  # end of input
                    finished = True
                    break
                text = line.strip()
                if echo:
                    write(f"> {text}")
                if text.lower() in QUIT_WORDS:
                    finished = True
                    break
                if text.lower() in SKIP_WORDS:
                    skipped.append(i)
                    write("skipped\n")
                    break
                problem_msg = typed_answer_error(entry, text, bank, seed)
                if problem_msg:
                    write(f"{problem_msg}. Try again (Enter skips).")
                    continue
                answers[entry.problem.id] = text
                if feedback_each:
                    graded[entry.problem.id] = grade_entry(
                        entry, text, bank=bank, seed=seed, student=student, base=Path.cwd(), source="interactive",
                        reveal=quiz.reveal, executor=executor, limits=limits, confine=False)
                    write(verdict(graded[entry.problem.id]) + "\n")
                else:
                    write("recorded\n")
                break
            if finished:
                break
        pending = skipped
        if pending and not finished:
            write(f"You skipped {len(pending)} question{'s' if len(pending) != 1 else ''}: back to "
                  f"{'them' if len(pending) != 1 else 'it'} now.\n")
    unanswered = [e.problem.id for e in quiz.entries if e.problem.id not in answers]
    if unanswered:
        write(f"Unanswered: {', '.join(unanswered)} (0 points each).")
    result = grade_quiz(quiz, answers, bank=bank, seed=seed, student=student, base=Path.cwd(),
                        source="interactive", executor=executor, limits=limits, graded=graded, confine=False)
    return result, answers
