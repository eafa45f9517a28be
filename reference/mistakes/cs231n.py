"""Wrong CS231n-style layers, losses and update rules that students write (NumPy)."""
import numpy as np


# ---------------------------------------------------------------- affine_forward


def affine_forward_no_bias(x, w, b):
    """Forgets the bias."""
    return x.reshape(x.shape[0], -1) @ w


def affine_forward_transposed_reshape(x, w, b):
    """Reshapes to (D, N) and transposes: the right shape, but features from several samples mixed."""
    N = x.shape[0]
    return x.reshape(-1, N).T @ w + b


def affine_forward_float64(x, w, b):
    """Loops into np.zeros((N, M)), which is float64 whatever the input dtype."""
    N = x.shape[0]
    x2 = x.reshape(N, -1)
    out = np.zeros((N, w.shape[1]))
    for i in range(N):
        out[i] = x2[i] @ w + b
    return out


# ---------------------------------------------------------------- affine_backward


def affine_backward_dx_not_reshaped(dout, x, w, b):
    """Returns dx as (N, D) instead of x's shape."""
    x2 = x.reshape(x.shape[0], -1)
    return dout @ w.T, x2.T @ dout, dout.sum(axis=0)


def affine_backward_db_mean(dout, x, w, b):
    """Averages dout over the batch for db instead of summing."""
    x2 = x.reshape(x.shape[0], -1)
    return (dout @ w.T).reshape(x.shape), x2.T @ dout, dout.mean(axis=0)


def affine_backward_dw_transposed(dout, x, w, b):
    """dw = dout.T @ x2, of shape (M, D): the transpose of w's shape."""
    x2 = x.reshape(x.shape[0], -1)
    return (dout @ w.T).reshape(x.shape), dout.T @ x2, dout.sum(axis=0)


def affine_backward_dw_mean(dout, x, w, b):
    """Divides dw and db by N, as if the layer averaged over the batch."""
    N = x.shape[0]
    x2 = x.reshape(N, -1)
    return (dout @ w.T).reshape(x.shape), x2.T @ dout / N, dout.sum(axis=0) / N


# ---------------------------------------------------------------- relu_forward


def relu_forward_leaky(x):
    """Leaky ReLU with slope 0.01 for negative inputs."""
    return np.where(x > 0, x, 0.01 * x)


def relu_forward_reduce_max(x):
    """np.max(x, 0) reduces over axis 0; the element-wise maximum is np.maximum(x, 0)."""
    return np.max(x, 0)


def relu_forward_abs(x):
    """|x| instead of max(0, x)."""
    return np.abs(x)


def relu_forward_float64(x):
    """Right values, but built in np.zeros(x.shape), which is float64 whatever x's dtype."""
    out = np.zeros(x.shape)
    out[x > 0] = x[x > 0]
    return out


# ---------------------------------------------------------------- relu_backward


def relu_backward_ge_zero(dout, x):
    """Passes the gradient where x >= 0; the convention here is 0 at x = 0."""
    return dout * (x >= 0)


def relu_backward_no_upstream(dout, x):
    """Returns the local derivative (the 0/1 mask) without multiplying by dout."""
    return (x > 0).astype(x.dtype)


def relu_backward_mask_from_dout(dout, x):
    """Masks with dout > 0 instead of x > 0."""
    return dout * (dout > 0)


def relu_backward_times_x(dout, x):
    """Multiplies dout by relu(x) instead of by the 0/1 derivative."""
    return dout * np.maximum(x, 0)


# ---------------------------------------------------------------- softmax_loss


def softmax_loss_no_shift(x, y):
    """No max-subtraction: exp overflows to inf for large scores and the loss becomes nan/inf."""
    N = x.shape[0]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        e = np.exp(x)
        p = e / e.sum(axis=1, keepdims=True)
        loss = -np.log(p[np.arange(N), y]).mean()
    dx = p.copy()
    dx[np.arange(N), y] -= 1
    return float(loss), dx / N


def softmax_loss_sum(x, y):
    """Sums the loss and the gradient over the batch instead of averaging."""
    N = x.shape[0]
    shifted = x - x.max(axis=1, keepdims=True)
    p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(N), y]).sum()
    dx = p.copy()
    dx[np.arange(N), y] -= 1
    return float(loss), dx


