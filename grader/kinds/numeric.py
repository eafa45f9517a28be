"""Kind `numeric`: a question whose answer is a number computed from per-student parameters.

The correct answer and the known wrong answers are trusted functions under reference/ called
with the parameters; the student's typed answer is parsed (grader.problems.answers.parse_number) and
compared with the problem's tolerance. A wrong answer that matches a known wrong answer gets
that mistake's feedback. See docs/questions.md.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import math
from dataclasses import dataclass, field

from grader.problems.answers import Answer, AnswerError, parse_number
from grader.errors import SpecError
from grader.result import ProblemResult, Status, TestResult
from grader.problems.spec import Problem
from grader.kinds.question import QuestionKind, call_with_params, common_checks, draw_params, format_number, render

if TYPE_CHECKING:
    from grader.problems.bank import Bank

DEFAULT_TOLERANCE = {"rel": 0.01}
NUMBER_FORMAT = "a number, e.g. 0.47, .47, 47%, 1e-3 or 3/4"


@dataclass
class WrongAnswer:
    name: str
    value: float | int
    feedback: str


@dataclass
class NumericVariant:
    """One student's version of a numeric question."""

    params: dict[str, Any]
    question: str
    answer: float | int
    tolerance: dict
    integer: bool
    wrong: list[WrongAnswer] = field(default_factory=list)
    explanation: str = ""

    def matches(self, value: float | int, target: float | int | None = None) -> bool:
        if target is None:
            return within(value, self.answer, self.tolerance, self.integer)
        if self.integer and not float(target).is_integer():  # e.g. the width without floor: 10.67
            return within(value, target, {"abs": 0.01, "rel": 0.001}, False)
        return within(value, target, self.tolerance, self.integer)

    def tolerance_text(self) -> str:
        return tolerance_text(self.tolerance, self.integer)


def _number(value: Any, where: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "item"):
        raise SpecError(f"{where} returned {type(value).__name__}, not a number")
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and not math.isfinite(value):
        raise SpecError(f"{where} returned {value}")
    return value


def variant(problem: Problem, bank: Bank, seed: int) -> NumericVariant:
    """Parameters, question text, answer and known wrong answers for `seed`."""
    spec = problem.spec
    params = draw_params(problem, seed)
    where = f"{problem.path}: $.answer.function"
    answer = _number(call_with_params(bank, spec["answer"]["function"], params, where), where)
    integer = spec["answer"].get("integer", isinstance(answer, int))
    tolerance = {} if integer else spec["answer"].get("tolerance", DEFAULT_TOLERANCE)
    wrong = []
    for i, mistake in enumerate(spec.get("wrong_answers", [])):
        w = f"{problem.path}: $.wrong_answers[{i}].function"
        value = _number(call_with_params(bank, mistake["function"], params, w), w)
        values = {**params, "answer": format_number(answer), "value": format_number(value)}
        wrong.append(WrongAnswer(mistake["name"], value, render(mistake["feedback"], values)))
    values = {**params, "answer": format_number(answer)}
    return NumericVariant(params=params, question=render(spec["question"], values), answer=answer,
                          tolerance=tolerance, integer=integer, wrong=wrong,
                          explanation=render(spec.get("explanation", ""), values))


def within(value: float | int, target: float | int, tolerance: dict, integer: bool) -> bool:
    """Is `value` an acceptable answer for `target`? Integers exactly; floats within any given
    bound: abs, rel (of the expected value, never the student's) or sig (significant figures)."""
    if integer:
        return float(value) == float(target)
    diff = abs(float(value) - float(target))
    slack = 1e-9 * abs(float(target))  # float round-off of the expected value only
    bounds = []
    if "abs" in tolerance:
        bounds.append(tolerance["abs"])
    if "rel" in tolerance:
        bounds.append(tolerance["rel"] * abs(float(target)))
    if "sig" in tolerance:
        exponent = math.floor(math.log10(abs(float(target)))) if target else 0
        bounds.append(0.5 * 10.0 ** (exponent - tolerance["sig"] + 1) if target else 0.0)
    return any(diff <= b + slack for b in bounds or [0.0])


