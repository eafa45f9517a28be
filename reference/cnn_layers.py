"""Convolution and pooling layers, written out by hand (course notes 004; CS231n assignment 2).

Layout is PyTorch's: x (N, C, H, W), conv weights (K, C, F, F). Output sizes follow
out = (H - F + 2P) // S + 1 (reference/cnn.py). The loops run over output positions only and
vectorise over the batch, so the code stays close to the formula.
"""
import torch


def conv_param_count(F, C, K):
    """Learnable parameters of a conv layer with K filters of size F x F over C input channels.

    Each filter has F * F * C weights and 1 bias:  K * (F^2 * C + 1)   (notes 004)
    """
    return K * (F * F * C + 1)


def conv2d_forward(x, w, b, stride=1, pad=0):
    """Naive conv2d forward (cross-correlation, as torch.nn.functional.conv2d).

    x: (N, C, H, W), w: (K, C, F, F), b: (K,); zero padding `pad` on each side.
    out[n, k, i, j] = b[k] + sum_{c, u, v} w[k, c, u, v] * xp[n, c, i*S + u, j*S + v]
    H' = (H + 2P - F) // S + 1, W' likewise. Returns (N, K, H', W').
    """
    N, C, H, W = x.shape
    K, _, F, _ = w.shape
    xp = torch.nn.functional.pad(x, (pad, pad, pad, pad))       # (N, C, H + 2P, W + 2P)
    H_out = (H + 2 * pad - F) // stride + 1
    W_out = (W + 2 * pad - F) // stride + 1
    out = x.new_zeros((N, K, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            window = xp[:, :, i * stride:i * stride + F, j * stride:j * stride + F]   # (N, C, F, F)
            out[:, :, i, j] = torch.einsum("ncuv,kcuv->nk", window, w) + b          # (N, K)
    return out


def _windows(x, pool, stride):
    """Yield (i, j, window) for every pooling window of x (N, C, H, W); window is (N, C, pool, pool)."""
    H_out = (x.shape[2] - pool) // stride + 1
    W_out = (x.shape[3] - pool) // stride + 1
    for i in range(H_out):
        for j in range(W_out):
            yield i, j, x[:, :, i * stride:i * stride + pool, j * stride:j * stride + pool]


def _pool_shape(x, pool, stride):
    N, C, H, W = x.shape
    return N, C, (H - pool) // stride + 1, (W - pool) // stride + 1


def maxpool2d_forward(x, pool=2, stride=2):
    """Max pooling over pool x pool windows with stride `stride`, no padding (floor mode).

    out[n, c, i, j] = max_{u, v < pool} x[n, c, i*S + u, j*S + v];  H' = (H - pool) // S + 1.
    """
    out = x.new_empty(_pool_shape(x, pool, stride))
    for i, j, window in _windows(x, pool, stride):
        out[:, :, i, j] = window.amax(dim=(2, 3))
    return out


def maxpool2d_backward(dout, x, pool=2, stride=2):
    """Backward of maxpool2d_forward: each window's upstream gradient goes to its maximum.

    dx[n, c, argmax of window (i, j)] += dout[n, c, i, j]
    Ties: the first maximum in row-major order of the window gets it (as PyTorch on CPU).
    Overlapping windows (stride < pool) add their gradients. Returns dx shaped like x.
    """
    dx = torch.zeros_like(x)
    N, C = x.shape[:2]
    for i, j, window in _windows(x, pool, stride):
        flat = window.reshape(N, C, pool * pool).argmax(dim=2)    # (N, C), first max
        u, v = flat // pool, flat % pool                          # position inside the window
        n_idx = torch.arange(N).view(N, 1).expand(N, C)
        c_idx = torch.arange(C).view(1, C).expand(N, C)
        dx.index_put_((n_idx, c_idx, i * stride + u, j * stride + v), dout[:, :, i, j], accumulate=True)
    return dx


def avgpool2d_forward(x, pool=2, stride=2):
    """Average pooling over pool x pool windows with stride `stride`, no padding (floor mode).

    out[n, c, i, j] = 1/pool^2 * sum_{u, v < pool} x[n, c, i*S + u, j*S + v]
    """
    out = x.new_empty(_pool_shape(x, pool, stride))
    for i, j, window in _windows(x, pool, stride):
        out[:, :, i, j] = window.mean(dim=(2, 3))
    return out


def avgpool2d_backward(dout, x, pool=2, stride=2):
    """Backward of avgpool2d_forward: each window spreads dout / pool^2 over its pool^2 inputs.

    dx[n, c, i*S + u, j*S + v] += dout[n, c, i, j] / pool^2   (overlapping windows add up)
    `x` is only needed for its shape. Returns dx shaped like x.
    """
    dx = torch.zeros_like(x)
    H_out, W_out = dout.shape[2], dout.shape[3]
    for i in range(H_out):
        for j in range(W_out):
            share = dout[:, :, i, j] / (pool * pool)                 # (N, C)
            dx[:, :, i * stride:i * stride + pool, j * stride:j * stride + pool] += share[:, :, None, None]
    return dx
