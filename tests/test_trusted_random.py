"""Trusted code with random output (an initialiser's reference or known mistake) runs with a fixed
random state (grader/kinds/function/kind.py evaluate), so `grader validate` and mistake matching
give the same answer on every run: before, xavier-init's `lecun` mistake was caught by case
'random-2' in about one run in five, depending on what had drawn random numbers before."""
from __future__ import annotations

import random
import threading

import numpy as np
import torch

from grader.kinds.function.kind import evaluate
from grader.problems.inputs import Argument


def draws(n):
    return [torch.randn(n), torch.tensor(np.random.rand(n)), torch.tensor([random.random() for _ in range(n)])]


def test_the_same_call_draws_the_same_numbers_whatever_ran_before():
    args = [Argument(name="n", value=3, keyword=False)]
    first = evaluate(draws, args, "native", "test")
    torch.randn(100), np.random.rand(7), random.random()  # other code draws in between
    second = evaluate(draws, args, "native", "test")
    for a, b in zip(first, second):
        assert torch.equal(a, b)


def test_the_callers_random_state_is_left_as_it_was():
    torch.manual_seed(1), np.random.seed(1), random.seed(1)
    expected = [torch.rand(2), np.random.rand(2), random.random()]
    torch.manual_seed(1), np.random.seed(1), random.seed(1)
    evaluate(draws, [Argument(name="n", value=5, keyword=False)], "native", "test")
    got = [torch.rand(2), np.random.rand(2), random.random()]
    assert torch.equal(got[0], expected[0]) and np.array_equal(got[1], expected[1]) and got[2] == expected[2]


def test_threads_calling_at_once_each_get_the_fixed_draws():
    args = [Argument(name="n", value=50, keyword=False)]
    want = evaluate(draws, args, "native", "test")
    got = []
    threads = [threading.Thread(target=lambda: got.append(evaluate(draws, args, "native", "test"))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 8 and all(all(torch.equal(a, b) for a, b in zip(g, want)) for g in got)
