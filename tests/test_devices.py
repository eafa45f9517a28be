"""Devices: CUDA cases run where a GPU is available, are reported as skipped elsewhere, and a
result left on the wrong device fails with a message that says so."""
import json

import pytest

from grader.sandbox.devices import cuda_available, select_devices

CORRECT = """
    import torch
    def sigmoid_backward(x, grad_output):
        s = torch.sigmoid(x)
        return grad_output * s * (1 - s)
    """

MOVES_TO_CPU = """
    import torch
    def sigmoid_backward(x, grad_output):
        s = torch.sigmoid(x.cpu())
        return grad_output.cpu() * s * (1 - s)
    """

NEW_TENSOR_ON_DEFAULT_DEVICE = """
    import torch
    def sigmoid_backward(x, grad_output):
        out = torch.empty(x.shape, dtype=x.dtype)   # on the default device (the CPU)
        s = torch.sigmoid(x)
        out.copy_(grad_output * s * (1 - s))
        return out
    """

CUDA_CRASH = """
    import torch
    def sigmoid_backward(x, grad_output):
        if x.is_cuda:
            index = torch.tensor([10 ** 9], device=x.device)
            x[index] = 0          # out of bounds on the GPU: a device-side assert
            torch.cuda.synchronize()
        s = torch.sigmoid(x)
        return grad_output * s * (1 - s)
    """


def test_selection_and_skips(monkeypatch):
    monkeypatch.setenv("GRADER_NO_CUDA", "1")
    cuda_available.cache_clear()
    try:
        assert select_devices(["cpu", "cuda"], "all") == (["cpu"], [("cuda", "no CUDA device is available on this machine")])
        assert select_devices(["cpu", "cuda"], "cpu") == (["cpu"], [])
        assert select_devices(["cpu"], "cuda") == ([], [])
    finally:
        cuda_available.cache_clear()


def test_without_a_gpu_cuda_cases_are_skipped_not_dropped(cli, submission, monkeypatch):
    monkeypatch.setenv("GRADER_NO_CUDA", "1")
    cuda_available.cache_clear()
    try:
        data = json.loads(cli("check", "sigmoid-backward", submission(CORRECT), "--json").output)
        assert data["tests"] and all(t["status"] == "passed" and t["device"] == "cpu" for t in data["tests"])
        cuda = data["skipped"]  # reported beside the tests (whose status stays passed|failed)
        assert len(cuda) == 9 and all(t["status"] == "skipped" and t["device"] == "cuda" for t in cuda)
        assert all("no CUDA device" in t["output"] for t in cuda)
        assert data["score"] == data["max_score"] == 10
        text = cli("check", "sigmoid-backward", submission(CORRECT)).output
        assert "SKIP  9 case(s) on cuda" in text
        only_cuda = cli("check", "sigmoid-backward", submission(CORRECT), "--device", "cuda", "--json")
        assert only_cuda.exit_code == 1 and "nothing to run here" in json.loads(only_cuda.output)["error"]
    finally:
        cuda_available.cache_clear()


def test_device_cpu_runs_only_cpu_cases(cli, submission):
    data = json.loads(cli("check", "coin-entropy", submission("""
        import torch
        def coin_entropy(p):
            return -(torch.special.xlogy(p, p) + torch.special.xlogy(1 - p, 1 - p)) / torch.log(torch.tensor(2.0))
        """), "--device", "cpu", "--json").output)
    assert data["tests"] and all(t["device"] == "cpu" for t in data["tests"])


@pytest.mark.cuda
def test_card_problem_runs_on_cuda(cli, submission):
    data = json.loads(cli("check", "sigmoid-backward", submission(CORRECT), "--device", "cuda", "--json").output)
    cuda = [t for t in data["tests"] if t["device"] == "cuda"]
    assert cuda and all(t["status"] == "passed" for t in cuda), cuda


@pytest.mark.cuda
@pytest.mark.parametrize("source", [MOVES_TO_CPU, NEW_TENSOR_ON_DEFAULT_DEVICE])
def test_result_on_the_wrong_device_fails_with_a_device_message(cli, submission, source):
    data = json.loads(cli("check", "sigmoid-backward", submission(source), "--device", "cuda", "--json").output)
    failed = [t for t in data["tests"] if t["status"] == "failed"]
    assert failed and all(t["outcome"] == "device" for t in failed), failed
    assert "keep the result there" in failed[0]["output"]


@pytest.mark.cuda
def test_a_cuda_crash_fails_that_submission_only(grade_source):
    crashed = grade_source("sigmoid-backward", CUDA_CRASH, device="cuda")
    assert crashed.score < crashed.max_score
    after = grade_source("sigmoid-backward", CORRECT, device="cuda")
    assert after.score == after.max_score


@pytest.mark.cuda
def test_speed_test_runs_on_cuda_against_the_reference_on_cuda(grade_source):
    from test_performance import LOOPS, VECTORISED

    fast = grade_source("attention", VECTORISED, device="cuda")
    speed = next(t for t in fast.tests if t.name == "long-sequence [cuda] (speed)")
    assert speed.passed and speed.timing["device"] == "cuda", speed.output
    slow = grade_source("attention", LOOPS.replace("dtype=q.dtype)", "dtype=q.dtype, device=q.device)"),
                        device="cuda")
    speed = next(t for t in slow.tests if t.name == "long-sequence [cuda] (speed)")
    assert not speed.passed and speed.outcome == "slow", speed.output


