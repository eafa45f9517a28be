"""Quiz questions (kinds numeric and choice), answers files, quizzes and the interactive quiz,
through the real CLI."""
import json
import math

import pytest
from click.testing import CliRunner

EXAMPLES = __import__("pathlib").Path(__file__).resolve().parent.parent / "examples"
from grader.problems.answers import AnswerError, parse_letters, parse_number
from grader.problems.bank import Bank
from grader.cli.main import main
from grader.problems.inputs import seed_for_student
from grader.kinds import choice, numeric

STUDENTS = ["ada", "bo", "chen", "dana", "eli", "femi"]


@pytest.fixture(scope="module")
def bank():
    return Bank()


def params_of(cli, qid, student):
    result = cli("show", qid, "--student", student, "--json")
    assert result.exit_code == 0, result.output
    return result.json()


def check_answer(cli, tmp_path, qid, student, answer, *extra):
    path = tmp_path / f"{student}.yaml"
    path.write_text(json.dumps({qid: answer}), encoding="utf-8")
    return cli("check", qid, path, "--student", student, "--json", *extra)


def coin_bits(p):
    return -(p * math.log2(p) + (1 - p) * math.log2(1 - p))


# ------------------------------------------------------------------ the two acceptance questions

@pytest.mark.parametrize("student", STUDENTS)
def test_coin_entropy_quiz(cli, tmp_path, student):
    data = params_of(cli, "coin-entropy-quiz", student)
    p = data["params"]["p"]
    assert f"p = {p}" in data["question"] and "bits" in data["question"]
    right = check_answer(cli, tmp_path, "coin-entropy-quiz", student, f"{coin_bits(p):.2f}")
    assert right.exit_code == 0, right.output
    assert right.json()["score"] == right.json()["max_score"] == 2
    nats = coin_bits(p) * math.log(2)
    wrong = check_answer(cli, tmp_path, "coin-entropy-quiz", student, f"{nats:.3f}")
    assert wrong.exit_code == 1
    test = wrong.json()["tests"][0]
    assert test["score"] == 0 and test["status"] == "failed"
    assert test["mistake"] == "nats-not-bits" and "nats" in test["output"]


