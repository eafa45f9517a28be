"""Hostile answers files, through the real CLI: a bad file is a usage error (exit 2) naming the
file and what is wrong, never an internal error, and never a long or memory-hungry parse; a code
question's answer reaches only files inside the answers file's folder.

The bombs (aliases, nesting, huge numbers) run in a child `grader` process with a 1 GB address-space
limit and a 30 s timeout, so they stay harmless (and fail the test instead of hanging it) if the limits
ever regress; the files that could not hurt this process even then go through the CLI in-process."""
from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from grader.problems.answers import AnswerError, code_path, parse_letters, parse_number

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

QUESTION = "coin-entropy-quiz"


def run_bounded(*args) -> subprocess.CompletedProcess:
    """`python -m grader ARGS` with at most 1 GB of address space and 30 s of wall time."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    return subprocess.run([sys.executable, "-m", "grader", *map(str, args)], capture_output=True, text=True,
                          timeout=30, preexec_fn=limit, cwd=ROOT)


def laughs(levels: int = 9) -> str:
    """The "billion laughs": each anchor repeats the previous one 9 times (9**levels strings)."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    lines.append(f"{QUESTION}: *a{levels - 1}")
    return "\n".join(lines) + "\n"


HOSTILE = {
    "billion-laughs": (laughs(), "alias"),
    "deep-brackets": (f"{QUESTION}: " + "[" * 100_000 + "]" * 100_000 + "\n", "nested more than 50 levels"),
    "deep-dashes": (f"{QUESTION}:\n" + "- " * 100_000 + "x\n", "nested more than 50 levels"),
    "deep-mappings": (f"{QUESTION}: " + "{a: " * 5_000 + "1" + "}" * 5_000 + "\n", "nested more than 50 levels"),
    "huge-int": (f"{QUESTION}: {'9' * 5000}\n", f"'{QUESTION}': the number is 5000 characters long"),
    "huge-sexagesimal": (f"{QUESTION}: 1" + ":59" * 3000 + "\n", f"'{QUESTION}': the number is"),
    "date": (f"{QUESTION}: 2001-12-14\n", f"'{QUESTION}': a YAML timestamp is not an answer"),
    "binary": (f"{QUESTION}: !!binary aGVsbG8=\n", f"'{QUESTION}': a YAML binary is not an answer"),
    "set": (f"{QUESTION}: !!set {{a, b}}\n", "a YAML set is not an answer"),
    "python-object": (f"{QUESTION}: !!python/object/apply:os.system [echo hi]\n", "is not an answer"),
    "list-key": ("? [a, b]\n: 1\n", "keys of an answers file are question ids"),
}


#: the files that could exhaust memory, time or the stack of the process that parses them
BOMBS = {"billion-laughs", "deep-brackets", "deep-dashes", "deep-mappings", "huge-sexagesimal"}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_answers_file_is_a_usage_error(cli, tmp_path, name):
    content, words = HOSTILE[name]
    path = tmp_path / f"{name}.yaml"
    path.write_text(content, encoding="utf-8")
    if name in BOMBS:
        proc = run_bounded("check", QUESTION, path, "--json")
        status, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    else:
        result = cli("check", QUESTION, path, "--json")
        status, stdout, stderr = result.exit_code, result.output, result.stderr
    assert status == 2, (status, stdout[-500:], stderr[-2000:])
    assert str(path) in stderr and words in stderr, stderr
    assert "Traceback" not in stderr


def test_billion_laughs_in_a_whole_quiz_is_a_usage_error(tmp_path):
    path = tmp_path / "answers.yaml"
    path.write_text(laughs(), encoding="utf-8")
    proc = run_bounded("check", EXAMPLES / "quiz.yaml", path, "--student", "ada")
    assert proc.returncode == 2 and "alias" in proc.stderr, proc.stderr


