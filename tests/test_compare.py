import collections
import math

import numpy as np
import pytest
import torch

from grader.compare.tensors import DEFAULT_TOLERANCES, Mismatch, Tolerance, compare, describe_value, tolerance_for

NAN, INF = float("nan"), float("inf")


# ---------------------------------------------------------------- tolerances


def test_default_table_matches_torch_testing():
    assert DEFAULT_TOLERANCES["float16"] == Tolerance(1e-3, 1e-5)
    assert DEFAULT_TOLERANCES["bfloat16"] == Tolerance(1.6e-2, 1e-5)
    assert DEFAULT_TOLERANCES["float32"] == Tolerance(1.3e-6, 1e-5)
    assert DEFAULT_TOLERANCES["float64"] == Tolerance(1e-7, 1e-7)
    assert DEFAULT_TOLERANCES["complex64"] == DEFAULT_TOLERANCES["float32"]
    assert DEFAULT_TOLERANCES["complex128"] == DEFAULT_TOLERANCES["float64"]


def test_tolerance_for_names_and_exact_dtypes():
    assert tolerance_for("float32") == Tolerance(1.3e-6, 1e-5)
    assert tolerance_for("torch.bfloat16") == Tolerance(1.6e-2, 1e-5)
    assert tolerance_for("float") == DEFAULT_TOLERANCES["float64"]
    assert tolerance_for("complex") == DEFAULT_TOLERANCES["complex128"]
    for name in ("int64", "torch.int32", "bool", "uint8"):
        assert tolerance_for(name) is None
    # Floats outside the table are compared exactly unless overridden.
    assert tolerance_for("float8_e4m3fn") == Tolerance(0.0, 0.0)


def test_tolerance_for_overrides_partial_and_aliases():
    ov = {"float32": {"rtol": 1e-3}, "float64": {"atol": 1e-3}}
    assert tolerance_for("float32", ov) == Tolerance(1e-3, 1e-5)
    assert tolerance_for("float64", ov) == Tolerance(1e-7, 1e-3)
    # Python floats use "float" if present, else "float64".
    assert tolerance_for("float", ov) == Tolerance(1e-7, 1e-3)
    assert tolerance_for("float", {**ov, "float": {"rtol": 0.5, "atol": 0.0}}) == Tolerance(0.5, 0.0)
    assert tolerance_for("int64", ov) is None


def test_tolerance_for_rejects_bad_overrides():
    with pytest.raises(ValueError):
        tolerance_for("float32", {"float32": {"tol": 1}})
    with pytest.raises(ValueError):
        tolerance_for("float32", {"float32": {"atol": -1}})


# ---------------------------------------------------------------- float tensors


def test_float32_tensor_off_by_1e3_fails_with_count_and_index():
    expected = torch.zeros(2, 3)
    actual = expected.clone()
    actual[1, 2] += 1e-3
    m = compare(actual, expected)
    assert m is not None and m.kind == "value" and m.path == "output"
    assert (m.mismatched, m.total) == (1, 6)
    assert m.max_abs_index == (1, 2) and m.max_rel_index == (1, 2)
    assert m.max_abs == pytest.approx(1e-3)
    assert m.max_rel == math.inf
    assert m.message == (
        "output: values are not close.\n"
        "Mismatched elements: 1 / 6 (16.7%)\n"
        "Greatest absolute difference: 0.001 at index (1, 2) (up to 1e-05 allowed)\n"
        "Greatest relative difference: inf at index (1, 2) (up to 1.3e-06 allowed)"
    )


def test_float32_within_tolerance_passes():
    expected = torch.tensor([[1.0, 2.0], [3.0, 1000.0]])
    actual = expected + torch.tensor([[5e-6, -5e-6], [0.0, 1e-3]])  # 1e-3 <= 1e-5 + 1.3e-6 * 1000
    assert compare(actual, expected) is None
    assert compare(expected.clone(), expected) is None


def test_message_reports_greatest_differences_over_mismatched_elements():
    expected = torch.tensor([[1.0, 0.5, 4.0], [2.0, 8.0, 0.5]], dtype=torch.float64)
    actual = expected.clone()
    actual[0, 1] = 0.75  # abs 0.25, rel 0.5
    actual[1, 2] = 0.25  # abs 0.25, rel 0.5 -> first occurrence wins for both
    actual[1, 1] = 8.1  # abs 0.1, rel 0.0125
    m = compare(actual, expected)
    assert (m.mismatched, m.total) == (3, 6)
    assert m.max_abs == pytest.approx(0.25) and m.max_abs_index == (0, 1)
    assert m.max_rel == pytest.approx(0.5) and m.max_rel_index == (0, 1)
    assert "Mismatched elements: 3 / 6 (50.0%)" in m.message
    assert "(up to 1e-07 allowed)" in m.message


