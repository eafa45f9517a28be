"""Wrong MLP backward passes and numerical gradients students write."""
import torch

from ..mlp import squared_error


def _forward(x, W1, b1, W2, b2, y):
    z1 = x @ W1 + b1
    h = torch.relu(z1)
    p = torch.softmax(h @ W2 + b2, dim=1)
    onehot = torch.nn.functional.one_hot(y, p.shape[1]).to(p.dtype)
    return z1, h, p, onehot


def _down(x, W2, z1, h, ds, relu_mask=True):
    dW2, db2 = h.T @ ds, ds.sum(0)
    dz1 = ds @ W2.T
    if relu_mask:
        dz1 = dz1 * (z1 > 0)
    return x.T @ dz1, dz1.sum(0), dW2, db2


def mlp_backward_no_mean(x, W1, b1, W2, b2, y):
    """ds = p − onehot(y) without the 1/N of the mean loss."""
    z1, h, p, onehot = _forward(x, W1, b1, W2, b2, y)
    return _down(x, W2, z1, h, p - onehot)


def mlp_backward_no_relu_mask(x, W1, b1, W2, b2, y):
    """Passes dh straight through the ReLU (forgets the [z1 > 0] mask)."""
    z1, h, p, onehot = _forward(x, W1, b1, W2, b2, y)
    return _down(x, W2, z1, h, (p - onehot) / x.shape[0], relu_mask=False)


def mlp_backward_no_onehot(x, W1, b1, W2, b2, y):
    """ds = softmax(s) / N: forgets to subtract the one-hot target (the y − t of the notes)."""
    z1, h, p, onehot = _forward(x, W1, b1, W2, b2, y)
    return _down(x, W2, z1, h, p / x.shape[0])


def mlp_backward_bias_mean(x, W1, b1, W2, b2, y):
    """Bias gradients as a mean over the batch instead of a sum (divides by N twice)."""
    N = x.shape[0]
    z1, h, p, onehot = _forward(x, W1, b1, W2, b2, y)
    dW1, db1, dW2, db2 = _down(x, W2, z1, h, (p - onehot) / N)
    return dW1, db1 / N, dW2, db2 / N


def numerical_gradient_forward(X, y, w, h=1e-5):
    """Forward difference (f(w + h e_i) − f(w)) / h: error of order h."""
    g = torch.zeros_like(w)
    f0 = squared_error(X, y, w)
    for i in range(w.shape[0]):
        e = torch.zeros_like(w)
        e[i] = h
        g[i] = (squared_error(X, y, w + e) - f0) / h
    return g


def numerical_gradient_over_h(X, y, w, h=1e-5):
    """Centered difference divided by h instead of 2h: twice the gradient."""
    g = torch.zeros_like(w)
    for i in range(w.shape[0]):
        e = torch.zeros_like(w)
        e[i] = h
        g[i] = (squared_error(X, y, w + e) - squared_error(X, y, w - e)) / h
    return g


def numerical_gradient_all_at_once(X, y, w, h=1e-5):
    """Perturbs every coordinate at once (w ± h·1): each entry is the directional derivative along 1."""
    d = (squared_error(X, y, w + h) - squared_error(X, y, w - h)) / (2 * h)
    return torch.full_like(w, float(d))


def numerical_gradient_not_restored(X, y, w, h=1e-5):
    """Perturbs w in place and forgets to put w[i] back, so later coordinates see a shifted w."""
    w = w.clone()
    g = torch.zeros_like(w)
    for i in range(w.shape[0]):
        w[i] += h
        fp = squared_error(X, y, w)
        w[i] -= 2 * h
        fm = squared_error(X, y, w)
        g[i] = (fp - fm) / (2 * h)
    return g