def softmax_loss_dx_not_averaged(x, y):
    """Averages the loss but forgets to divide dx by N."""
    N = x.shape[0]
    shifted = x - x.max(axis=1, keepdims=True)
    p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(N), y]).mean()
    dx = p.copy()
    dx[np.arange(N), y] -= 1
    return float(loss), dx


def softmax_loss_dx_sign(x, y):
    """dx = (onehot(y) - p) / N: the sign of the gradient is flipped."""
    N = x.shape[0]
    shifted = x - x.max(axis=1, keepdims=True)
    p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(N), y]).mean()
    dx = -p
    dx[np.arange(N), y] += 1
    return float(loss), dx / N


# ---------------------------------------------------------------- svm_loss


def svm_loss_counts_correct_class(x, y):
    """Does not exclude j = y_i: every sample adds a margin of 1 for its own class."""
    N = x.shape[0]
    rows = np.arange(N)
    margins = np.maximum(0, x - x[rows, y][:, None] + 1)
    loss = margins.sum() / N
    positive = (margins > 0).astype(x.dtype)
    positive[rows, y] -= positive.sum(axis=1)
    return float(loss), positive / N


def svm_loss_no_average(x, y):
    """Sums the loss and the gradient over the batch instead of averaging."""
    N = x.shape[0]
    rows = np.arange(N)
    margins = np.maximum(0, x - x[rows, y][:, None] + 1)
    margins[rows, y] = 0
    positive = (margins > 0).astype(x.dtype)
    positive[rows, y] = -positive.sum(axis=1)
    return float(margins.sum()), positive


def svm_loss_no_correct_class_grad(x, y):
    """Right loss, but dx is 0 in the correct class instead of -(number of positive margins)/N."""
    N = x.shape[0]
    rows = np.arange(N)
    margins = np.maximum(0, x - x[rows, y][:, None] + 1)
    margins[rows, y] = 0
    positive = (margins > 0).astype(x.dtype)
    return float(margins.sum() / N), positive / N


def svm_loss_zero_margin(x, y):
    """Margin 0 instead of 1: max(0, x_j - x_y)."""
    N = x.shape[0]
    rows = np.arange(N)
    margins = np.maximum(0, x - x[rows, y][:, None])
    margins[rows, y] = 0
    positive = (margins > 0).astype(x.dtype)
    positive[rows, y] = -positive.sum(axis=1)
    return float(margins.sum() / N), positive / N


# ---------------------------------------------------------------- batchnorm_forward


def batchnorm_forward_unbiased_var(x, gamma, beta, eps=1e-5):
    """Unbiased variance (divides by N - 1); batch norm normalises with the biased one."""
    mu = x.mean(axis=0)
    var = x.var(axis=0, ddof=1)
    return gamma * (x - mu) / np.sqrt(var + eps) + beta


def batchnorm_forward_eps_outside(x, gamma, beta, eps=1e-5):
    """Divides by sqrt(var) + eps instead of sqrt(var + eps)."""
    mu = x.mean(axis=0)
    var = x.var(axis=0)
    return gamma * (x - mu) / (np.sqrt(var) + eps) + beta


def batchnorm_forward_feature_axis(x, gamma, beta, eps=1e-5):
    """Normalises each sample over its features (axis 1: layer norm), not each feature over the batch."""
    mu = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)
    return gamma * (x - mu) / np.sqrt(var + eps) + beta


def batchnorm_forward_no_affine(x, gamma, beta, eps=1e-5):
    """Returns x_hat without the scale gamma and shift beta."""
    mu = x.mean(axis=0)
    return (x - mu) / np.sqrt(x.var(axis=0) + eps)


# ---------------------------------------------------------------- batchnorm_backward


def _bn_parts(x, eps):
    mu = x.mean(axis=0)
    inv_std = 1.0 / np.sqrt(x.var(axis=0) + eps)
    return (x - mu) * inv_std, inv_std


def batchnorm_backward_constant_stats(dout, x, gamma, beta, eps=1e-5):
    """Treats the batch mean and variance as constants: dx = dout * gamma / sqrt(var + eps)."""
    x_hat, inv_std = _bn_parts(x, eps)
    return dout * gamma * inv_std, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


def batchnorm_backward_mean_only(dout, x, gamma, beta, eps=1e-5):
    """Back-propagates through the mean but treats the variance as a constant."""
    x_hat, inv_std = _bn_parts(x, eps)
    dx = gamma * inv_std * (dout - dout.mean(axis=0))
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