def test_tolerance_scaled_by_expected_not_actual():
    # |a - e| = 1e6 would be "close" if the tolerance were scaled by |actual|.
    expected = torch.tensor([1.0])
    actual = torch.tensor([1e6])
    m = compare(actual, expected, overrides={"float32": {"rtol": 1.0}})
    assert m is not None and m.kind == "value"
    # ...and scaling by expected does allow relative error on large expected values.
    assert compare(torch.tensor([1.5]), torch.tensor([1.0]), overrides={"float32": {"rtol": 0.5}}) is None


def test_bfloat16_and_float16_tolerances():
    e16 = torch.tensor([1.0, 2.0], dtype=torch.float16)
    assert compare(torch.tensor([1.0, 2.0009765625], dtype=torch.float16), e16) is None  # 1 ulp at 2.0
    m = compare(torch.tensor([1.0, 2.0078125], dtype=torch.float16), e16)
    assert m.kind == "value" and "(up to 0.001 allowed)" in m.message

    ebf = torch.tensor([1.0, 2.0], dtype=torch.bfloat16)
    assert compare(torch.tensor([1.0, 2.015625], dtype=torch.bfloat16), ebf) is None  # 1 ulp at 2.0
    m = compare(torch.tensor([1.0, 2.0625], dtype=torch.bfloat16), ebf)
    assert m.kind == "value" and m.max_abs_index == (1,)
    assert "(up to 0.016 allowed)" in m.message


def test_overrides_loosen_and_tighten():
    expected = torch.tensor([1.0, 2.0])
    actual = expected + 1e-3
    assert compare(actual, expected) is not None
    assert compare(actual, expected, overrides={"float32": {"atol": 1e-2}}) is None
    tight = compare(expected + 1e-6, expected, overrides={"float32": {"rtol": 0, "atol": 0}})
    assert tight.kind == "value" and "(up to 0 allowed)" in tight.message


def test_complex_tensors_compare_abs_of_difference():
    expected = torch.tensor([1 + 1j, 2 - 1j], dtype=torch.complex64)
    assert compare(expected + 1e-6j, expected) is None
    m = compare(expected + torch.tensor([0, 1e-2j], dtype=torch.complex64), expected)
    assert m.kind == "value" and m.max_abs_index == (1,)
    assert m.max_abs == pytest.approx(1e-2, rel=1e-4)


# ---------------------------------------------------------------- NaN and inf


def test_nan_where_number_expected():
    expected = torch.zeros(2, 4)
    actual = expected.clone()
    actual[0, 3] = NAN
    actual[1, 0] = NAN
    m = compare(actual, expected)
    assert m.kind == "nan"
    assert m.message == "output has NaN at 2 positions where numbers were expected, first at index (0, 3)"
    assert m.mismatched is None


def test_number_where_nan_expected():
    expected = torch.tensor([1.0, NAN])
    m = compare(torch.tensor([1.0, 0.5]), expected)
    assert m.kind == "nan"
    assert m.message == "output has numbers at 1 position where NaN was expected, first at index (1,) (got 0.5)"


def test_matching_nans_pass():
    expected = torch.tensor([NAN, 1.0, NAN])
    assert compare(torch.tensor([NAN, 1.0 + 1e-7, NAN]), expected) is None
    assert compare(np.array([NAN, 2.0]), np.array([NAN, 2.0])) is None


def test_inf_handling():
    expected = torch.tensor([INF, -INF, 1.0])
    assert compare(expected.clone(), expected) is None
    m = compare(torch.tensor([-INF, -INF, 1.0]), expected)
    assert m.kind == "inf"
    assert m.message == (
        "output has infinite values that differ from expected at 1 position, first at index (0,) (got -inf, expected inf)"
    )
    m = compare(torch.tensor([INF, -INF, INF]), expected)
    assert m.kind == "inf" and "index (2,)" in m.message and "(got inf, expected 1)" in m.message


# ---------------------------------------------------------------- tensor attributes


