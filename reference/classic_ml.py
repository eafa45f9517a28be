"""Classic machine learning: logistic and linear regression, kNN, decision-tree splits,
normalisation and whitening (course notes 000, 002, 004)."""
import math

import torch


def logistic_regression_step(X, y, w, b, lr):
    """One gradient-descent step of logistic regression on the mean binary cross-entropy.

    p  = σ(X w + b)                                   (N,) predicted P(y = 1)
    L  = −(1/N) Σ_n [y_n log p_n + (1 − y_n) log(1 − p_n)]
    dL/dw = Xᵀ (p − y) / N                            (D,)
    dL/db = (1/N) Σ_n (p_n − y_n)                     ()
    w' = w − lr · dL/dw,   b' = b − lr · dL/db
    X: (N, D), y: (N,) of 0/1, w: (D,), b: (1,) (like nn.Linear(D, 1).bias). Returns (w', b').
    """
    N = X.shape[0]
    p = torch.sigmoid(X @ w + b)                      # (N,)
    err = p - y                                       # (N,)
    dw = X.T @ err / N                                # (D,)
    db = err.sum() / N                                # () broadcasts against b (1,)
    return w - lr * dw, b - lr * db


def linear_regression_closed_form(X, y):
    """Least squares with an intercept, by the normal equations on X with a column of ones.

    A = [X | 1]                                       (N, D+1), the ones column LAST
    θ = argmin ||A θ − y||² = (AᵀA)⁻¹ Aᵀ y            (D+1,)
    θ = [w_0, ..., w_{D−1}, b]: the weights, then the bias last.
    Solved with lstsq rather than an explicit inverse (same θ, fewer rounding errors).
    Returns θ (D+1,).
    """
    ones = torch.ones(X.shape[0], 1, dtype=X.dtype)
    A = torch.cat([X, ones], dim=1)                   # (N, D+1)
    return torch.linalg.lstsq(A, y[:, None]).solution[:, 0]     # (D+1,)


def _distances(X_train, X_test, metric):
    diff = X_test[:, None, :] - X_train[None, :, :]   # (M, N, D)
    if metric == "l1":
        return diff.abs().sum(dim=-1)                 # (M, N) Σ_j |a_j − b_j|
    return (diff * diff).sum(dim=-1).sqrt()           # (M, N) √(Σ_j (a_j − b_j)²)


def knn_predict(X_train, y_train, X_test, k, metric="l2"):
    """k-nearest-neighbour classification by majority vote.

    distance: L1 = Σ_j |a_j − b_j|, L2 = √(Σ_j (a_j − b_j)²)
    neighbours: the k training points with the smallest distance; equal distances are ordered by
    training index (a stable sort), the smaller index first.
    vote: the most frequent label among the k; a tie in the count goes to the smallest label.
    X_train: (N, D), y_train: int64 (N,), X_test: (M, D). Returns int64 (M,).
    """
    dist = _distances(X_train, X_test, metric)                    # (M, N)
    order = torch.argsort(dist, dim=1, stable=True)[:, :k]        # (M, k) nearest first
    labels = y_train[order]                                       # (M, k)
    C = int(y_train.max()) + 1
    counts = torch.zeros(X_test.shape[0], C, dtype=torch.int64)
    counts.scatter_add_(1, labels, torch.ones_like(labels))       # (M, C) votes per label
    return counts.argmax(dim=1)                                   # first maximum = smallest label


def _entropy_bits(labels, C):
    if labels.numel() == 0:
        return 0.0
    p = torch.bincount(labels, minlength=C).double() / labels.numel()
    p = p[p > 0]
    return float(-(p * torch.log2(p)).sum())


def best_split(x, y):
    """Best threshold of one feature by information gain, entropy in bits.

    candidates: midpoints (a + b) / 2 between consecutive DISTINCT sorted values of x
    split: left = {x ≤ t}, right = {x > t}
    gain(t) = H(y) − (n_L/N) H(y_left) − (n_R/N) H(y_right),   H = −Σ_c p_c log₂ p_c
    ties: gains within 1e-9 of the best count as equal; the smallest such threshold wins.
    x: (N,) float, y: int64 (N,). Returns (threshold, gain) as Python floats.
    """
    N = x.shape[0]
    C = int(y.max()) + 1
    values = torch.unique(x)                                      # sorted distinct values
    parent = _entropy_bits(y, C)
    thresholds, gains = [], []
    for a, b in zip(values[:-1].tolist(), values[1:].tolist()):
        t = (a + b) / 2
        left, right = y[x <= t], y[x > t]
        gain = parent - left.numel() / N * _entropy_bits(left, C) - right.numel() / N * _entropy_bits(right, C)
        thresholds.append(t)
        gains.append(gain)
    best = max(gains)
    i = next(i for i, g in enumerate(gains) if g >= best - 1e-9)  # smallest threshold among ties
    return float(thresholds[i]), float(gains[i])


def zero_center_normalize(X):
    """Per-feature standardisation (notes 002/004: X -= mean(X, 0); X /= std(X, 0)).

    X' = (X − μ) / σ,  μ = mean over the rows (axis 0),
    σ = √((1/N) Σ_n (x_n − μ)²)   the biased std (np.std's default, torch.std(..., correction=0)).
    X: (N, D). Returns (N, D).
    """
    mu = X.mean(dim=0)                                            # (D,)
    Xc = X - mu                                                   # (N, D)
    sigma = (Xc * Xc).mean(dim=0).sqrt()                          # (D,) divide by N
    return Xc / sigma


def zca_whiten(X, eps=1e-5):
    """ZCA whitening (CS231n notes "Data preprocessing").

    Xc = X − μ                                   μ: mean over rows
    Σ  = Xcᵀ Xc / N                              (D, D), biased covariance
    Σ  = U diag(λ) Uᵀ                            eigendecomposition (symmetric)
    W  = U diag(1 / √(λ + ε)) Uᵀ                 ε inside the square root
    return Xc W                                  (N, D); rotate back: ZCA, not PCA whitening
    """
    N = X.shape[0]
    Xc = X - X.mean(dim=0)                                        # (N, D)
    cov = Xc.T @ Xc / N                                           # (D, D)
    lam, U = torch.linalg.eigh(cov)                               # (D,), (D, D)
    W = U @ torch.diag(1.0 / torch.sqrt(lam + eps)) @ U.T         # (D, D)
    return Xc @ W                                                 # (N, D)
