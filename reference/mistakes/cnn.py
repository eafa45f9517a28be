"""Wrong convolution output sizes students write."""
import math


def conv_output_size_ceil(n, f, p=0, s=1):
    """Rounds up when the stride does not divide."""
    return math.ceil((n - f + 2 * p) / s) + 1


def conv_output_size_single_padding(n, f, p=0, s=1):
    """Counts the padding once instead of on both sides."""
    return (n - f + p) // s + 1


def conv_output_size_float(n, f, p=0, s=1):
    """True division: returns a float such as 28.0 (or 28.5)."""
    return (n - f + 2 * p) / s + 1


def conv_output_size_no_plus_one(n, f, p=0, s=1):
    """Forgets the + 1 (the first position of the filter)."""
    return (n - f + 2 * p) // s
