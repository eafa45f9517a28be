"""Comparing a student's values with the expected ones: tolerances, tensors, comparators."""