def batchnorm_backward_dgamma_uses_x(dout, x, gamma, beta, eps=1e-5):
    """dgamma = sum(dout * x) with the raw input instead of the normalised x_hat."""
    x_hat, inv_std = _bn_parts(x, eps)
    N = x.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx = (gamma * inv_std / N) * (N * dout - dbeta - x_hat * dgamma)
    return dx, (dout * x).sum(axis=0), dbeta


def batchnorm_backward_dgamma_dbeta_swapped(dout, x, gamma, beta, eps=1e-5):
    """Right values, returned as (dx, dbeta, dgamma)."""
    x_hat, inv_std = _bn_parts(x, eps)
    N = x.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx = (gamma * inv_std / N) * (N * dout - dbeta - x_hat * dgamma)
    return dx, dbeta, dgamma


# ---------------------------------------------------------------- conv_forward_naive


def _conv(x_pad, w, b, stride, H_out, W_out):
    N = x_pad.shape[0]
    F, _, HH, WW = w.shape
    out = np.zeros((N, F, H_out, W_out), dtype=x_pad.dtype)
    for i in range(H_out):
        for j in range(W_out):
            window = x_pad[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
            out[:, :, i, j] = window.reshape(N, -1) @ w.reshape(F, -1).T + b
    return out


def conv_forward_no_padding(x, w, b, stride, pad):
    """Forgets the zero padding: slides over the unpadded x (a smaller output)."""
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    return _conv(x, w, b, stride, 1 + (H - HH) // stride, 1 + (W - WW) // stride)


def conv_forward_no_bias(x, w, b, stride, pad):
    """Forgets the bias b[f]."""
    return _conv_ok(x, w, np.zeros_like(b), stride, pad)


def conv_forward_flipped_kernel(x, w, b, stride, pad):
    """Flips the kernel (textbook convolution); CS231n and PyTorch layers use cross-correlation."""
    return _conv_ok(x, w[:, :, ::-1, ::-1], b, stride, pad)


def conv_forward_ignores_stride(x, w, b, stride, pad):
    """Always slides the window by 1."""
    return _conv_ok(x, w, b, 1, pad)


def _conv_ok(x, w, b, stride, pad):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out, W_out = 1 + (H + 2 * pad - HH) // stride, 1 + (W + 2 * pad - WW) // stride
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    return _conv(x_pad, w, b, stride, H_out, W_out)


# ---------------------------------------------------------------- max_pool_forward_naive


def _pool(x, pool_height, pool_width, stride, reduce):
    N, C, H, W = x.shape
    H_out, W_out = 1 + (H - pool_height) // stride, 1 + (W - pool_width) // stride
    out = np.zeros((N, C, H_out, W_out), dtype=x.dtype)
    for i in range(H_out):
        for j in range(W_out):
            window = x[:, :, i * stride:i * stride + pool_height, j * stride:j * stride + pool_width]
            out[:, :, i, j] = reduce(window)
    return out


def max_pool_average(x, pool_height, pool_width, stride):
    """Average pooling instead of max pooling."""
    return _pool(x, pool_height, pool_width, stride, lambda win: win.mean(axis=(2, 3)))


def max_pool_over_channels(x, pool_height, pool_width, stride):
    """Takes the max over the channels too, so every channel gets the same value."""
    return _pool(x, pool_height, pool_width, stride, lambda win: win.max(axis=(1, 2, 3))[:, None])


def max_pool_stride_is_pool_size(x, pool_height, pool_width, stride):
    """Ignores stride and tiles x with non-overlapping windows (H // pool_height of them)."""
    N, C, H, W = x.shape
    H_out, W_out = H // pool_height, W // pool_width
    tiles = x[:, :, :H_out * pool_height, :W_out * pool_width]
    return tiles.reshape(N, C, H_out, pool_height, W_out, pool_width).max(axis=(3, 5))


def max_pool_height_width_swapped(x, pool_height, pool_width, stride):
    """Uses pool_width along H and pool_height along W."""
    N, C, H, W = x.shape
    H_out, W_out = 1 + (H - pool_height) // stride, 1 + (W - pool_width) // stride
    out = np.zeros((N, C, H_out, W_out), dtype=x.dtype)
    for i in range(H_out):
        for j in range(W_out):
            window = x[:, :, i * stride:i * stride + pool_width, j * stride:j * stride + pool_height]
            out[:, :, i, j] = window.max(axis=(2, 3))
    return out


def max_pool_zero_start(x, pool_height, pool_width, stride):
    """Starts the running maximum at 0, so a window of negative numbers gives 0."""
    return _pool(x, pool_height, pool_width, stride, lambda win: np.maximum(win.max(axis=(2, 3)), 0))


# ---------------------------------------------------------------- sgd_momentum


def sgd_momentum_pytorch_form(w, dw, velocity, learning_rate=1e-2, momentum=0.9):
    """PyTorch's form v = mu*v + dw, w = w - lr*v: a different velocity (equal only from v = 0)."""
    v = momentum * velocity + dw
    return w - learning_rate * v, v


def sgd_momentum_old_velocity(w, dw, velocity, learning_rate=1e-2, momentum=0.9):
    """Moves w with the old velocity, before updating it."""
    next_w = w + velocity
    return next_w, momentum * velocity - learning_rate * dw


def sgd_momentum_plus_gradient(w, dw, velocity, learning_rate=1e-2, momentum=0.9):
    """v = mu*v + lr*dw and w = w + v: climbs the gradient."""
    v = momentum * velocity + learning_rate * dw
    return w + v, v


def sgd_momentum_nesterov(w, dw, velocity, learning_rate=1e-2, momentum=0.9):
    """Nesterov's update (w + mu*v_new - lr*dw, CS231n's formulation) instead of plain momentum."""
    v = momentum * velocity - learning_rate * dw
    return w + momentum * v - learning_rate * dw, v


# ---------------------------------------------------------------- rmsprop


def rmsprop_eps_inside_sqrt(w, dw, cache, learning_rate=1e-2, decay_rate=0.99, epsilon=1e-8):
    """sqrt(cache + epsilon) instead of sqrt(cache) + epsilon."""
    cache = decay_rate * cache + (1 - decay_rate) * dw ** 2
    return w - learning_rate * dw / np.sqrt(cache + epsilon), cache


def rmsprop_adagrad_cache(w, dw, cache, learning_rate=1e-2, decay_rate=0.99, epsilon=1e-8):
    """AdaGrad's cache += dw**2 (no decay)."""
    cache = cache + dw ** 2
    return w - learning_rate * dw / (np.sqrt(cache) + epsilon), cache


def rmsprop_decay_swapped(w, dw, cache, learning_rate=1e-2, decay_rate=0.99, epsilon=1e-8):
    """decay_rate on the new dw**2 and (1 - decay_rate) on the old cache."""
    cache = (1 - decay_rate) * cache + decay_rate * dw ** 2
    return w - learning_rate * dw / (np.sqrt(cache) + epsilon), cache


def rmsprop_old_cache(w, dw, cache, learning_rate=1e-2, decay_rate=0.99, epsilon=1e-8):
    """Divides by the cache it was given, updating the cache only afterwards."""
    next_w = w - learning_rate * dw / (np.sqrt(cache) + epsilon)
    return next_w, decay_rate * cache + (1 - decay_rate) * dw ** 2


def rmsprop_no_sqrt(w, dw, cache, learning_rate=1e-2, decay_rate=0.99, epsilon=1e-8):
    """Divides by cache + epsilon without the square root."""
    cache = decay_rate * cache + (1 - decay_rate) * dw ** 2
    return w - learning_rate * dw / (cache + epsilon), cache


# ---------------------------------------------------------------- adam


def adam_t_not_incremented(w, dw, m, v, t, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8):
    """Bias-corrects with the t it was given, then increments: one step behind."""
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
        next_w = w - learning_rate * m_hat / (np.sqrt(v_hat) + epsilon)
    return next_w, m, v, t + 1


def adam_t_not_returned(w, dw, m, v, t, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8):
    """Right update, but returns the t it was given instead of t + 1."""
    t_new = t + 1
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw ** 2
    m_hat, v_hat = m / (1 - beta1 ** t_new), v / (1 - beta2 ** t_new)
    return w - learning_rate * m_hat / (np.sqrt(v_hat) + epsilon), m, v, t


def adam_no_bias_correction(w, dw, m, v, t, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8):
    """Uses m and v without dividing by (1 - beta**t)."""
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw ** 2
    return w - learning_rate * m / (np.sqrt(v) + epsilon), m, v, t + 1


def adam_eps_inside_sqrt(w, dw, m, v, t, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8):
    """sqrt(v_hat + epsilon) instead of sqrt(v_hat) + epsilon."""
    t = t + 1
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw ** 2
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return w - learning_rate * m_hat / np.sqrt(v_hat + epsilon), m, v, t
