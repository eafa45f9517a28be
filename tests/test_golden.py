"""Golden test: what the CLI prints and writes is the same as recorded in tests/golden/.

The proof that a restructure changed no behaviour (issue #13): `grader check --json` of every
example and of the quiz, `grader grade` of the example class (exit status, stdout, stderr and
every file written), the same for one student with the Gradescope and GitHub Classroom outputs
(`--single --gradescope F --classroom`) and `grader validate --json` over the bank, each compared byte for byte
after normalising what varies between runs (tests/golden_outputs.py says exactly what). On a
mismatch the test prints a unified diff, recorded (-) against now (+). A command whose outputs
differ is run a second time before failing (a 2 s time limit and a speed test are verdicts that a
machine loaded many times over can flip); the first run's diff is then a warning.

When a change is MEANT to alter these outputs, rerun `PYTHONPATH=$PWD python tests/golden/record.py`
and review `git diff tests/golden`.
"""
from __future__ import annotations

import difflib
import importlib.util
import warnings

import pytest

import golden_outputs as golden

CHECK_NAMES = sorted(name for command in golden.check_commands() for name in (f"{command}.json", f"{command}.status"))


def recorded(group: str) -> list[str]:
    return sorted(path.relative_to(golden.GOLDEN).as_posix() for path in (golden.GOLDEN / group).rglob("*")
                  if path.is_file())


GRADE_NAMES, SINGLE_NAMES = recorded("grade"), recorded("single")
# what depends on the class report, which is skipped (with a warning) without matplotlib
NEEDS_MATPLOTLIB = {"grade/out/report.html", "grade/files.txt", "grade/stdout.txt", "grade/command.status"}
VALIDATE_NAMES = ["validate/bank.json", "validate/bank.status"]
MAX_DIFF_LINES = 300


def difference(name: str, produced: dict[str, str]) -> str | None:
    """None when the recorded golden file `name` equals what was produced now, else why not
    (a unified diff, recorded against now)."""
    recorded = golden.read_golden(name)
    if recorded is None:
        return f"no golden file tests/golden/{name}; record it with tests/golden/record.py"
    if name not in produced:
        return f"tests/golden/{name} is recorded but the command no longer produces it"
    now = produced[name]
    if now == recorded:
        return None
    diff = list(difflib.unified_diff(recorded.splitlines(keepends=True), now.splitlines(keepends=True),
                                     fromfile=f"tests/golden/{name} (recorded)", tofile=f"{name} (now)"))
    if not diff:  # the same lines: the difference is in line endings or a final newline
        diff = [f"recorded {recorded[-200:]!r}\nnow      {now[-200:]!r}\n"]
    shown = "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                    for line in diff[:MAX_DIFF_LINES])
    more = f"... {len(diff) - MAX_DIFF_LINES} more diff lines\n" if len(diff) > MAX_DIFF_LINES else ""
    return f"{name} differs from its golden copy:\n{shown}{more}"


def assert_same(name: str, produced: dict[str, str]) -> None:
    problem = difference(name, produced)
    if problem:
        pytest.fail(problem, pytrace=False)


def produced_twice_if_needed(produce, names: list[str]) -> dict[str, str]:
    """produce(), and once more if its outputs differ from the golden ones: the example class has
    a 2 s time limit per case and a speed test, verdicts that a machine loaded many times over
    (several test suites on two cores) can flip; a real change differs again. The first run's
    differences are kept as a warning."""
    texts = produce()
    differences = [d for d in map(lambda name: difference(name, texts), names) if d]
    if differences:
        warnings.warn("golden outputs differed, running the command again once:\n" + "\n".join(differences)[:20000])
        texts = produce()
    return texts


@pytest.fixture(scope="module")
def checks() -> dict[str, str]:
    return produced_twice_if_needed(golden.produce_checks, CHECK_NAMES)


@pytest.fixture(scope="module")
def grade(tmp_path_factory) -> dict[str, str]:
    def produce():
        return golden.produce_grade(tmp_path_factory.mktemp("golden") / "out")
    names = [n for n in GRADE_NAMES if n not in NEEDS_MATPLOTLIB or importlib.util.find_spec("matplotlib")]
    return produced_twice_if_needed(produce, names)


