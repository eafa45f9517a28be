"""Wrong conv parameter counts, conv2d forwards and pooling layers students write."""
import math

import torch

from ..cnn_layers import _pool_shape, _windows, avgpool2d_backward, conv2d_forward, maxpool2d_backward


# ---- conv_param_count(F, C, K) = K (F^2 C + 1)

def conv_param_count_no_bias(F, C, K):
    """Forgets the one bias per filter."""
    return K * F * F * C


def conv_param_count_no_channels(F, C, K):
    """Counts F x F weights per filter, forgetting that a filter spans all C input channels."""
    return K * (F * F + 1)


def conv_param_count_bias_per_channel(F, C, K):
    """One bias per input channel of each filter: K C (F^2 + 1)."""
    return K * C * (F * F + 1)


def conv_param_count_float(F, C, K):
    """math.pow returns a float: 456.0 instead of 456."""
    return K * (math.pow(F, 2) * C + 1)


# ---- conv2d forward

def conv2d_flipped_kernel(x, w, b, stride=1, pad=0):
    """A true (flipped-kernel) convolution; deep-learning 'conv' layers are cross-correlations."""
    return conv2d_forward(x, torch.flip(w, dims=(2, 3)), b, stride, pad)


def conv2d_no_bias(x, w, b, stride=1, pad=0):
    """Forgets to add the bias."""
    return conv2d_forward(x, w, torch.zeros_like(b), stride, pad)


def conv2d_stride_ignored(x, w, b, stride=1, pad=0):
    """Slides the filter one pixel at a time whatever the stride."""
    return conv2d_forward(x, w, b, 1, pad)


def conv2d_padding_ignored(x, w, b, stride=1, pad=0):
    """Never pads the input."""
    return conv2d_forward(x, w, b, stride, 0)


# ---- max pooling forward

def maxpool2d_average(x, pool=2, stride=2):
    """Takes the mean of each window instead of its maximum."""
    out = x.new_empty(_pool_shape(x, pool, stride))
    for i, j, window in _windows(x, pool, stride):
        out[:, :, i, j] = window.mean(dim=(2, 3))
    return out


def maxpool2d_stride_is_pool(x, pool=2, stride=2):
    """Ignores `stride` and moves by the window size (non-overlapping windows)."""
    out = x.new_empty(_pool_shape(x, pool, pool))
    for i, j, window in _windows(x, pool, pool):
        out[:, :, i, j] = window.amax(dim=(2, 3))
    return out


def maxpool2d_ceil_mode(x, pool=2, stride=2):
    """Keeps a last, partial window at the border (ceil mode) instead of dropping it."""
    N, C, H, W = x.shape
    H_out = -(-(H - pool) // stride) + 1
    W_out = -(-(W - pool) // stride) + 1
    H_out -= (H_out - 1) * stride >= H          # as PyTorch: the last window must start inside
    W_out -= (W_out - 1) * stride >= W
    out = x.new_empty((N, C, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            out[:, :, i, j] = x[:, :, i * stride:i * stride + pool, j * stride:j * stride + pool].amax(dim=(2, 3))
    return out


def maxpool2d_max_over_channels(x, pool=2, stride=2):
    """Also takes the maximum across the channels (pools a 3-D block instead of each channel)."""
    out = x.new_empty(_pool_shape(x, pool, stride))
    for i, j, window in _windows(x, pool, stride):
        out[:, :, i, j] = window.amax(dim=(1, 2, 3))[:, None]
    return out


# ---- max pooling backward

def maxpool2d_backward_overwrite(dout, x, pool=2, stride=2):
    """Assigns (=) instead of adding: with overlapping windows a later window overwrites."""
    dx = torch.zeros_like(x)
    N, C = x.shape[:2]
    for i, j, window in _windows(x, pool, stride):
        flat = window.reshape(N, C, pool * pool).argmax(dim=2)
        u, v = flat // pool, flat % pool
        n_idx = torch.arange(N).view(N, 1).expand(N, C)
        c_idx = torch.arange(C).view(1, C).expand(N, C)
        dx[n_idx, c_idx, i * stride + u, j * stride + v] = dout[:, :, i, j]
    return dx


def maxpool2d_backward_all_ties(dout, x, pool=2, stride=2):
    """mask = (window == max): every tied maximum gets the whole gradient."""
    dx = torch.zeros_like(x)
    for i, j, window in _windows(x, pool, stride):
        mask = window == window.amax(dim=(2, 3), keepdim=True)
        dx[:, :, i * stride:i * stride + pool, j * stride:j * stride + pool] += mask * dout[:, :, i, j, None, None]
    return dx


def maxpool2d_backward_spread(dout, x, pool=2, stride=2):
    """Spreads the gradient evenly over the window: the average-pooling backward."""
    return avgpool2d_backward(dout, x, pool, stride)


def maxpool2d_backward_mask_only(dout, x, pool=2, stride=2):
    """Puts 1 at each maximum, forgetting to multiply by the upstream gradient."""
    return maxpool2d_backward(torch.ones_like(dout), x, pool, stride)


# ---- average pooling forward

def avgpool2d_sum(x, pool=2, stride=2):
    """Sums each window without dividing by pool^2."""
    out = x.new_empty(_pool_shape(x, pool, stride))
    for i, j, window in _windows(x, pool, stride):
        out[:, :, i, j] = window.sum(dim=(2, 3))
    return out


def avgpool2d_divide_by_pool(x, pool=2, stride=2):
    """Divides the window sum by pool instead of pool^2."""
    return avgpool2d_sum(x, pool, stride) / pool


def avgpool2d_stride_is_pool(x, pool=2, stride=2):
    """Ignores `stride` and moves by the window size."""
    out = x.new_empty(_pool_shape(x, pool, pool))
    for i, j, window in _windows(x, pool, pool):
        out[:, :, i, j] = window.mean(dim=(2, 3))
    return out


# ---- average pooling backward

def avgpool2d_backward_no_division(dout, x, pool=2, stride=2):
    """Copies dout into every position of the window without dividing by pool^2."""
    return avgpool2d_backward(dout, x, pool, stride) * (pool * pool)


def avgpool2d_backward_divide_by_pool(dout, x, pool=2, stride=2):
    """Divides by pool instead of pool^2."""
    return avgpool2d_backward(dout, x, pool, stride) * pool


def avgpool2d_backward_overwrite(dout, x, pool=2, stride=2):
    """Assigns (=) instead of adding: with overlapping windows a later window overwrites."""
    dx = torch.zeros_like(x)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            dx[:, :, i * stride:i * stride + pool, j * stride:j * stride + pool] = \
                (dout[:, :, i, j] / (pool * pool))[:, :, None, None]
    return dx
