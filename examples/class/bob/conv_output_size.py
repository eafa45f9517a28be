import math


def conv_output_size(n, f, p=0, s=1):
    # Bug: rounds up.
    return math.ceil((n - f + 2 * p) / s) + 1
