"""Convolutional layers (course notes 004)."""


def conv_output_size(n, f, p=0, s=1):
    """Output width of a convolution: floor((N - F + 2P) / S) + 1.

    n: input width, f: filter width, p: zero padding on each side, s: stride.
    """
    return (n - f + 2 * p) // s + 1