def tolerance_text(tolerance: dict, integer: bool) -> str:
    if integer:
        return "exactly"
    parts = []
    if "abs" in tolerance:
        parts.append(f"±{tolerance['abs']:g}")
    if "rel" in tolerance:
        parts.append(f"±{tolerance['rel'] * 100:g}%")
    if "sig" in tolerance:
        parts.append(f"to {tolerance['sig']} significant figures")
    return "within " + " or ".join(parts) if parts else "exactly"


def grade_numeric(problem: Problem, submission: Any, *, bank: Bank, seed: int, student: str | None = None,
                  reveal: bool = True, **_options) -> ProblemResult:
    """Grade one answer (an `Answer`, or the raw typed value) to a numeric question."""
    answer = submission if isinstance(submission, Answer) else Answer(submission)
    v = variant(problem, bank, seed)
    result = ProblemResult.empty(problem, submission=answer.source, seed=seed, student=student)
    test = TestResult(name="answer", score=0.0, max_score=problem.points, status=Status.FAILED)
    expected = f"{format_number(v.answer)} ({v.tolerance_text()})"
    if answer.missing:
        test.outcome = "missing"
        test.output = answer.missing_message(problem.id)
    else:
        try:
            value = parse_number(answer.value)
        except AnswerError as exc:
            test.outcome = "unreadable"
            test.output = f"{exc}"
        else:
            shown = format_number(value)
            if v.matches(value):
                test.score, test.status, test.outcome = problem.points, Status.PASSED, "passed"
                test.output = f"correct: {shown}"
            else:
                test.outcome = "wrong"
                mistake = next((w for w in v.wrong if not v.matches(w.value) and v.matches(value, w.value)), None)
                if mistake:
                    test.mistake = mistake.name
                    test.output = f"your answer {shown} is not correct: {mistake.feedback}"
                else:
                    test.output = f"your answer {shown} is not correct"
                if reveal:
                    test.output += f"\nthe answer is {expected}"
    if not test.passed and test.outcome != "wrong" and reveal:
        test.output += f"\nthe answer is {expected}"
    result.tests = [test]
    result.score = test.score
    if reveal and v.explanation:
        result.feedback.append(f"Explanation: {v.explanation.strip()}")
    if test.mistake:
        result.feedback.insert(0, f"Known mistake: {test.mistake}")
    return result


def describe_numeric(problem: Problem, seed: int, student: str | None, bank: Bank) -> dict:
    """Extra `grader show` fields: the rendered question and its parameters (never the answer)."""
    v = variant(problem, bank, seed)
    return {"question": v.question, "params": v.params, "answer_format": NUMBER_FORMAT,
            "how_to_answer": how_to_answer(problem.id, student, seed)}


def how_to_answer(problem_id: str, student: str | None, seed: int) -> str:
    who = f" --student {student}" if student else (f" --seed {seed}" if seed else "")
    return (f"Answer: put '{problem_id}: YOUR ANSWER' in answers.yaml and run "
            f"'grader check {problem_id} answers.yaml{who}'")


def check_numeric_spec(data: dict) -> list[str]:
    errors = common_checks(data, {"answer", "value"})
    names = [w["name"] for w in data.get("wrong_answers", [])]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        errors.append(f"$.wrong_answers: wrong answer name '{dup}' is used twice")
    answer = data.get("answer", {})
    if answer.get("integer") and answer.get("tolerance"):
        errors.append("$.answer: an integer answer is compared exactly; remove 'tolerance' or 'integer'")
    return errors


class NumericKind(QuestionKind):
    name = "numeric"
    scaffold_template = "numeric"

    def check_spec(self, problem) -> list[str]:
        return check_numeric_spec(problem.spec)

    def grade(self, problem, submission, **options):
        return grade_numeric(problem, submission, **options)

    def describe(self, problem, seed, student, bank) -> dict:
        return describe_numeric(problem, seed, student, bank)

    def typed_answer_error(self, problem, text, bank, seed) -> str | None:
        try:
            parse_number(text)
        except AnswerError as exc:
            return str(exc)
        return None