@pytest.fixture(scope="module")
def single(tmp_path_factory) -> dict[str, str]:
    return produced_twice_if_needed(lambda: golden.produce_single(tmp_path_factory.mktemp("golden")), SINGLE_NAMES)


@pytest.fixture(scope="module")
def validate() -> dict[str, str]:
    return produced_twice_if_needed(golden.produce_validate, VALIDATE_NAMES)


@pytest.mark.parametrize("name", CHECK_NAMES)
def test_check_json_of_every_example_is_unchanged(name, checks):
    assert_same(name, checks)


def test_no_check_output_is_left_unrecorded_or_unproduced(checks):
    recorded = {path.relative_to(golden.GOLDEN).as_posix() for path in (golden.GOLDEN / "check").rglob("*")}
    assert recorded == set(checks), "rerun tests/golden/record.py check if an example was added or removed"


@pytest.mark.parametrize("name", GRADE_NAMES)
def test_grading_the_example_class_is_unchanged(name, grade):
    if name in NEEDS_MATPLOTLIB and importlib.util.find_spec("matplotlib") is None:
        pytest.skip("matplotlib is not installed, so grader grade writes no report.html")
    assert_same(name, grade)


def test_grading_writes_no_file_that_was_not_recorded(grade):
    if importlib.util.find_spec("matplotlib") is None:
        grade = {name: text for name, text in grade.items() if name not in NEEDS_MATPLOTLIB}
    assert set(grade) <= set(GRADE_NAMES), f"new outputs: {sorted(set(grade) - set(GRADE_NAMES))}"


@pytest.mark.parametrize("name", SINGLE_NAMES)
def test_one_student_with_gradescope_and_classroom_outputs_is_unchanged(name, single):
    assert_same(name, single)


def test_grading_one_student_writes_no_file_that_was_not_recorded(single):
    assert set(single) <= set(SINGLE_NAMES), f"new outputs: {sorted(set(single) - set(SINGLE_NAMES))}"


@pytest.mark.parametrize("name", VALIDATE_NAMES)
def test_validating_the_bank_is_unchanged(name, validate):
    assert_same(name, validate)


def test_the_normaliser_masks_timings_and_paths_but_not_scores_messages_or_order():
    text = ('{"score": 0.5, "seconds": 1.25e-05, "max_score": 1.0, "status": "passed", "timing": {"seconds": 0.0004, '
            '"median": 0.0005, "runs": 10, "ratio": 0.97, "max_ratio": 10.0}, "seconds": null, "sandbox": "full", '
            '"output": "your code 422 \\u00b5s (best of 10), the reference 1.20 ms on cpu: 0.4\\u00d7 the '
            'reference\'s time, within the 10\\u00d7 allowed", "path": "' + str(golden.ROOT) + '/problems/a.yaml"}')
    assert golden.normalise(text) == (
        '{"score": 0.5, "seconds": "<volatile>", "max_score": 1.0, "status": "passed", "timing": {"seconds": '
        '"<volatile>", "median": "<volatile>", "runs": "<volatile>", "ratio": "<volatile>", "max_ratio": 10.0}, "seconds": null, '
        '"sandbox": "<level>", "output": "your code <time> (best of <n>), the reference <time> on cpu: <ratio>\\u00d7 '
        'the reference\'s time, within the 10\\u00d7 allowed", "path": "<root>/problems/a.yaml"}')
    summary = ("Slowest submissions (grading time, all problems; cached results count their first run):\n"
               "  erin                       15.11 s  (slowest: coin-entropy 14.55 s)\n"
               "  alice                       1.14 s  (slowest: attention 0.51 s)\n"
               "\nSubmissions that hit limits: 1\n  erin                     coin-entropy: time\n")
    assert golden.normalise_summary(summary).splitlines()[1:] == [
        "  alice <time> s  (slowest: <problem> <time> s)", "  erin <time> s  (slowest: <problem> <time> s)",
        "", "Submissions that hit limits: 1", "  erin                     coin-entropy: time"]
