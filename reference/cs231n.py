"""CS231n-style layers, losses and update rules in NumPy (course notes 003, 004).

The signatures follow the CS231n assignments (layers.py, optim.py), with two changes made so a
grader can compare results: a forward pass returns only `out` (no cache), and an update rule
takes its hyper-parameters and state as explicit arguments instead of a `config` dict and
returns the new state.

Shapes: N samples, D features (flattened), M outputs, C classes or channels, F filters.
"""
import numpy as np


# ---------------------------------------------------------------- affine


def affine_forward(x, w, b):
    """Fully connected layer: out = x2 @ w + b, with x2 = x reshaped to (N, D).

    x: (N, d_1, ..., d_k), D = d_1 * ... * d_k;  w: (D, M);  b: (M,)  ->  out: (N, M)
    Each sample's features are flattened in C (row-major) order, as x.reshape(N, -1) does.
    """
    N = x.shape[0]
    x2 = x.reshape(N, -1)  # (N, D)
    return x2 @ w + b  # (N, M)


def affine_backward(dout, x, w, b):
    """Backward pass of out = x2 @ w + b.

    dx = (dout @ w.T) reshaped to x.shape     (N, d_1, ..., d_k)
    dw = x2.T @ dout                           (D, M)
    db = sum of dout over the batch            (M,)
    """
    N = x.shape[0]
    x2 = x.reshape(N, -1)  # (N, D)
    dx = (dout @ w.T).reshape(x.shape)  # (N, D) -> (N, d_1, ..., d_k)
    dw = x2.T @ dout  # (D, N) @ (N, M) = (D, M)
    db = dout.sum(axis=0)  # (M,)
    return dx, dw, db


# ---------------------------------------------------------------- ReLU


def relu_forward(x):
    """ReLU: out = max(0, x), element by element; same shape and dtype as x."""
    return np.maximum(x, 0)


def relu_backward(dout, x):
    """Backward pass of ReLU: dx = dout where x > 0, else 0 (the gradient at x = 0 is 0)."""
    return dout * (x > 0)


# ---------------------------------------------------------------- losses


def softmax_loss(x, y):
    """Softmax classifier loss and its gradient, averaged over the batch.

    p_ij = exp(x_ij - max_j x_ij) / sum_k exp(x_ik - max_j x_ij)    (shifted: no overflow)
    loss = -(1/N) * sum_i log p_{i, y_i}
    dx   = (p - onehot(y)) / N                                       (the "y - t" gradient)

    x: (N, C) scores;  y: (N,) integer labels in [0, C)  ->  (loss: Python float, dx: (N, C))
    """
    N = x.shape[0]
    shifted = x - x.max(axis=1, keepdims=True)  # (N, C), largest score 0
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # (N, C)
    loss = -log_probs[np.arange(N), y].mean()
    dx = np.exp(log_probs)  # (N, C) probabilities
    dx[np.arange(N), y] -= 1
    dx /= N
    return float(loss), dx


def svm_loss(x, y):
    """Multiclass SVM (hinge) loss with margin 1, averaged over the batch.

    margin_ij = max(0, x_ij - x_{i, y_i} + 1) for j != y_i (0 for j = y_i)
    loss = (1/N) * sum_ij margin_ij
    dx_ij = (1/N) * [margin_ij > 0]               for j != y_i
    dx_{i, y_i} = -(1/N) * #{j : margin_ij > 0}

    x: (N, C);  y: (N,)  ->  (loss: Python float, dx: (N, C))
    """
    N = x.shape[0]
    rows = np.arange(N)
    correct = x[rows, y][:, None]  # (N, 1)
    margins = np.maximum(0, x - correct + 1)  # (N, C)
    margins[rows, y] = 0
    loss = margins.sum() / N
    positive = (margins > 0).astype(x.dtype)  # (N, C)
    positive[rows, y] = -positive.sum(axis=1)
    dx = positive / N
    return float(loss), dx


# ---------------------------------------------------------------- batch normalization


def batchnorm_forward(x, gamma, beta, eps=1e-5):
    """Batch normalization, training mode (Ioffe & Szegedy 2015).

    mu = mean of x over the batch, var = biased variance (divide by N)    (D,)
    x_hat = (x - mu) / sqrt(var + eps)                                     (N, D)
    out = gamma * x_hat + beta                                             (N, D)
    """
    mu = x.mean(axis=0)  # (D,)
    var = ((x - mu) ** 2).mean(axis=0)  # (D,), biased
    x_hat = (x - mu) / np.sqrt(var + eps)  # (N, D)
    return gamma * x_hat + beta


