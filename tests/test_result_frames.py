"""Result frames are written by the student's process, so a student can forge them: every number
the grader reads from a frame's header is range-checked, and a forged one costs only that case
("the result could not be read"), never the grader's own error (exit 3) nor an Infinity in the JSON.

The forging submission patches the child's own encoder (the grader package is importable in the
child, so this is exactly what a student can do), computing the right values every time: only
the forged header makes a case fail."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from grader.sandbox.runner import MAX_MESSAGE_CHARS, RunStatus, header_text, read_case, read_timing

PROBLEM = "sigmoid-backward"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# One forgery per call, in the order the cases run; the calls after these are honest.
# A replacement keeps the header's length: the sentinel and the forged text have as many bytes.
FORGING = '''
import torch
from grader.sandbox import codec

FORGERIES = [
    {"seconds": 0.00125, "raw": (b'"seconds":0.00125', b'"seconds":1.0e400')},    # 1e400 -> inf
    {"seconds": 10 ** 400},                                                          # float() overflows
    {"timing": {"best": 0.00125, "median": 1e-3, "runs": 3},
     "raw": (b'"best":0.00125', b'"best":1.0e400')},                                 # a speed time of inf
    {"status": ["ok"]},                                                              # unhashable status
    {"seconds": -1.0},
    {"timing": {"best": 1e-3, "median": 1e-3, "runs": 10 ** 30}},
]
calls = []
_encode = codec.encode


def forged_encode(value, *, header=None):
    header = dict(header or {})
    raw = None
    if header.get("type") == "case" and len(calls) <= len(FORGERIES):
        forgery = dict(FORGERIES[len(calls) - 1])
        raw = forgery.pop("raw", None)
        header.update(forgery)
    frame = _encode(value, header=header)
    return frame.replace(*raw) if raw else frame


codec.encode = forged_encode


def sigmoid_backward(x, grad_output):
    calls.append(1)
    s = torch.sigmoid(x)
    return grad_output * s * (1 - s)
'''
N_FORGED = 6


def strict_json(text: str):
    def refuse(name):
        raise AssertionError(f"{name} in the JSON output")
    return json.loads(text, parse_constant=refuse)


def test_forged_numbers_in_case_frames_fail_only_their_case(grader_cmd, submission):
    path = submission(FORGING)
    out = grader_cmd("check", PROBLEM, path, "--json", timeout=300)
    assert out.exit_code == 1, (out.exit_code, out.stderr[-3000:])
    result = strict_json(out.output)
    tests = result["tests"]
    assert len(tests) > N_FORGED, "the problem needs more cases than there are forgeries"
    for test in tests[:N_FORGED]:
        assert test["score"] == 0 and test["outcome"] == "bad_output", test
        assert "the result could not be read" in test["output"], test
        assert test["seconds"] is None or math.isfinite(test["seconds"])
    for test in tests[N_FORGED:]:  # the honest calls after the forgeries are graded as usual
        assert test["status"] == "passed", test
    assert "1e+400" in tests[0]["output"] or "inf" in tests[0]["output"]
    assert "huge integer" in tests[1]["output"]
    assert "timing" in tests[2]["output"] and "timing" in tests[5]["output"]
    text = grader_cmd("check", PROBLEM, path, timeout=300)  # the text renderer copes too
    assert text.exit_code == 1 and "could not be read" in text.output, text.stderr[-3000:]


LONE_SURROGATE = '''
import torch


def sigmoid_backward(x, grad_output):
    raise ValueError("broken \\ud800 text " + "x" * 100_000)
'''


def test_exception_message_with_a_lone_surrogate_is_cut_and_printable(grader_cmd, submission):
    path = submission(LONE_SURROGATE)
    out = grader_cmd("check", PROBLEM, path, timeout=300)
    assert out.exit_code == 1, (out.exit_code, out.stderr[-3000:])
    assert "broken" in out.output and "more characters not shown" in out.output
    data = strict_json(grader_cmd("check", PROBLEM, path, "--json", timeout=300).output)
    assert all(len(t["output"]) < MAX_MESSAGE_CHARS + 500 for t in data["tests"])


# ---------------------------------------------------------------- the header checks themselves

def case_header(**fields):
    return {"type": "case", "name": "c", "status": "ok", "tensor_devices": {}, **fields}


@pytest.mark.parametrize("fields", [
    {"seconds": float("inf")}, {"seconds": float("nan")}, {"seconds": -0.5}, {"seconds": 10 ** 400},
    {"seconds": 2e6}, {"seconds": "1"}, {"seconds": True}, {"seconds": [1]},
    {"timing": {"best": float("inf"), "median": 1, "runs": 1}}, {"timing": {"best": 1, "median": 1, "runs": 1.5}},
    {"timing": {"best": 1, "median": 10 ** 400, "runs": 1}}, {"timing": {"best": 1, "median": 1}},
    {"timing": "fast"}, {"timing": [1, 2, 3]},
])
def test_forged_header_numbers_make_a_bad_output(fields):
    run = read_case(case_header(**fields), value=1.0, name="c")
    assert run.status is RunStatus.BAD_OUTPUT and run.value is None
    assert run.message.startswith("the result could not be read")


@pytest.mark.parametrize("status", [["ok"], {"ok": 1}, 1, None, "passed"])
def test_unknown_or_unhashable_status_is_a_bad_output(status):
    assert read_case(case_header(status=status), value=1.0, name="c").status is RunStatus.BAD_OUTPUT


def test_honest_header_is_read():
    run = read_case(case_header(seconds=0.25, timing={"best": 1e-3, "median": 2e-3, "runs": 5}), value=2.0, name="c")
    assert run.status is RunStatus.OK and run.value == 2.0 and run.seconds == 0.25
    assert run.timing == {"best": 1e-3, "median": 2e-3, "runs": 5}
    assert read_timing({"best": 10 ** 400, "median": 1, "runs": 1}) is None  # lenient form: None, no exception


def test_header_text_cuts_and_cleans():
    assert header_text("a\ud800b") == "a\\ud800b"
    long = header_text("x" * (MAX_MESSAGE_CHARS + 10))
    assert long.startswith("x" * MAX_MESSAGE_CHARS) and "10 more characters" in long
    assert header_text({"not": "text"}) == "{'not': 'text'}"


# ---------------------------------------------------------------- the grader's memory per job

BIG_RESULTS = '''
import torch


def sigmoid_backward(x, grad_output):
    return torch.zeros(10_000_000)  # 40 MB of float32 per case, whatever the input
'''


def test_results_of_one_job_are_capped_across_restarted_children(grader_cmd, submission):
    """40 MB per case with a 64 MB budget for the whole job: the first case is read (and is wrong),
    every later one fails with the budget message, with no restarted child getting a fresh 64 MB."""
    out = grader_cmd("check", PROBLEM, submission(BIG_RESULTS), "--result-limit", "64", "--json", timeout=300)
    assert out.exit_code == 1, out.stderr[-3000:]
    tests = out.json()["tests"]
    assert tests[0]["outcome"] == "wrong" and "shape" in tests[0]["output"], tests[0]
    policy = {"keeps dtype", "leaves inputs unchanged"}  # the strictness policy's own tests, not cases
    assert all(t["score"] == 0 for t in tests if t["name"] in policy)
    for test in [t for t in tests[1:] if t["name"] not in policy]:
        assert test["outcome"] == "bad_output" and test["score"] == 0, test
        assert "passed the 64 MB the grader accepts (result_mb)" in test["output"], test


def test_honest_submission_fits_a_small_result_budget(grader_cmd):
    out = grader_cmd("check", PROBLEM, EXAMPLES / PROBLEM / "correct.py", "--result-limit", "1", "--json", timeout=300)
    assert out.exit_code == 0, out.output[-3000:]


def test_result_limit_must_be_positive(cli):
    assert cli("check", PROBLEM, EXAMPLES / PROBLEM / "correct.py", "--result-limit", "0").exit_code == 2
