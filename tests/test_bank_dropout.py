"""inverted-dropout (torch) and dropout-numpy: any random stream with the right law passes;
wrong scaling or rate is named, whatever the stream."""
from __future__ import annotations

TORCH_BERNOULLI = """
import torch

def inverted_dropout(x, p, training=True):
    if not training:
        return x
    if p == 1:
        return torch.zeros_like(x)
    mask = torch.bernoulli(torch.full_like(x, 1 - p))
    return x * mask / (1 - p)
"""

TORCH_INPLACE = """
import torch

def inverted_dropout(x, p, training=True):
    out = x.clone()
    if training:
        keep = torch.rand(x.shape) < 1 - p
        out[~keep] = 0
        if p < 1:
            out.mul_(1 / (1 - p))
    return out
"""

TORCH_NO_SCALE = """
import torch

def inverted_dropout(x, p, training=True):
    if not training:
        return x.clone()
    return x * (torch.rand_like(x) >= p)
"""

TORCH_CS231N = """
import torch

def inverted_dropout(x, p, training=True):
    if not training:
        return x.clone()
    return x * (torch.rand_like(x) < p) / p
"""

NUMPY_SEEDED = """
import numpy as np

def dropout_forward(x, p, mode, seed):
    if mode == "test":
        return x
    np.random.seed(seed % (2 ** 32))
    mask = (np.random.rand(*x.shape) >= p).astype(x.dtype) / x.dtype.type(1 - p)
    return x * mask
"""

NUMPY_FLOAT64 = """
import numpy as np

def dropout_forward(x, p, mode, seed):
    if mode == "test":
        return x
    rng = np.random.default_rng(seed)
    return x * ((rng.random(x.shape) >= p) / (1 - p))
"""


def mistakes(result):
    return {t.mistake for t in result.tests if t.mistake}


def test_torch_dropout_formulations_pass(grade_source):
    for source in (TORCH_BERNOULLI, TORCH_INPLACE):
        result = grade_source("inverted-dropout", source)
        assert result.passed, [t.output for t in result.tests if not t.passed]


def test_torch_dropout_mistakes_are_named(grade_source):
    result = grade_source("inverted-dropout", TORCH_NO_SCALE)
    assert "no-scaling" in mistakes(result)
    assert any("neither 0 nor" in t.output for t in result.tests if not t.passed)
    result = grade_source("inverted-dropout", TORCH_CS231N)
    assert "keep-probability" in mistakes(result)


def test_numpy_dropout_passes_and_float64_mask_is_named(grade_source):
    result = grade_source("dropout-numpy", NUMPY_SEEDED)
    assert result.passed, [t.output for t in result.tests if not t.passed]
    result = grade_source("dropout-numpy", NUMPY_FLOAT64)
    assert not result.passed
    assert mistakes(result) == {"float64-output"}
    assert any("dtype float64, expected float32" in t.output for t in result.tests if not t.passed)


def test_statistical_problems_never_fail_their_reference_across_seeds():
    """A fresh random run of the reference passes every case for many seeds (no false fails),
    and every known mistake fails a hidden case for each of them (power)."""
    from grader.problems.bank import Bank
    from grader.kinds.function.kind import check_output, evaluate, prepare_cases

    bank = Bank()
    for problem_id, seeds in (("inverted-dropout", 25), ("dropout-numpy", 25), ("xavier-init", 4), ("he-init", 4)):
        problem = bank.get(problem_id)
        reference = bank.load_callable(problem.spec["reference"])
        mistakes = [(m, bank.load_callable(m["impl"])) for m in problem.spec["mistakes"]]
        for seed in range(100, 100 + seeds):
            prepared = prepare_cases(problem, bank, seed)
            for case in prepared:
                fresh = evaluate(reference, case.args, "native", "reference")
                assert check_output(problem, case.case, fresh, case.expected, case.args) is None, (problem_id, seed)
            for mistake, impl in mistakes:
                assert any(check_output(problem, c.case, evaluate(impl, c.args, mistake.get("precision", "float64"), "m"),
                                        c.expected, c.args) for c in prepared if not c.visible), (problem_id, mistake)
