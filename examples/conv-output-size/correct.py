import math


def conv_output_size(n, f, p=0, s=1):
    return math.floor((n - f + 2 * p) / s) + 1
