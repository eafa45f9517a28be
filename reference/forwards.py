"""Trusted forward passes used by numerical gradient checks (spec field `gradcheck`).

A gradient check differentiates these by central differences in float64 and compares the
result with the student's backward; keep them plain and obviously right.
"""
import torch


def sigmoid(x):
    """y = 1 / (1 + e^-x)."""
    return torch.sigmoid(x)
