"""The standard tests of a bank test file, built from its tables of student-like sources.

A bank test file defines CORRECT (problem id -> correct formulations), WRONG (problem id ->
[(mistake name, source)]) and FORBIDDEN (problem id -> a source using a forbidden API), then
binds the tests returned by `make_bank_tests` to module-level names so pytest collects them.
"""
import pytest


def make_bank_tests(correct: dict, wrong: dict, forbidden: dict, min_correct: int):
    """The four standard tests over the tables: correct pass, mistakes named, forbidden scores 0,
    every listed mistake exercised."""
    correct_cases = [pytest.param(pid, src, id=f"{pid}-{i}")
                     for pid, sources in correct.items() for i, src in enumerate(sources)]
    wrong_cases = [pytest.param(pid, name, src, id=f"{pid}-{name}")
                   for pid, items in wrong.items() for name, src in items]

    @pytest.mark.parametrize("problem_id, source", correct_cases)
    def test_correct_formulation_gets_full_marks(grade_source, problem_id, source):
        result = grade_source(problem_id, source)
        failed = {t.name: t.output for t in result.tests if not t.passed}
        assert result.error is None, result.error
        assert result.score == result.max_score, failed

    @pytest.mark.parametrize("problem_id, mistake, source", wrong_cases)
    def test_known_mistake_loses_marks_and_is_named(grade_source, problem_id, mistake, source):
        result = grade_source(problem_id, source)
        assert result.error is None, result.error
        assert result.score < result.max_score
        named = [t.mistake for t in result.tests if not t.passed]
        assert mistake in named, {t.name: t.output for t in result.tests if not t.passed}
        hidden_named = [t for t in result.tests if not t.passed and not t.visible and t.mistake == mistake]
        assert hidden_named, f"{mistake} is not caught by a hidden case"

    @pytest.mark.parametrize("problem_id, source", [pytest.param(p, s, id=p) for p, s in forbidden.items()])
    def test_forbidden_api_scores_zero(grade_source, problem_id, source):
        result = grade_source(problem_id, source)
        assert result.score == 0
        assert result.error and "forbid" in result.error

    def test_every_mistake_of_these_problems_is_exercised():
        from grader.problems.bank import Bank

        bank = Bank()
        for problem_id, items in wrong.items():
            listed = {m["name"] for m in bank.get(problem_id).spec["mistakes"]}
            assert listed == {name for name, _ in items}, problem_id
            assert len(listed) >= 3, problem_id
        for problem_id in correct:
            assert len(correct[problem_id]) >= min_correct, problem_id
        assert set(wrong) == set(correct)

    return (test_correct_formulation_gets_full_marks, test_known_mistake_loses_marks_and_is_named,
            test_forbidden_api_scores_zero, test_every_mistake_of_these_problems_is_exercised)
