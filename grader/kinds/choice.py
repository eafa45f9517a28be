"""Kind `choice`: a multiple-choice question with one or several correct options.

Options are shuffled per student (deterministically from the seed) and answers name the option
LETTERS as that student saw them. Partial credit for multiple-answer questions:
score = points × max(0, right picks − wrong picks) / number of correct options. See docs/questions.md.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dataclasses import dataclass

from grader.problems.answers import LETTERS, Answer, AnswerError, letters, parse_letters
from grader.problems.inputs import stream
from grader.result import ProblemResult, Status, TestResult
from grader.problems.spec import Problem
from grader.kinds.numeric import how_to_answer
from grader.kinds.question import QuestionKind, common_checks, draw_params, render

if TYPE_CHECKING:
    from grader.problems.bank import Bank


@dataclass
class Option:
    label: str
    text: str
    correct: bool
    feedback: str
    index: int          #: position in the spec (before shuffling)


@dataclass
class ChoiceVariant:
    params: dict[str, Any]
    question: str
    options: list[Option]   #: in the order this student sees them
    multiple: bool
    scoring: str
    explanation: str

    @property
    def correct(self) -> list[int]:
        return [i for i, o in enumerate(self.options) if o.correct]


def variant(problem: Problem, bank: Bank | None, seed: int) -> ChoiceVariant:
    spec = problem.spec
    params = draw_params(problem, seed)
    order = list(range(len(spec["options"])))
    if spec.get("shuffle", True):
        order = [int(i) for i in stream(seed, problem.id, "options").permutation(len(order))]
        fixed = [i for i, o in enumerate(spec["options"]) if o.get("fixed")]
        for i in fixed:  # 'none of the above' and the like keep their place
            order.remove(i)
            order.insert(i, i)
    options = []
    for position, i in enumerate(order):
        o = spec["options"][i]
        options.append(Option(label=LETTERS[position], text=render(o["text"], params), correct=bool(o.get("correct")),
                              feedback=render(o.get("feedback", ""), params), index=i))
    multiple = bool(spec.get("multiple", False))
    return ChoiceVariant(params=params, question=render(spec["question"], params), options=options,
                         multiple=multiple, scoring=spec.get("scoring", "partial" if multiple else "all"),
                         explanation=render(spec.get("explanation", ""), params))


def score_picks(picks: list[int], correct: list[int], scoring: str) -> float:
    """The fraction earned: all-or-nothing, or (right − wrong) / number correct, floored at 0."""
    right = len(set(picks) & set(correct))
    wrong = len(set(picks) - set(correct))
    if scoring == "all" or len(correct) == 0:
        return 1.0 if set(picks) == set(correct) else 0.0
    return max(0.0, (right - wrong) / len(correct))


def grade_choice(problem: Problem, submission: Any, *, bank: Bank, seed: int, student: str | None = None,
                 reveal: bool = True, **_options) -> ProblemResult:
    answer = submission if isinstance(submission, Answer) else Answer(submission)
    v = variant(problem, bank, seed)
    result = ProblemResult.empty(problem, submission=answer.source, seed=seed, student=student)
    test = TestResult(name="answer", score=0.0, max_score=problem.points, status=Status.FAILED)
    lines: list[str] = []
    if answer.missing:
        test.outcome = "missing"
        lines.append(answer.missing_message(problem.id))
    else:
        try:
            picks = parse_letters(answer.value, len(v.options))
            if not v.multiple and len(picks) > 1:
                raise AnswerError(f"pick one option, not {len(picks)} ({letters(picks)})")
        except AnswerError as exc:
            test.outcome = "unreadable"
            lines.append(str(exc))
        else:
            fraction = score_picks(picks, v.correct, v.scoring)
            test.score = round(problem.points * fraction, 6)
            test.outcome = "passed" if fraction == 1.0 else ("partial" if fraction > 0 else "wrong")
            if fraction == 1.0:
                test.status = Status.PASSED
                lines.append(f"correct: {letters(picks)}")
            else:
                lines.append(f"your answer {letters(picks)} is " + ("partly correct" if fraction > 0 else "not correct"))
                for i in picks:
                    o = v.options[i]
                    if not o.correct:
                        lines.append(f"{o.label}) {o.text}: " + (o.feedback or "this option is not correct"))
                        if o.feedback and test.mistake is None:
                            test.mistake = f"option-{o.index + 1}"
                if reveal:
                    for i in v.correct:
                        if i not in picks:
                            o = v.options[i]
                            lines.append(f"missed {o.label}) {o.text}" + (f": {o.feedback}" if o.feedback else ""))
    if reveal and test.status is Status.FAILED:
        lines.append(f"the answer is {letters(v.correct)}")
    test.output = "\n".join(lines)
    result.tests = [test]
    result.score = test.score
    if reveal and v.explanation:
        result.feedback.append(f"Explanation: {v.explanation.strip()}")
    return result


def describe_choice(problem: Problem, seed: int, student: str | None, bank: Bank) -> dict:
    v = variant(problem, bank, seed)
    how = "choose all that apply (letters, e.g. B, D)" if v.multiple else "choose one option (a letter, e.g. b)"
    return {"question": v.question, "params": v.params, "options": [{"label": o.label, "text": o.text} for o in v.options],
            "multiple": v.multiple, "answer_format": how, "how_to_answer": how_to_answer(problem.id, student, seed)}


def check_choice_spec(data: dict) -> list[str]:
    errors = common_checks(data, set())
    options = data.get("options", [])
    n_correct = sum(bool(o.get("correct")) for o in options)
    if n_correct == 0:
        errors.append("$.options: no option is marked 'correct: true'")
    if not data.get("multiple", False) and n_correct > 1:
        errors.append(f"$.options: {n_correct} options are correct but 'multiple' is not true")
    if data.get("scoring") == "partial" and not data.get("multiple", False):
        errors.append("$.scoring: partial credit needs 'multiple: true'")
    texts = [o.get("text") for o in options]
    for dup in sorted({t for t in texts if texts.count(t) > 1}):
        errors.append(f"$.options: the option '{dup}' is listed twice")
    return errors


class ChoiceKind(QuestionKind):
    name = "choice"
    scaffold_template = "choice"

    def check_spec(self, problem) -> list[str]:
        return check_choice_spec(problem.spec)

    def grade(self, problem, submission, **options):
        return grade_choice(problem, submission, **options)

    def describe(self, problem, seed, student, bank) -> dict:
        return describe_choice(problem, seed, student, bank)

    def typed_answer_error(self, problem, text, bank, seed) -> str | None:
        v = variant(problem, bank, seed)
        try:
            picks = parse_letters(text, len(v.options))
        except AnswerError as exc:
            return str(exc)
        if not v.multiple and len(picks) > 1:
            return "pick one option"
        return None
