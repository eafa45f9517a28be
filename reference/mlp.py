"""A two-layer MLP's backward pass by hand, and a numerical gradient (course notes 004, CS231n)."""
import torch


def mlp_backward(x, W1, b1, W2, b2, y):
    """Gradients of a 2-layer ReLU MLP with mean softmax cross-entropy, by hand.

    Forward:
        z1 = x W1 + b1            (N, H)
        h  = relu(z1)             (N, H)
        s  = h W2 + b2            (N, C) scores
        L  = (1/N) Σ_n −log softmax(s_n)[y_n]
    Backward (chain rule, from the loss down):
        ds  = (softmax(s) − onehot(y)) / N      (N, C)
        dW2 = hᵀ ds                             (H, C)      db2 = Σ_n ds    (C,)
        dh  = ds W2ᵀ                            (N, H)
        dz1 = dh ⊙ [z1 > 0]                     (N, H)      ReLU'(0) = 0
        dW1 = xᵀ dz1                            (D, H)      db1 = Σ_n dz1   (H,)
    Returns (dW1, db1, dW2, db2).
    """
    N = x.shape[0]
    z1 = x @ W1 + b1                                      # (N, H)
    h = torch.relu(z1)                                    # (N, H)
    s = h @ W2 + b2                                       # (N, C)
    p = torch.softmax(s, dim=1)                           # (N, C), stable softmax
    ds = p.clone()
    ds[torch.arange(N), y] -= 1                           # p − onehot(y)
    ds = ds / N                                           # mean over the batch
    dW2 = h.T @ ds                                        # (H, C)
    db2 = ds.sum(dim=0)                                   # (C,)
    dh = ds @ W2.T                                        # (N, H)
    dz1 = dh * (z1 > 0)                                   # (N, H)
    dW1 = x.T @ dz1                                       # (D, H)
    db1 = dz1.sum(dim=0)                                  # (H,)
    return dW1, db1, dW2, db2


def squared_error(X, y, w):
    """f(w) = Σ_n (x_n · w − y_n)²  (the fixed function of the numerical-gradient problem)."""
    r = X @ w - y                                         # (N,)
    return (r * r).sum()


def numerical_gradient(X, y, w, h=1e-5):
    """Centered finite differences of f(w) = Σ_n (x_n · w − y_n)²:

        g_i = (f(w + h e_i) − f(w − h e_i)) / (2h)        for i = 0 .. D−1

    e_i is the i-th unit vector; one coordinate is perturbed at a time. Returns g: (D,).
    """
    g = torch.zeros_like(w)                               # (D,)
    for i in range(w.shape[0]):
        e = torch.zeros_like(w)
        e[i] = h                                          # h e_i
        g[i] = (squared_error(X, y, w + e) - squared_error(X, y, w - e)) / (2 * h)
    return g