def test_shape_mismatch():
    m = compare(torch.zeros(2, 3), torch.zeros(3, 2))
    assert m.kind == "shape"
    assert m.message == "output has shape (2, 3), expected (3, 2)"


def test_dtype_mismatch():
    m = compare(torch.zeros(3, dtype=torch.float64), torch.zeros(3, dtype=torch.float32))
    assert m.kind == "dtype"
    assert m.message == "output has dtype torch.float64, expected torch.float32"


def test_shape_is_checked_before_dtype():
    m = compare(torch.zeros(2, dtype=torch.float64), torch.zeros(3))
    assert m.kind == "shape"


def test_device_mismatch_uses_meta_device():
    m = compare(torch.zeros(2, device="meta"), torch.zeros(2))
    assert m.kind == "device"
    assert m.message == "output is on meta, expected cpu"


def test_zero_dim_tensor():
    expected = torch.tensor(1.5)
    assert compare(torch.tensor(1.5 + 1e-6), expected) is None
    m = compare(torch.tensor(2.0), expected)
    assert m.kind == "value" and m.max_abs_index == () and m.max_rel_index == ()
    assert "at index ()" in m.message
    assert m.max_rel == pytest.approx(0.5 / 1.5)


def test_empty_tensors_equal():
    assert compare(torch.zeros(0, 3), torch.zeros(0, 3)) is None
    assert compare(np.zeros((0,)), np.zeros((0,))) is None
    assert compare(torch.zeros(0, dtype=torch.int64), torch.zeros(0, dtype=torch.int64)) is None


def test_requires_grad_and_noncontiguous_do_not_matter():
    expected = torch.arange(6.0).reshape(2, 3)
    noncontiguous = expected.t().contiguous().t()  # same values, transposed strides
    assert not noncontiguous.is_contiguous()
    assert compare(noncontiguous, expected) is None
    assert compare(expected.clone().requires_grad_(), expected) is None


def test_integer_tensor_exact():
    expected = torch.tensor([[1, 2], [3, 4]])
    assert compare(expected.clone(), expected) is None
    m = compare(torch.tensor([[1, 2], [3, 6]]), expected)
    assert m.kind == "value" and (m.mismatched, m.total) == (1, 4)
    assert m.message == (
        "output: values are not equal.\n"
        "Mismatched elements: 1 / 4 (25.0%)\n"
        "Greatest absolute difference: 2 at index (1, 1)\n"
        "Greatest relative difference: 0.5 at index (1, 1)"
    )


def test_bool_tensor_exact():
    expected = torch.tensor([True, False, True])
    m = compare(torch.tensor([True, True, True]), expected)
    assert m.kind == "value" and (m.mismatched, m.total) == (1, 3)
    assert m.max_abs is None
    assert m.message.endswith("First mismatch at index (1,): got True, expected False")


# ---------------------------------------------------------------- numpy


def test_numpy_arrays():
    expected = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    assert compare(expected + np.float32(1e-6), expected) is None
    m = compare(expected + np.float32(0.01), expected)
    assert m.kind == "value" and m.mismatched == 4 and m.max_abs_index is not None
    assert "(up to 1.3e-06 allowed)" in m.message
    m = compare(expected.astype(np.float64), expected)
    assert m.kind == "dtype" and m.message == "output has dtype float64, expected float32"
    m = compare(np.zeros(3, dtype=np.int64), np.array([0, 0, 1]))
    assert m.kind == "value" and m.max_abs_index == (2,)


def test_numpy_vs_torch_is_a_type_mismatch():
    m = compare(np.zeros((2, 3)), torch.zeros(2, 3))
    assert m.kind == "type"
    assert m.message == "output should be a torch.Tensor, got a numpy.ndarray of shape (2, 3) and dtype float64"
    m = compare(torch.zeros(2), np.zeros(2))
    assert m.kind == "type" and m.message.startswith("output should be a numpy.ndarray, got a torch.Tensor")


def test_numpy_scalars_compared_with_their_dtype():
    assert compare(np.float32(1.0) + np.float32(1e-7), np.float32(1.0)) is None
    m = compare(np.float32(1.1), np.float32(1.0))
    assert m.kind == "value" and m.message.startswith("output is 1.1, expected 1 (difference")
    m = compare(np.float64(1.0), np.float32(1.0))
    assert m.kind == "type" and m.message == "output should be a numpy.float32, got a numpy.float64 1.0"
    assert compare(np.int64(3), np.int64(3)) is None
    assert compare(np.int64(4), np.int64(5)).message == "output is 4, expected 5"