UPCASTS_AND_FORGETS = """
    import torch
    def sigmoid_backward(x, grad_output):
        # computes 16-bit inputs in float32 for accuracy, then forgets to cast back
        if x.dtype in (torch.float16, torch.bfloat16):
            x, grad_output = x.float(), grad_output.float()
        s = torch.sigmoid(x)
        return grad_output * s * (1 - s)
    """


@pytest.mark.parametrize("problem,source", [("sigmoid-backward", CORRECT), ("attention", """
    import math
    import torch
    def attention(q, k, v, mask=None):
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        return torch.softmax(scores, dim=-1) @ v
    """)])
def test_half_precision_cases_pass_in_their_own_dtype(grade_source, problem, source):
    result = grade_source(problem, source, device="cpu")
    half = [t for t in result.tests if t.name in ("float16", "bfloat16")]
    assert len(half) == 2 and all(t.passed for t in half), [t.output for t in half]


def test_a_16_bit_input_must_give_a_16_bit_output(grade_source):
    result = grade_source("sigmoid-backward", UPCASTS_AND_FORGETS, device="cpu")
    failed = {t.name: t.output for t in result.tests if not t.passed}
    # issue 12: the values pass at 16-bit precision; keeping the dtype is its own test
    assert set(failed) == {"keeps dtype"}, failed
    message = failed["keeps dtype"]
    assert "case 'float16'" in message and "expected float16" in message and "bfloat16" in message
    assert ".to(x.dtype)" in message


def test_cuda_cases_are_prepared_and_judged_without_touching_cuda(monkeypatch):
    """The grader keeps every value on the CPU and judges a CUDA case's device from where the
    child said each tensor was, so this runs (and must pass) on a machine without a GPU."""
    import numpy as np

    from grader.problems.bank import Bank
    from grader.kinds.function.kind import _test_result, prepare_cases
    from grader.sandbox.runner import CaseRun, RunStatus

    monkeypatch.setattr("grader.sandbox.devices.cuda_available", lambda: True)
    bank = Bank()
    problem = bank.get("sigmoid-backward")
    prepared = next(p for p in prepare_cases(problem, bank, device="cuda") if p.name == "batch [cuda]")
    assert prepared.call.device == "cuda" and prepared.expected.device.type == "cpu"

    def judge(value, devices):
        run = CaseRun(prepared.name, RunStatus.OK, value=value, devices=devices)
        return _test_result(problem, bank, prepared, run, 1.0, seed=0)

    right = prepared.expected.clone()
    assert judge(right, {"output": "cuda:0"}).passed
    moved = judge(right, {"output": "cpu"})
    assert moved.outcome == "device" and not moved.passed
    assert moved.output.startswith("output is on cpu, expected cuda\nthe values are right")
    assert "keep the result there" in moved.output
    as_numpy = judge(right.numpy(), {})
    assert as_numpy.outcome == "device" and "must stay tensors" in as_numpy.output
    wrong_and_moved = judge(right * 2, {"output": "cpu"})
    assert wrong_and_moved.outcome == "device" and "Mismatched elements" in wrong_and_moved.output


def test_a_cpu_case_judges_the_cpu_as_its_device(grade_source):
    result = grade_source("sigmoid-backward", CORRECT, device="cpu")
    assert result.tests and all(t.passed and t.device == "cpu" for t in result.tests)


@pytest.mark.skipif(cuda_available(), reason="needs a machine without a GPU")
def test_a_cuda_job_where_cuda_is_missing_fails_its_cases_cleanly(executor):
    """The sandbox's CUDA branch (GPU device nodes bound if present, no address-space limit)
    runs here too; without a GPU the child cannot place the inputs and says so per case."""
    from grader.sandbox.runner import Call, Job, RunStatus

    def job(device):
        return Job(files={"s.py": b"def f(x):\n    return x * 2\n"}, module="s.py", entry_point="f",
                   framework="torch", calls=[Call(name="c", args=[__import__("torch").ones(3)], kwargs={},
                                                  text="f(x)", device=device)])

    assert job("cuda").cuda
    run = executor.run(job("cuda"))
    assert run.load_error is None
    [case] = run.cases
    assert case.status is RunStatus.CRASHED and "could not put the inputs on cuda" in case.message
    [after] = executor.run(job("cpu")).cases
    assert after.status is RunStatus.OK and after.value.tolist() == [2.0, 2.0, 2.0]
    assert after.devices == {"output": "cpu"}


def test_the_graders_library_path_reaches_the_sandboxed_child(tmp_path, monkeypatch):
    """On GPU machines the CUDA driver's libraries often sit in an LD_LIBRARY_PATH folder: the
    child gets the variable and can read the folder (hidden folders stay hidden)."""
    from grader.sandbox.runner import Call, Job, RunStatus, SubprocessExecutor

    libs = tmp_path / "driver-libs"
    libs.mkdir()
    (libs / "libfake.so.1").write_text("")
    monkeypatch.setenv("LD_LIBRARY_PATH", f"{libs}:/no/such/folder")
    code = b"import os\n\ndef f():\n    return [os.environ.get('LD_LIBRARY_PATH'), sorted(os.listdir(os.environ['LD_LIBRARY_PATH']))]\n"
    run = SubprocessExecutor().run(Job(files={"s.py": code}, module="s.py", entry_point="f", framework="numpy",
                                       calls=[Call(name="c", args=[], kwargs={}, text="f()")]))
    [case] = run.cases
    assert case.status is RunStatus.OK, (case.message, run.load_error, run.stderr)
    assert case.value == [str(libs), ["libfake.so.1"]]
