"""Wrong classic-ML code students write."""
import torch

from ..classic_ml import _distances, _entropy_bits


# ---------------------------------------------------------------- logistic-regression-step

def logistic_step_sum_not_mean(X, y, w, b, lr):
    """Gradient of the SUM of the losses: no 1/N."""
    err = torch.sigmoid(X @ w + b) - y
    return w - lr * (X.T @ err), b - lr * err.sum()


def logistic_step_wrong_sign(X, y, w, b, lr):
    """Uses (y − p): steps uphill on the loss (gradient ascent)."""
    N = X.shape[0]
    err = y - torch.sigmoid(X @ w + b)
    return w - lr * X.T @ err / N, b - lr * err.mean()


def logistic_step_no_sigmoid(X, y, w, b, lr):
    """Uses the linear score X w + b as the prediction (the linear-regression gradient)."""
    N = X.shape[0]
    err = X @ w + b - y
    return w - lr * X.T @ err / N, b - lr * err.mean()


def logistic_step_bias_not_updated(X, y, w, b, lr):
    """Updates w and returns b unchanged."""
    N = X.shape[0]
    err = torch.sigmoid(X @ w + b) - y
    return w - lr * X.T @ err / N, b


# ---------------------------------------------------------------- linear-regression-closed-form

def linreg_no_bias_column(X, y):
    """Fits through the origin (no column of ones) and reports a bias of 0."""
    w = torch.linalg.lstsq(X, y[:, None]).solution[:, 0]
    return torch.cat([w, torch.zeros(1, dtype=X.dtype)])


def linreg_bias_first(X, y):
    """Puts the ones column first, so θ comes back as [b, w] instead of [w, b]."""
    A = torch.cat([torch.ones(X.shape[0], 1, dtype=X.dtype), X], dim=1)
    return torch.linalg.lstsq(A, y[:, None]).solution[:, 0]


def linreg_intercept_from_mean(X, y):
    """Fits w without an intercept, then sets b = mean(y)."""
    w = torch.linalg.lstsq(X, y[:, None]).solution[:, 0]
    return torch.cat([w, y.mean().reshape(1)])


# ---------------------------------------------------------------- knn-predict

def _vote(dist, y_train, k, smallest_label=True, largest=False):
    order = torch.argsort(dist, dim=1, stable=True, descending=largest)[:, :k]
    labels = y_train[order]
    C = int(y_train.max()) + 1
    counts = torch.zeros(dist.shape[0], C, dtype=torch.int64).scatter_add_(1, labels, torch.ones_like(labels))
    if smallest_label:
        return counts.argmax(dim=1)
    return C - 1 - counts.flip(1).argmax(dim=1)                   # ties to the largest label


def knn_l2_without_sum(X_train, y_train, X_test, k, metric="l2"):
    """The notes' L2 = √((A − B)²) taken per coordinate and then added up: that is the L1 distance."""
    return _vote(_distances(X_train, X_test, "l1"), y_train, k)


def knn_ties_to_largest_label(X_train, y_train, X_test, k, metric="l2"):
    """Breaks a tie in the vote towards the largest label."""
    return _vote(_distances(X_train, X_test, metric), y_train, k, smallest_label=False)


def knn_farthest(X_train, y_train, X_test, k, metric="l2"):
    """Takes the k LARGEST distances (topk without largest=False)."""
    return _vote(_distances(X_train, X_test, metric), y_train, k, largest=True)


# ---------------------------------------------------------------- decision-tree-best-split

def _split_search(x, y, entropy, weighted=True, midpoints=True, distinct=True):
    N = x.shape[0]
    C = int(y.max()) + 1
    xs, order = torch.sort(x, stable=True)
    ys = y[order]
    parent = entropy(ys, C)
    best = None
    for i in range(N - 1):
        a, b = float(xs[i]), float(xs[i + 1])
        if distinct and a == b:
            continue
        t = (a + b) / 2 if midpoints else a
        left, right = ys[:i + 1], ys[i + 1:]
        if weighted:
            child = (i + 1) / N * entropy(left, C) + (N - i - 1) / N * entropy(right, C)
        else:
            child = entropy(left, C) + entropy(right, C)
        gain = parent - child
        if best is None or gain > best[1] + 1e-9:
            best = (t, gain)
    return float(best[0]), float(best[1])


def _entropy_nats(labels, C):
    p = torch.bincount(labels, minlength=C).double() / labels.numel()
    p = p[p > 0]
    return float(-(p * torch.log(p)).sum())


def best_split_nats(x, y):
    """Entropy with the natural log: the gains come out in nats, not bits."""
    return _split_search(x, y, _entropy_nats)


def best_split_unweighted(x, y):
    """Adds the two children's entropies without weighting them by n_L/N and n_R/N."""
    return _split_search(x, y, _entropy_bits, weighted=False)


def best_split_threshold_at_point(x, y):
    """Returns the last value of the left group as the threshold instead of the midpoint."""
    return _split_search(x, y, _entropy_bits, midpoints=False)


def best_split_between_equal_values(x, y):
    """The notes' loop 'split after the p-th sorted point' for every p, even between equal values."""
    return _split_search(x, y, _entropy_bits, distinct=False)


# ---------------------------------------------------------------- zero-center-normalize

def normalize_unbiased_std(X):
    """torch.std's default divides by N − 1 (unbiased); the problem asks for the biased std."""
    return (X - X.mean(dim=0)) / X.std(dim=0)


def normalize_per_sample(X):
    """Normalises each row (axis 1) instead of each feature column (axis 0)."""
    mu = X.mean(dim=1, keepdim=True)
    return (X - mu) / X.std(dim=1, correction=0, keepdim=True)


def normalize_by_variance(X):
    """Divides by the variance instead of the standard deviation."""
    Xc = X - X.mean(dim=0)
    return Xc / (Xc * Xc).mean(dim=0)


def normalize_one_pass_variance(X):
    """var = E[x²] − E[x]²: cancels catastrophically when the mean is large compared to the spread."""
    mu = X.mean(dim=0)
    var = (X * X).mean(dim=0) - mu * mu
    return (X - mu) / var.sqrt()


# ---------------------------------------------------------------- whitening

def _zca(Xc, N, eps, sqrt=True):
    lam, U = torch.linalg.eigh(Xc.T @ Xc / N)
    scale = 1.0 / torch.sqrt(lam + eps) if sqrt else 1.0 / (lam + eps)
    return Xc @ U @ torch.diag(scale) @ U.T


def zca_not_centered(X, eps=1e-5):
    """Skips the centering: uses the second moment XᵀX/N instead of the covariance."""
    return _zca(X, X.shape[0], eps)


def zca_unbiased_covariance(X, eps=1e-5):
    """Covariance divided by N − 1 (torch.cov's default) instead of N."""
    Xc = X - X.mean(dim=0)
    return _zca(Xc, X.shape[0] - 1, eps)


def zca_no_sqrt(X, eps=1e-5):
    """Scales by 1/(λ + ε) instead of 1/√(λ + ε)."""
    Xc = X - X.mean(dim=0)
    return _zca(Xc, X.shape[0], eps, sqrt=False)


def zca_eps_outside_sqrt(X, eps=1e-5):
    """1/(√λ + ε) instead of 1/√(λ + ε)."""
    Xc = X - X.mean(dim=0)
    lam, U = torch.linalg.eigh(Xc.T @ Xc / X.shape[0])
    return Xc @ U @ torch.diag(1.0 / (lam.clamp(min=0).sqrt() + eps)) @ U.T