# ---------------------------------------------------------------- Python scalars


def test_python_float_closeness_and_message():
    assert compare(0.1 + 0.2, 0.3) is None
    m = compare(0.5, 0.47)
    assert m.kind == "value" and (m.mismatched, m.total) == (1, 1)
    assert m.message == "output is 0.5, expected 0.47 (difference 0.03, up to 1.47e-07 allowed)"


def test_python_float_never_prints_two_different_numbers_the_same():
    expected = 0.3
    actual = 0.3 + 2e-7  # prints as 0.3 with :.6g, but is outside the 1e-7 tolerance
    m = compare(actual, expected)
    assert m.kind == "value"
    assert m.message.startswith(f"output is {actual!r}, expected 0.3 ")


def test_python_float_overrides_prefer_float_key():
    assert compare(0.5, 0.47, overrides={"float64": {"atol": 0.1}}) is None
    assert compare(0.5, 0.47, overrides={"float": {"atol": 0.1}, "float64": {"atol": 0}}) is None
    assert compare(0.5, 0.47, overrides={"float": {"atol": 0}, "float64": {"atol": 0.1}}) is not None


def test_python_float_nan_and_inf():
    assert compare(NAN, NAN) is None
    assert compare(INF, INF) is None
    assert compare(NAN, 1.0).kind == "nan"
    assert compare(1.0, NAN).message == "output is 1, expected nan"
    m = compare(INF, -INF)
    assert m.kind == "inf" and m.message == "output is inf, expected -inf"


def test_int_vs_float():
    m = compare(3.0, 3)
    assert m.kind == "type" and m.message == "output should be an int, got a Python float 3.0"
    m = compare(3, 3.0)
    assert m.kind == "type"
    assert m.message == "output should be a float, got a Python int 3; return a Python float with float(...)"


def test_numpy_and_tensor_scalars_where_python_float_expected():
    # numpy.float64 subclasses float with the same precision: accepted, compared by value
    assert compare(np.float64(0.5), 0.5) is None
    assert compare(np.float64(0.6), 0.5).kind == "value"
    m = compare(np.float32(0.5), 0.5)
    assert m.message == "output should be a float, got a numpy.float32 0.5; return a Python float with float(...)"
    m = compare(torch.tensor(0.5), 0.5)
    assert m.message.endswith("; return a Python float with .item()")


def test_bool_is_not_int():
    assert compare(True, 1).kind == "type"
    assert compare(True, 1).message == "output should be an int, got a Python bool True"
    assert compare(1, True).message == "output should be a bool, got a Python int 1"
    assert compare(True, True) is None
    assert compare(False, True).message == "output is False, expected True"


def test_python_ints_exact():
    assert compare(5, 5) is None
    m = compare(4, 5)
    assert m.kind == "value" and m.message == "output is 4, expected 5"


def test_strings_and_none():
    assert compare("abc", "abc") is None
    assert compare("abd", "abc").message == "output is 'abd', expected 'abc'"
    long_e = "x" * 30 + "y"
    assert "first difference at character 30" in compare("x" * 31, long_e).message
    assert compare(None, None) is None
    assert compare(0, None).message == "output should be None, got a Python int 0"
    assert compare(None, 0).message == "output should be an int, got None"


def test_python_complex():
    assert compare(1 + 1e-9j, 1 + 0j) is None
    assert compare(1 + 1e-3j, 1 + 0j).kind == "value"
    assert compare(1.0, 1 + 0j).kind == "type"


# ---------------------------------------------------------------- containers


def test_tuple_vs_list():
    m = compare([1, 2, 3], (1, 2, 3))
    assert m.kind == "type"
    assert m.message == "output should be a tuple of 3 items, got a list of 3 items"


def test_length_mismatch():
    m = compare((1, 2), (1, 2, 3))
    assert m.kind == "length" and m.message == "output has 2 items, expected 3 items"


def test_dict_keys():
    m = compare({"a": 1, "c": 2}, {"a": 1, "b": 2})
    assert m.kind == "keys"
    assert m.message == "output has missing keys 'b' and unexpected keys 'c'"
    assert compare({"a": 1}, {"a": 1, "b": 2}).message == "output has missing keys 'b'"
    assert compare({"b": 2, "a": 1}, {"a": 1, "b": 2}) is None  # order does not matter


