"""Input generation: deterministic per seed on every machine, and every distribution honoured."""
import numpy as np
import pytest

from grader.errors import SpecError
from grader.problems.inputs import bound, draw_array, seed_for_student, stream


def test_streams_are_deterministic_and_independent():
    a = stream(0, "p", "case", "x").standard_normal(5)
    assert np.array_equal(a, stream(0, "p", "case", "x").standard_normal(5))
    assert not np.array_equal(a, stream(1, "p", "case", "x").standard_normal(5))
    assert not np.array_equal(a, stream(0, "p", "case", "y").standard_normal(5))


def test_known_values_pin_the_generator_across_machines():
    # If this changes, every student's variant changes: treat it as a breaking change.
    assert seed_for_student("alice") == 2896251103491837055
    assert stream(0, "p").integers(0, 1000, size=3).tolist() == [537, 233, 872]
    assert float(stream(0, "p").standard_normal()) == 1.0870985912369704


def test_simplex_rows_are_probability_vectors_with_zeros():
    arr = draw_array({"distribution": "simplex", "zero_fraction": 0.5}, (50, 6), stream(0, "s"), "w")
    assert np.allclose(arr.sum(-1), 1.0) and (arr >= 0).all()
    assert (arr == 0).any() and ((arr > 0).sum(-1) >= 1).all()


def test_mask_keeps_one_key_per_row():
    arr = draw_array({"distribution": "mask", "p": 0.0}, (4, 5, 7), stream(0, "m"), "w")
    assert arr.any(-1).all()


def test_causal_mask_is_lower_triangular():
    arr = draw_array({"distribution": "causal"}, (2, 4, 4), stream(0, "c"), "w")
    assert np.array_equal(arr[0], np.tril(np.ones((4, 4), dtype=bool)))


def test_randint_bounds_may_name_sizes():
    arr = draw_array({"distribution": "randint", "low": 0, "high": "C - 1"}, (200,), stream(0, "r"), "w", {"C": 3})
    assert set(arr.tolist()) == {0, 1, 2}
    assert bound("C + 2", {"C": 3}, "w") == 5
    with pytest.raises(SpecError):
        bound("D - 1", {"C": 3}, "w")


def test_edge_values_are_written_in():
    arr = draw_array({"distribution": "normal", "edge": [0.0, "inf", 80.0]}, (10,), stream(0, "e"), "w")
    assert 0.0 in arr and np.inf in arr and 80.0 in arr


def test_arguments_after_an_omitted_one_go_by_keyword():
    from grader.problems.bank import Bank
    from grader.problems.inputs import case_arguments

    problem = Bank().get("attention")
    args = case_arguments(problem, "small-mask")
    assert [(a.name, a.keyword) for a in args] == [("q", False), ("k", False), ("v", False), ("mask", False)]
    problem.spec["inputs"] = {**problem.spec["inputs"], "extra": {"type": "int", "value": 1}}
    args = case_arguments(problem, "small")  # mask omitted: extra must not land in mask's slot
    assert [(a.name, a.keyword) for a in args][-1] == ("extra", True)


@pytest.mark.parametrize("framework", ["torch", "numpy"])
def test_zero_dimensional_values_keep_their_shape(framework):
    from grader.problems.inputs import to_framework

    value = to_framework(np.array(1.5), "float32", framework, "x")
    assert tuple(value.shape) == ()