@pytest.mark.parametrize("student", STUDENTS)
def test_conv_output_size_quiz(cli, tmp_path, student):
    prm = params_of(cli, "conv-output-size-quiz", student)["params"]
    n, f, p, s = prm["n"], prm["f"], prm["p"], prm["s"]
    right = check_answer(cli, tmp_path, "conv-output-size-quiz", student, (n - f + 2 * p) // s + 1)
    assert right.exit_code == 0 and right.json()["score"] == 2, right.output
    ceil = check_answer(cli, tmp_path, "conv-output-size-quiz", student, str(math.ceil((n - f + 2 * p) / s) + 1))
    assert ceil.exit_code == 1 and ceil.json()["score"] == 0
    assert ceil.json()["tests"][0]["mistake"] == "ceil-instead-of-floor"
    assert "ceil" in ceil.json()["tests"][0]["output"]
    single = check_answer(cli, tmp_path, "conv-output-size-quiz", student, (n - f + p) // s + 1)
    assert single.json()["score"] == 0 and single.json()["tests"][0]["mistake"] == "single-padding"
    assert "each side" in single.json()["tests"][0]["output"]


@pytest.mark.parametrize("garbage", ["abc", "0.4.7", "", [1, 2], {"a": 1}, "12 px"])
def test_garbage_answer_gets_zero_with_a_message(cli, tmp_path, garbage):
    result = check_answer(cli, tmp_path, "coin-entropy-quiz", "ada", garbage)
    assert result.exit_code == 1
    test = result.json()["tests"][0]
    assert test["score"] == 0 and test["output"]
    assert "number" in test["output"] or "no answer" in test["output"]


def test_text_output_names_the_mistake(cli, tmp_path):
    path = tmp_path / "a.yaml"
    prm = params_of(cli, "conv-output-size-quiz", "ada")["params"]
    path.write_text(f"conv-output-size-quiz: {math.ceil((prm['n'] - prm['f'] + 2 * prm['p']) / prm['s']) + 1}\n")
    result = cli("check", "conv-output-size-quiz", path, "--student", "ada")
    assert result.exit_code == 1
    assert "you rounded up" in result.output and "Score: 0 / 2" in result.output


# ------------------------------------------------------------------ the whole bank of questions

def question_ids(bank):
    return sorted(p.id for p in bank.all() if p.kind in ("numeric", "choice"))


def test_at_least_seventeen_questions(bank):
    ids = question_ids(bank)
    assert len(ids) >= 17
    assert {"coin-entropy-quiz", "conv-output-size-quiz"} <= set(ids)


def test_each_question_has_variants_and_wrong_answers_that_are_wrong(bank):
    for qid in question_ids(bank):
        problem = bank.get(qid)
        seen = set()
        for student in STUDENTS:
            seed = seed_for_student(student)
            if problem.kind == "numeric":
                v = numeric.variant(problem, bank, seed)
                seen.add(v.question)
                assert v.matches(v.answer)
                if qid in ("coin-entropy-quiz", "conv-output-size-quiz"):
                    assert not any(v.matches(w.value) for w in v.wrong), (qid, student, v.params)
            else:
                v = choice.variant(problem, bank, seed)
                seen.add((v.question, tuple(o.text for o in v.options)))
                assert choice.score_picks(v.correct, v.correct, v.scoring) == 1.0
        assert len(seen) >= 2, f"{qid}: six students got one variant"
        if problem.kind == "numeric":  # every known wrong answer is distinguishable for most students
            for i, w in enumerate(problem.spec.get("wrong_answers", [])):
                distinct = sum(not numeric.variant(problem, bank, seed_for_student(s)).wrong[i].value
                               == numeric.variant(problem, bank, seed_for_student(s)).answer for s in STUDENTS)
                assert distinct >= 3, (qid, w["name"])


def test_same_student_same_variant(cli):
    a = params_of(cli, "conv-output-size-quiz", "ada")
    b = params_of(cli, "conv-output-size-quiz", "ada")
    assert a["params"] == b["params"] and a["question"] == b["question"]
    assert "answer" not in a


def test_show_text_prints_question_and_options(cli):
    result = cli("show", "zero-centered-quiz", "--student", "ada")
    assert result.exit_code == 0
    assert "Which of these activations" in result.output and "  A) " in result.output
    assert "grader check zero-centered-quiz answers.yaml --student ada" in result.output


# ------------------------------------------------------------------ choice questions

def letter_of(data, text):
    return next(o["label"] for o in data["options"] if o["text"] == text)


def test_choice_single_answer_letters_as_shown(cli, tmp_path):
    for student in STUDENTS[:3]:
        data = params_of(cli, "zero-centered-quiz", student)
        tanh = letter_of(data, "tanh")
        assert check_answer(cli, tmp_path, "zero-centered-quiz", student, tanh.lower()).json()["score"] == 2
        sigmoid = letter_of(data, "sigmoid")
        wrong = check_answer(cli, tmp_path, "zero-centered-quiz", student, f"({sigmoid})").json()
        assert wrong["score"] == 0 and "always positive" in wrong["tests"][0]["output"]
        two = check_answer(cli, tmp_path, "zero-centered-quiz", student, f"{tanh}, {sigmoid}").json()
        assert two["score"] == 0 and "pick one" in two["tests"][0]["output"]


def test_choice_multiple_partial_credit(cli, tmp_path):
    data = params_of(cli, "overfitting-curves-quiz", "ada")
    right = [o["label"] for o in data["options"] if not o["text"].startswith(("Train for", "Use a bigger"))]
    wrong = [o["label"] for o in data["options"] if o["text"].startswith(("Train for", "Use a bigger"))]
    full = check_answer(cli, tmp_path, "overfitting-curves-quiz", "ada", ",".join(right).lower())
    assert full.exit_code == 0 and full.json()["score"] == 2
    two = check_answer(cli, tmp_path, "overfitting-curves-quiz", "ada", " ".join(right[:2])).json()
    assert two["score"] == pytest.approx(2 * 2 / 3, abs=1e-4)
    mixed = check_answer(cli, tmp_path, "overfitting-curves-quiz", "ada", [right[0], wrong[0]]).json()
    assert mixed["score"] == 0  # one right minus one wrong
    bad = check_answer(cli, tmp_path, "overfitting-curves-quiz", "ada", "Z").json()
    assert bad["score"] == 0 and "no option Z" in bad["tests"][0]["output"]


# ------------------------------------------------------------------ answer parsing

@pytest.mark.parametrize("text, value", [("0.47", 0.47), (".47", 0.47), ("47%", 0.47), ("3", 3), ("1e-3", 0.001),
                                         ("3/4", 0.75), ("0,47", 0.47), ("\u22122.5", -2.5), (" 12 ", 12),
                                         ("1,000", 1000), (0.25, 0.25)])
def test_parse_number(text, value):
    assert parse_number(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["abc", "", "1/0", "nan", "inf", "0.47 bits", None, True])
def test_parse_number_rejects(text):
    with pytest.raises(AnswerError):
        parse_number(text)


@pytest.mark.parametrize("text, picks", [("b", [1]), ("B, D", [1, 3]), ("b,d", [1, 3]), ("bd", [1, 3]),
                                         ("b and d", [1, 3]), ("(c)", [2]), (["a", "C"], [0, 2])])
def test_parse_letters(text, picks):
    assert parse_letters(text, 4) == picks


# ------------------------------------------------------------------ bad answers files

def test_missing_answer_is_a_failed_question_not_a_usage_error(cli, tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text("coin-entropy-quizz: 0.5\n")
    result = cli("check", "coin-entropy-quiz", path, "--json")
    assert result.exit_code == 1
    assert "no answer given for 'coin-entropy-quiz'" in result.json()["tests"][0]["output"]
    assert "did you mean 'coin-entropy-quiz' instead of 'coin-entropy-quizz'" in result.json()["tests"][0]["output"]


@pytest.mark.parametrize("content", ["a: [b\n", "\xff\xfe", None])
def test_unreadable_answers_file_is_exit_2(cli, tmp_path, content):
    path = tmp_path / "answers.yaml"
    if content is not None:
        path.write_bytes(content.encode("latin-1"))
    result = cli("check", "coin-entropy-quiz", path)
    assert result.exit_code == 2
    assert "Error:" in result.stderr and "answers" in result.stderr.lower() + "answers"


def test_bare_scalar_answers_file(cli, tmp_path):
    p = params_of(cli, "coin-entropy-quiz", "bo")["params"]["p"]
    path = tmp_path / "answer.txt"
    path.write_text(f"{coin_bits(p) * 100:.1f}%\n")
    result = cli("check", "coin-entropy-quiz", path, "--student", "bo", "--json")
    assert result.exit_code == 0, result.output


# ------------------------------------------------------------------ quizzes

def ada_answers():
    """Right answers for student ada to examples/quiz.yaml's questions (the code problem aside)."""
    return {"coin-entropy-quiz": "0.47", "conv-output-size-quiz": 16, "dropout-scale-quiz": "1.25"}


def test_example_quiz_file(cli):
    result = cli("check", EXAMPLES / "quiz.yaml", EXAMPLES / "quiz-answers.yaml", "--student", "ada", "--json")
    assert result.exit_code == 1, result.output
    data = result.json()
    assert data["quiz"] == "week-3" and data["max_score"] == 13
    by_id = {p["problem"]: p for p in data["problems"]}
    assert by_id["conv-output-size"]["score"] == 4 == by_id["conv-output-size"]["max_score"]
    assert by_id["coin-entropy-quiz"]["score"] == 2
    assert by_id["conv-output-size-quiz"]["tests"][0]["mistake"] == "ceil-instead-of-floor"
    assert 0 < by_id["overfitting-curves-quiz"]["score"] < 2
    for p in data["problems"]:
        assert {"problem", "score", "max_score", "tests"} <= set(p)
        assert all({"name", "score", "max_score", "status", "output"} <= set(t) for t in p["tests"])
    assert data["score"] == pytest.approx(sum(p["score"] for p in data["problems"]))


def test_quiz_mixing_code_and_questions_all_right(cli, tmp_path):
    quiz = tmp_path / "quiz.yaml"
    quiz.write_text("title: mini\nproblems:\n  - {id: conv-output-size, points: 3}\n  - coin-entropy-quiz\n"
                    "  - conv-output-size-quiz\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "conv.py").write_text((EXAMPLES / "conv-output-size" / "correct.py").read_text())
    answers = tmp_path / "answers.yaml"
    answers.write_text(json.dumps({**ada_answers(), "conv-output-size": "sub/conv.py", "typo-quiz": 1}))
    result = cli("check", quiz, answers, "--student", "ada", "--json")
    assert result.exit_code == 0, result.output
    data = result.json()
    assert data["score"] == data["max_score"] == 7
    assert any("typo-quiz" in n for n in data["notes"])
    # a missing code file is 0 for that problem, not a crash
    answers.write_text(json.dumps({**ada_answers(), "conv-output-size": "nope.py"}))
    result = cli("check", quiz, answers, "--student", "ada", "--json")
    assert result.exit_code == 1
    assert result.json()["problems"][0]["score"] == 0 and "nope.py" in result.json()["problems"][0]["tests"][0]["output"]


def test_quiz_with_unknown_problem_is_exit_2(cli, tmp_path):
    quiz = tmp_path / "quiz.yaml"
    quiz.write_text("problems: [coin-entropy-quiz, no-such-question]\n")
    answers = tmp_path / "a.yaml"
    answers.write_text("coin-entropy-quiz: 1\n")
    result = cli("check", quiz, answers)
    assert result.exit_code == 2 and "no-such-question" in result.stderr


# ------------------------------------------------------------------ interactive quiz, piped

def run_quiz(args, text):
    result = CliRunner().invoke(main, [str(a) for a in args], input=text, catch_exceptions=False)
    return result


def test_interactive_quiz_skip_and_come_back(tmp_path):
    lines = ["",            # skip the code problem
             "abc",         # unreadable: asked again
             "47%",         # coin entropy for ada (0.469 bits)
             "skip",        # skip conv-output-size-quiz
             "B",           # zero-centered: tanh is B for ada
             "a, b, e",     # overfitting
             "125%",        # dropout
             str(EXAMPLES / "conv-output-size" / "correct.py"),  # back to the skipped ones
             "16"]
    save = tmp_path / "saved.yaml"
    result = run_quiz(["quiz", EXAMPLES / "quiz.yaml", "--student", "ada", "--save", save], "\n".join(lines) + "\n")
    out = result.stdout
    assert result.exit_code == 0, out
    assert "could not read 'abc' as a number" in out
    assert "You skipped 2 questions" in out
    assert "Quiz score: 13 / 13" in out
    assert "Explanation:" in out
    assert "conv-output-size-quiz: 16" in save.read_text() or "conv-output-size-quiz: '16'" in save.read_text()


def test_interactive_quiz_ends_at_end_of_input(tmp_path):
    result = run_quiz(["quiz", "conv-output-size-quiz", "--student", "bo"], "")
    assert result.exit_code == 1
    assert "Unanswered: conv-output-size-quiz" in result.stdout and "Quiz score: 0 / 2" in result.stdout


def test_interactive_quiz_json_and_quit(grader_cmd):
    result = grader_cmd("quiz", EXAMPLES / "quiz.yaml", "--student", "ada", "--json", input="skip\n0.47\nquit\n",
                        timeout=60)
    assert result.exit_code == 1, result.stderr
    data = json.loads(result.output)
    scores = {p["problem"]: p["score"] for p in data["problems"]}
    assert scores["coin-entropy-quiz"] == 2 and scores["conv-output-size"] == 0
    assert "[2/6] coin-entropy-quiz" in result.stderr


def test_interactive_quiz_can_give_feedback_after_each_answer(tmp_path):
    lines = [str(EXAMPLES / "conv-output-size" / "buggy.py"),  # the code problem: graded at once
             "0.5",          # coin entropy for ada is 0.469 bits: wrong, said at once
             "16", "quit"]
    result = run_quiz(["quiz", EXAMPLES / "quiz.yaml", "--student", "ada", "--feedback", "each"],
                      "\n".join(lines) + "\n")
    out = result.stdout
    assert result.exit_code == 1, out
    code_verdict = out.split("> " + lines[0])[1].splitlines()[1]
    assert code_verdict.startswith("not right (") and "tests passed" in code_verdict
    entropy_verdict = out.split("> 0.5")[1].splitlines()[1]
    assert entropy_verdict.startswith("not right (0/2)")
    assert "recorded" not in out
    # the final report reuses the verdicts: same scores as grading the answers at the end
    end = run_quiz(["quiz", EXAMPLES / "quiz.yaml", "--student", "ada"], "\n".join(lines) + "\n").stdout
    assert out.split("Quiz score:")[1].split()[0] == end.split("Quiz score:")[1].split()[0]