def batchnorm_backward(dout, x, gamma, beta, eps=1e-5):
    """Backward pass of training-mode batch normalization.

    With x_hat and inv_std = 1 / sqrt(var + eps) from the forward pass:
    dbeta  = sum_i dout_i                                                  (D,)
    dgamma = sum_i dout_i * x_hat_i                                        (D,)
    dx = (gamma * inv_std / N) * (N * dout - dbeta - x_hat * dgamma)      (N, D)
    """
    N = x.shape[0]
    mu = x.mean(axis=0)  # (D,)
    var = ((x - mu) ** 2).mean(axis=0)  # (D,)
    inv_std = 1.0 / np.sqrt(var + eps)  # (D,)
    x_hat = (x - mu) * inv_std  # (N, D)
    dbeta = dout.sum(axis=0)  # (D,)
    dgamma = (dout * x_hat).sum(axis=0)  # (D,)
    dx = (gamma * inv_std / N) * (N * dout - dbeta - x_hat * dgamma)  # (N, D)
    return dx, dgamma, dbeta


# ---------------------------------------------------------------- convolution and pooling


def conv_forward_naive(x, w, b, stride, pad):
    """Convolution layer forward pass (cross-correlation, as in CS231n and PyTorch).

    x: (N, C, H, W);  w: (F, C, HH, WW);  b: (F,)
    x is zero-padded by `pad` on all four sides, then
    out[n, f, i, j] = sum_{c, k, l} x_pad[n, c, i*stride + k, j*stride + l] * w[f, c, k, l] + b[f]
    out: (N, F, H_out, W_out), H_out = 1 + (H + 2*pad - HH) // stride (floor), W_out likewise.
    """
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))  # (N, C, H + 2p, W + 2p)
    out = np.zeros((N, F, H_out, W_out), dtype=x.dtype)
    for i in range(H_out):
        for j in range(W_out):
            window = x_pad[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]  # (N, C, HH, WW)
            # (N, C*HH*WW) @ (C*HH*WW, F) -> (N, F)
            out[:, :, i, j] = window.reshape(N, -1) @ w.reshape(F, -1).T + b
    return out


def max_pool_forward_naive(x, pool_height, pool_width, stride):
    """Max pooling forward pass, no padding.

    x: (N, C, H, W)  ->  out: (N, C, H_out, W_out)
    out[n, c, i, j] = max_{k < pool_height, l < pool_width} x[n, c, i*stride + k, j*stride + l]
    H_out = 1 + (H - pool_height) // stride,  W_out = 1 + (W - pool_width) // stride  (floor)
    """
    N, C, H, W = x.shape
    H_out = 1 + (H - pool_height) // stride
    W_out = 1 + (W - pool_width) // stride
    out = np.zeros((N, C, H_out, W_out), dtype=x.dtype)
    for i in range(H_out):
        for j in range(W_out):
            window = x[:, :, i * stride:i * stride + pool_height, j * stride:j * stride + pool_width]
            out[:, :, i, j] = window.max(axis=(2, 3))  # (N, C)
    return out


# ---------------------------------------------------------------- update rules (optim.py)


def sgd_momentum(w, dw, velocity, learning_rate=1e-2, momentum=0.9):
    """SGD with momentum, CS231n form (learning rate inside the velocity).

    v = momentum * v - learning_rate * dw
    next_w = w + v
    Returns (next_w, v).
    """
    v = momentum * velocity - learning_rate * dw
    next_w = w + v
    return next_w, v


def rmsprop(w, dw, cache, learning_rate=1e-2, decay_rate=0.99, epsilon=1e-8):
    """RMSProp (Hinton, Lecture 6e), CS231n form.

    cache = decay_rate * cache + (1 - decay_rate) * dw**2
    next_w = w - learning_rate * dw / (sqrt(cache) + epsilon)     (epsilon after the sqrt)
    Returns (next_w, cache).
    """
    cache = decay_rate * cache + (1 - decay_rate) * dw ** 2
    next_w = w - learning_rate * dw / (np.sqrt(cache) + epsilon)
    return next_w, cache


def adam(w, dw, m, v, t, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8):
    """Adam (Kingma & Ba 2015), CS231n form: t counts the steps taken so far and is
    incremented FIRST, so the bias correction of this step uses t + 1.

    t = t + 1
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw**2
    m_hat = m / (1 - beta1**t),  v_hat = v / (1 - beta2**t)    (the incremented t)
    next_w = w - learning_rate * m_hat / (sqrt(v_hat) + epsilon)
    Returns (next_w, m, v, t) with the incremented t (a Python int).
    """
    t = t + 1
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw ** 2
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    next_w = w - learning_rate * m_hat / (np.sqrt(v_hat) + epsilon)
    return next_w, m, v, t