def test_anchors_without_aliases_and_plain_answers_still_work(cli, tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text(f"{QUESTION}: &mine 0.5\n", encoding="utf-8")
    result = cli("check", QUESTION, path, "--json")
    assert result.exit_code in (0, 1) and result.json()["tests"][0]["outcome"] in ("passed", "wrong")


def test_oversized_answers_file_is_a_usage_error(cli, tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text(f"{QUESTION}: 0.5\n" + "# padding\n" * 200_000, encoding="utf-8")
    result = cli("check", QUESTION, path)
    assert result.exit_code == 2 and "too big" in result.stderr


@pytest.mark.parametrize("value", [10 ** 400, -(10 ** 400)])
def test_huge_int_from_python_is_an_answer_error(value):
    with pytest.raises(AnswerError, match="too large"):
        parse_number(value)


def test_long_list_answer_is_refused_at_once():
    with pytest.raises(AnswerError, match="lists 100000 items"):
        parse_letters(["a"] * 100_000, 4)
    assert parse_letters(["b", "a", "b"], 4) == [0, 1]


# ---------------------------------------------------------------- code files named by an answer

@pytest.fixture
def quiz_and_students(tmp_path):
    """A one-problem quiz, and two students' folders: bob has a correct conv.py."""
    quiz = tmp_path / "quiz.yaml"
    quiz.write_text("title: paths\nproblems:\n  - {id: conv-output-size, points: 4}\n")
    correct = (EXAMPLES / "conv-output-size" / "correct.py").read_text()
    for who in ("alice", "bob"):
        (tmp_path / who).mkdir()
    (tmp_path / "bob" / "conv.py").write_text(correct)
    (tmp_path / "alice" / "mine.py").write_text(correct)
    (tmp_path / "alice" / "sub").mkdir()
    (tmp_path / "alice" / "sub" / "conv.py").write_text(correct)
    (tmp_path / "alice" / "bobs.py").symlink_to(tmp_path / "bob" / "conv.py")
    (tmp_path / "alice" / "bobdir").symlink_to(tmp_path / "bob", target_is_directory=True)
    return quiz, tmp_path / "alice"


def grade_alice(cli, quiz, folder, answer):
    path = folder / "answers.yaml"
    path.write_text(json.dumps({"conv-output-size": answer}), encoding="utf-8")
    result = cli("check", quiz, path, "--json")
    problem = result.json()["problems"][0]
    return result, problem


@pytest.mark.parametrize("answer, words", [
    ("{bank}/reference/cnn.py", "not inside the answers file's folder"),
    ("../bob/conv.py", "leaves the answers file's folder"),
    ("sub/../../bob/conv.py", "leaves the answers file's folder"),
    ("~/conv.py", "not inside the answers file's folder"),
    ("bobs.py", "symbolic link to a place outside"),
    ("bobdir/conv.py", "symbolic link to a place outside"),
])
def test_code_answer_outside_the_answers_folder_does_not_score(cli, quiz_and_students, answer, words):
    quiz, alice = quiz_and_students
    result, problem = grade_alice(cli, quiz, alice, answer.format(bank=ROOT))
    assert result.exit_code == 1, result.output
    assert problem["score"] == 0 and words in problem["tests"][0]["output"], problem["tests"][0]
    assert problem["tests"][0]["outcome"] == "unreadable"


@pytest.mark.parametrize("answer", ["mine.py", "./mine.py", "sub/conv.py"])
def test_code_answer_inside_the_answers_folder_scores(cli, quiz_and_students, answer):
    quiz, alice = quiz_and_students
    result, problem = grade_alice(cli, quiz, alice, answer)
    assert result.exit_code == 0, result.output
    assert problem["score"] == problem["max_score"] == 4


def test_code_path_resolves_against_the_working_folder_when_no_base(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert code_path("x.py", None) == tmp_path.resolve() / "x.py"
    with pytest.raises(AnswerError):
        code_path("/etc/passwd", None)


def test_thousands_of_unknown_ids_give_a_bounded_set_of_notes(cli, tmp_path):
    quiz = tmp_path / "quiz.yaml"
    quiz.write_text(f"title: one\nproblems: [{QUESTION}]\n")
    answers = tmp_path / "answers.yaml"
    answers.write_text("".join(f"{QUESTION}-{i}: {i}\n" for i in range(5000)) + f"{QUESTION}: 0.5\n")
    result = cli("check", quiz, answers, "--json")
    notes = result.json()["notes"]
    assert result.exit_code in (0, 1) and len(notes) == 21, notes[-3:]
    assert notes[-1] == "... and 4980 more ids that are not questions of this quiz"
