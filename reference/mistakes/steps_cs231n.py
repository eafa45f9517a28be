"""Wrong CS231n layers and update rules (CS231n signatures), for the `steps` problems."""
import numpy as np

from reference import steps_cs231n as right


# ---------------------------------------------------------------- affine layer


def affine_backward_dx_not_reshaped(dout, cache):
    """dx left as (N, D) instead of x's shape."""
    x, w, b = cache
    dx, dw, db = right.affine_backward(dout, cache)
    return dx.reshape(x.shape[0], -1), dw, db


def affine_backward_db_mean(dout, cache):
    """db averaged over the batch instead of summed."""
    dx, dw, db = right.affine_backward(dout, cache)
    return dx, dw, dout.mean(axis=0)


def affine_backward_dw_transposed(dout, cache):
    """dw = dout.T @ x2: (M, D) instead of (D, M)."""
    x, w, b = cache
    dx, dw, db = right.affine_backward(dout, cache)
    return dx, dw.T, db


def affine_forward_no_bias(x, w, b):
    """Forgets the bias (the cache is the right one)."""
    out, cache = right.affine_forward(x, w, b)
    return out - b, cache