def test_ordered_dict_accepts_plain_dict():
    expected = collections.OrderedDict(w=torch.ones(2))
    assert compare({"w": torch.ones(2)}, expected) is None


def test_nested_path_naming():
    expected = (torch.zeros(1), {"m": torch.zeros(2, 2), "v": 1.0})
    actual = (torch.zeros(1), {"m": torch.zeros(2, 3), "v": 1.0})
    m = compare(actual, expected)
    assert m.path == "output[1]['m']" and m.kind == "shape"
    assert m.message == "output[1]['m'] has shape (2, 3), expected (2, 2)"
    m = compare([[1, 2], [3, 4.0]], [[1, 2], [3, 4]])
    assert m.path == "output[1][1]" and m.message.startswith("output[1][1] should be an int")


def test_first_mismatch_depth_first_in_order():
    expected = [(1, 2), 3]
    m = compare([(1, 9), 4], expected)
    assert m.path == "output[0][1]"


def test_custom_path():
    m = compare(1, 2, path="result")
    assert m.path == "result" and m.message == "result is 1, expected 2"


def test_named_tuple_accepts_plain_tuple():
    expected = torch.max(torch.tensor([[1.0, 3.0], [2.0, 0.0]]), dim=1)
    assert compare(tuple(expected), expected) is None
    assert compare(torch.Size([2, 3]), torch.Size([2, 3])) is None
    assert compare((2, 4), torch.Size([2, 3])).path == "output[1]"


# ---------------------------------------------------------------- descriptions


def test_describe_value():
    assert describe_value(3.0) == "a Python float 3.0"
    assert describe_value(3) == "a Python int 3"
    assert describe_value(None) == "None"
    assert describe_value(torch.zeros(2, 3)) == "a torch.Tensor of shape (2, 3) and dtype torch.float32"
    assert describe_value(np.zeros(2)) == "a numpy.ndarray of shape (2,) and dtype float64"
    assert describe_value((1, 2, 3)) == "a tuple of 3 items"
    assert describe_value([1]) == "a list of 1 item"
    assert describe_value({"a": 1}) == "a dict with 1 key"
    assert describe_value(np.float32(0.5)) == "a numpy.float32 0.5"


def test_unknown_types_are_described_without_calling_their_methods():
    class Sneaky:
        def __repr__(self):
            raise AssertionError("repr called")

        def __eq__(self, other):
            raise AssertionError("eq called")

        __hash__ = object.__hash__

        def __len__(self):
            raise AssertionError("len called")

    m = compare(Sneaky(), 1.0)
    assert m.kind == "type"
    assert m.message == "output should be a float, got a test_compare.Sneaky object"
    assert compare(Sneaky(), [1]).kind == "type"
    assert compare(Sneaky(), torch.zeros(1)).kind == "type"


def test_mismatch_is_frozen_data():
    m = compare(1, 2)
    assert isinstance(m, Mismatch)
    with pytest.raises(Exception):
        m.kind = "x"


def test_whole_floats_count_as_the_expected_ints_and_fractions_are_named():
    from grader.compare.tensors import whole_floats_as_ints

    labels = np.array([0, 2, 1])
    value, fraction = whole_floats_as_ints(np.array([0.0, 2.0, 1.0]), labels)
    assert fraction is None and value.dtype == labels.dtype and compare(value, labels) is None
    value, fraction = whole_floats_as_ints((1.5, {"y": torch.tensor([0.0, 2.5])}), (1, {"y": torch.tensor([0, 2])}))
    assert fraction.message == "output[1]['y'] holds 2.5 at index (1,), not a whole number: expected int64 labels"
    _, fraction = whole_floats_as_ints(np.array([np.nan, 1.0]), labels[:2])
    assert "holds nan at index (0,)" in fraction.message
    for actual, expected in [(np.array([1.0, 2.0]), np.array([1.0, 2.0])),   # floats expected: untouched
                             (np.array([1.0, 2.0]), np.array([1, 2, 3])),     # another shape: the shape check says so
                             (torch.tensor([1.0]), np.array([1])),            # a tensor for an array: the type check
                             (np.array([True]), np.array([1]))]:              # not floats
        value, fraction = whole_floats_as_ints(actual, expected)
        assert value is actual and fraction is None
    big = np.array([2.0 ** 60])
    assert whole_floats_as_ints(big, np.array([1]))[0] is big  # past exact floats: left to the dtype check
