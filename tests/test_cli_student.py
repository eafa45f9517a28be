"""The student CLI: broken submissions get 0 and a clear message; never an engine traceback."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def check(cli, submission, source, problem="conv-output-size", *extra):
    path = submission(source)
    result = cli("check", problem, path, "--json", *extra)
    return result, result.json()


def test_syntax_error_names_the_line(cli, submission):
    result, data = check(cli, submission, "def conv_output_size(n, f, p=0, s=1)\n    return 1\n")
    assert result.exit_code == 1
    assert data["score"] == 0
    assert "SyntaxError in solution.py line 1" in data["error"]
    assert all(t["status"] == "failed" for t in data["tests"])


def test_missing_function_lists_what_was_defined(cli, submission):
    result, data = check(cli, submission, "def conv_size(n, f, p=0, s=1):\n    return 1\n")
    assert result.exit_code == 1 and data["score"] == 0
    assert "conv_output_size" in data["error"]


def test_wrong_signature_says_how_the_grader_calls_it(cli, submission):
    result, data = check(cli, submission, "def conv_output_size(n, f):\n    return n - f + 1\n")
    assert data["score"] < data["max_score"]
    failed = [t for t in data["tests"] if t["status"] == "failed"]
    assert failed and all(t["outcome"] == "signature" for t in failed)
    assert "conv_output_size(n, f, p, s)" in failed[0]["output"]
    # the cases that call it with two arguments still pass
    assert any(t["status"] == "passed" for t in data["tests"])


def test_exception_in_the_call_is_shown_with_the_students_line(cli, submission):
    result, data = check(cli, submission, "def conv_output_size(n, f, p=0, s=1):\n    return 1 // 0\n")
    assert data["score"] == 0
    assert "ZeroDivisionError" in data["tests"][0]["output"]
    assert "solution.py, line 2" in data["tests"][0]["output"]


def test_exception_at_import_time(cli, submission):
    result, data = check(cli, submission, "import nonexistent_module_xyz\n")
    assert data["score"] == 0 and "ModuleNotFoundError" in data["error"]


def test_infinite_loop_hits_the_time_limit_and_other_cases_still_run(cli, submission):
    source = """
        def conv_output_size(n, f, p=0, s=1):
            while n == 32:
                pass
            return (n - f + 2 * p) // s + 1
        """
    result, data = check(cli, submission, source, "conv-output-size", "--time-limit", "1")
    by_name = {t["name"]: t for t in data["tests"]}
    assert by_name["lenet"]["outcome"] == "timeout" and "time limit" in by_name["lenet"]["output"]
    assert by_name["same-padding"]["outcome"] == "timeout"
    assert by_name["alexnet"]["status"] == "passed"
    assert 0 < data["score"] < data["max_score"]


def test_wrong_output_type_is_explained(cli, submission):
    result, data = check(cli, submission, "import numpy as np\ndef conv_output_size(n, f, p=0, s=1):\n"
                                          "    return np.float64((n - f + 2 * p) // s + 1)\n")
    assert data["score"] == 0
    assert "should be an int" in data["tests"][0]["output"]


def test_numpy_int_is_an_int(cli, submission):
    """Issue 12: a NumPy integer is a number where an int is expected (a float still is not)."""
    result, data = check(cli, submission, "import numpy as np\ndef conv_output_size(n, f, p=0, s=1):\n"
                                          "    return np.int64((n - f + 2 * p) // s + 1)\n")
    assert data["score"] == data["max_score"], data["tests"]


def test_unsupported_return_object_is_rejected(cli, submission):
    source = """
        class AlwaysEqual:
            def __eq__(self, other):
                return True
        def conv_output_size(n, f, p=0, s=1):
            return AlwaysEqual()
        """
    result, data = check(cli, submission, source)
    assert data["score"] == 0
    assert data["tests"][0]["outcome"] == "bad_output"


def test_text_output_has_a_table_and_score(cli):
    result = cli("check", "conv-output-size", EXAMPLES / "conv-output-size" / "buggy.py")
    assert result.exit_code == 1
    assert "FAIL  stride-does-not-divide" in result.output
    assert "ceil-instead-of-floor" in result.output
    assert "Score: 7 / 10" in result.output


def test_json_has_the_contract_fields(cli):
    data = cli("check", "coin-entropy", EXAMPLES / "coin-entropy" / "correct.py", "--json").json()
    assert {"problem", "score", "max_score", "tests"} <= set(data)
    for test in data["tests"]:
        assert {"name", "score", "max_score", "status", "output"} <= set(test)
        assert test["status"] in ("passed", "failed")


def test_unknown_problem_and_missing_file_are_usage_errors(grader_cmd, tmp_path):
    result = grader_cmd("check", "no-such-problem", tmp_path / "x.py")
    assert result.exit_code == 2 and "no problem 'no-such-problem'" in result.stderr
    assert "Traceback" not in result.stderr
    assert "Did you mean" not in result.stderr  # nothing is close: no unrelated ids offered
    result = grader_cmd("check", "adam-stpe", tmp_path / "x.py")
    assert result.exit_code == 2 and "Did you mean: adam-step," in result.stderr  # a typo: the closest first
    result = grader_cmd("check", "coin-entropy", tmp_path / "missing.py")
    assert result.exit_code == 2 and "no such file" in result.stderr


def test_list_json(cli):
    data = cli("list", "--json").json()
    ids = {p["id"] for p in data}
    assert {"sigmoid-backward", "adam-step", "coin-entropy", "conv-output-size", "attention"} <= ids
    assert all({"id", "title", "topic", "points", "kind"} <= set(p) for p in data)


def test_show_lists_visible_cases_and_hides_hidden_inputs(cli):
    data = cli("show", "attention", "--json").json()
    assert data["signature"] == "attention(q, k, v, mask=None)"
    visible = [c for c in data["cases"] if c["visible"]]
    hidden = [c for c in data["cases"] if not c["visible"]]
    assert visible and all("inputs" in c for c in visible)
    assert hidden and all("inputs" not in c for c in hidden)
    text = cli("show", "attention").output
    assert "Implement: attention(q, k, v, mask=None)" in text


def test_show_case_prints_code_that_rebuilds_the_inputs(cli, tmp_path):
    code = cli("show", "sigmoid-backward", "--case", "small").output
    assert "x = torch.tensor(" in code and "grad_output = torch.tensor(" in code
    # the printed code runs and rebuilds exactly the grader's inputs
    from grader import case_inputs

    namespace = {}
    exec(code.split("from sigmoid_backward import")[0] + "\n".join(
        line for line in code.splitlines() if line.startswith(("x =", "grad_output ="))), namespace)
    expected = case_inputs("sigmoid-backward", "small")
    assert namespace["x"].equal(expected["x"]) and namespace["grad_output"].equal(expected["grad_output"])


@pytest.mark.parametrize("problem, case", [("sigmoid-backward", "small"), ("attention", "small-mask"),
                                           ("adam-cs231n", None)])
def test_show_case_code_runs_beside_the_file_grader_start_writes(grader_cmd, tmp_path, problem, case):
    """What a student does: `grader start`, write the function, paste `grader show --case` into a
    file beside it and run it: the import finds their file, the call runs, the result prints."""
    started = grader_cmd("start", problem, cwd=tmp_path)
    assert started.exit_code == 0, started.stderr
    written = [p for p in tmp_path.glob("*.py")]
    assert len(written) == 1 and written[0].name in started.output
    example = EXAMPLES / problem / "correct.py"
    if example.exists():  # the card problems: the example's correct answer; else the starter's stubs as written
        written[0].write_text(example.read_text())
    if case is None:
        case = grader_cmd("show", problem, "--json").json()["cases"][0]["name"]
    shown = grader_cmd("show", problem, "--case", case)
    assert shown.exit_code == 0, shown.stderr
    (tmp_path / "debug_case.py").write_text(shown.output)
    ran = subprocess.run([sys.executable, "debug_case.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert "ModuleNotFoundError" not in ran.stderr and "ImportError" not in ran.stderr, ran.stderr
    if example.exists():
        assert ran.returncode == 0 and ran.stdout.strip(), ran.stderr


def test_show_case_for_big_inputs_uses_case_inputs(cli):
    code = cli("show", "sigmoid-backward", "--case", "batch", "--seed", "3").output
    assert "case_inputs('sigmoid-backward', 'batch', seed=3)" in code


def test_seed_and_student_select_variants(cli):
    from grader import case_inputs

    a = case_inputs("sigmoid-backward", "small", seed=1)["x"]
    b = case_inputs("sigmoid-backward", "small", seed=1)["x"]
    c = case_inputs("sigmoid-backward", "small", seed=2)["x"]
    assert a.equal(b) and not a.equal(c)


def test_start_writes_a_stub_that_fails_cleanly(cli, tmp_path):
    path = tmp_path / "mine.py"
    result = cli("start", "attention", path)
    assert result.exit_code == 0 and path.exists()
    assert "def attention(q, k, v, mask=None):" in path.read_text()
    again = cli("start", "attention", path)
    assert again.exit_code == 2
    data = cli("check", "attention", path, "--json").json()
    assert data["score"] == 0
    assert "NotImplementedError" in data["tests"][0]["output"]


def test_schema_prints_json_schema(cli):
    schema = json.loads(cli("schema").output)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert "entry_point" in schema["properties"]


@pytest.mark.parametrize("bad,expected", [
    ("id: x\ntitle: [unclosed\n", "invalid YAML"),
    ("- just\n- a list\n", "must be a YAML mapping"),
    ("id: bad\ntitle: T\ntopic: t\npoints: 1\nkind: function\nstatement: s\n", "'entry_point' is a required property"),
])
def test_malformed_spec_names_file_and_field(grader_cmd, tmp_path, bad, expected):
    (tmp_path / "problems" / "t").mkdir(parents=True)
    (tmp_path / "reference").mkdir()
    (tmp_path / "reference" / "__init__.py").write_text("")
    (tmp_path / "problems" / "t" / "bad.yaml").write_text(bad)
    result = grader_cmd("--bank", tmp_path, "show", "bad")
    assert result.exit_code == 2
    assert "bad.yaml" in result.stderr and expected in result.stderr
    assert "Traceback" not in result.stderr


def test_spec_error_gives_the_json_path(tmp_path):
    from grader.errors import SpecError
    from grader.problems.spec import load_problem

    spec = (EXAMPLES.parent / "problems" / "cnn" / "conv-output-size.yaml").read_text()
    path = tmp_path / "conv-output-size.yaml"
    path.write_text(spec.replace("    inputs: {n: 7, f: 3, p: 0, s: 2}", "    inputs: {n: 7, f: 3, p: 0, s: 2}\n    dtype: float99"))
    with pytest.raises(SpecError) as err:
        load_problem(path)
    assert "$.cases[2].dtype" in str(err.value)
