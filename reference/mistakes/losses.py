"""Wrong losses, loss gradients and entropies students write."""
import math

import torch
import torch.nn.functional as F


def _stable_softmax(x):
    e = torch.exp(x - x.amax(dim=1, keepdim=True))
    return e / e.sum(dim=1, keepdim=True)


# ---------------------------------------------------------------- softmax + cross-entropy gradient

def sce_grad_no_mean(logits, targets):
    """y - t without dividing by the batch size (the gradient of the summed loss)."""
    return _stable_softmax(logits) - F.one_hot(targets, logits.shape[1]).to(logits.dtype)


def sce_grad_sign_flipped(logits, targets):
    """(t - y) / N: the gradient of the negated loss."""
    t = F.one_hot(targets, logits.shape[1]).to(logits.dtype)
    return (t - _stable_softmax(logits)) / logits.shape[0]


def sce_grad_no_onehot(logits, targets):
    """softmax / N: forgets to subtract the one-hot target."""
    return _stable_softmax(logits) / logits.shape[0]


def sce_grad_divide_by_classes(logits, targets):
    """(y - t) / C: divides by the number of classes instead of the batch size."""
    t = F.one_hot(targets, logits.shape[1]).to(logits.dtype)
    return (_stable_softmax(logits) - t) / logits.shape[1]


def sce_grad_naive_softmax(logits, targets):
    """exp(x) / sum exp(x) without the max shift: NaN for large logits."""
    e = torch.exp(logits)
    t = F.one_hot(targets, logits.shape[1]).to(logits.dtype)
    return (e / e.sum(dim=1, keepdim=True) - t) / logits.shape[0]


# ---------------------------------------------------------------- MSE

def mse_sum(pred, target):
    """Sum of squared errors, not their mean."""
    return ((pred - target) ** 2).sum()


def mse_abs(pred, target):
    """Mean absolute error: |d| instead of d^2."""
    return (pred - target).abs().mean()


def mse_square_of_mean(pred, target):
    """Squares the mean difference: (mean d)^2 instead of mean(d^2)."""
    return (pred - target).mean() ** 2


def mse_half(pred, target):
    """1/2 * mean(d^2): the factor 1/2 some texts use to simplify the gradient."""
    return 0.5 * ((pred - target) ** 2).mean()


def mse_over_rows(pred, target):
    """Sums each row's squared errors and averages over the first axis only (divides by N, not N*D)."""
    return ((pred - target) ** 2).sum() / pred.shape[0]


# ---------------------------------------------------------------- BCE with logits

def bce_naive(logits, targets):
    """log(sigmoid(z)) and log(1 - sigmoid(z)): sigmoid rounds to 0 or 1 for large |z|, giving inf or NaN."""
    s = torch.sigmoid(logits)
    return -(targets * torch.log(s) + (1 - targets) * torch.log(1 - s)).mean()


def bce_missing_abs(logits, targets):
    """(1 - t) z + log(1 + exp(-z)): right on paper, but exp(-z) overflows to inf for very negative z."""
    z = logits
    return ((1 - targets) * z + torch.log1p(torch.exp(-z))).mean()


def bce_sum(logits, targets):
    """Summed over the elements instead of averaged."""
    z = logits
    return (torch.clamp(z, min=0) - z * targets + torch.log1p(torch.exp(-z.abs()))).sum()


def bce_missing_minus(logits, targets):
    """t log sigmoid(z) + (1 - t) log(1 - sigmoid(z)) without the leading minus: a negative loss."""
    return (targets * F.logsigmoid(logits) + (1 - targets) * F.logsigmoid(-logits)).mean()


# ---------------------------------------------------------------- cross entropy

def ce_naive(logits, targets):
    """log(exp(x_t) / sum exp(x)) without the max shift: inf / NaN for large logits."""
    e = torch.exp(logits)
    p = e / e.sum(dim=1, keepdim=True)
    return -torch.log(p[torch.arange(logits.shape[0]), targets]).mean()


def ce_sum(logits, targets):
    """Summed over the batch instead of averaged."""
    log_probs = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    return -log_probs[torch.arange(logits.shape[0]), targets].sum()


def ce_mean_over_all(logits, targets):
    """(-onehot * log_softmax).mean(): averages over N * C entries instead of N."""
    log_probs = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    t = F.one_hot(targets, logits.shape[1]).to(logits.dtype)
    return (-t * log_probs).mean()


def ce_wrong_axis(logits, targets):
    """Normalises over the batch (dim 0) instead of over the classes."""
    log_probs = logits - torch.logsumexp(logits, dim=0, keepdim=True)
    return -log_probs[torch.arange(logits.shape[0]), targets].mean()


# ---------------------------------------------------------------- KL divergence

def kl_reversed(p, q):
    """KL(q || p) instead of KL(p || q): the divergence is not symmetric."""
    return (torch.special.xlogy(q, q) - torch.special.xlogy(q, p)).sum(dim=-1)


def kl_nan_at_zero(p, q):
    """p * log(p / q) without the 0 log 0 = 0 convention: NaN where p = 0."""
    return (p * torch.log(p / q)).sum(dim=-1)


def kl_bits(p, q):
    """log base 2: the divergence in bits instead of nats."""
    return (torch.special.xlogy(p, p) - torch.special.xlogy(p, q)).sum(dim=-1) / math.log(2)


def kl_cross_entropy_only(p, q):
    """-sum p log q: the cross entropy H(p, q), missing the + sum p log p term."""
    return -torch.special.xlogy(p, q).sum(dim=-1)


# ---------------------------------------------------------------- entropy

def entropy_missing_minus(p):
    """H = sum p log p, the sign error in notes 000."""
    return torch.special.xlogy(p, p).sum(dim=-1)


def entropy_bits(p):
    """log base 2 (notes 000): bits instead of nats."""
    return -torch.special.xlogy(p, p).sum(dim=-1) / math.log(2)


def entropy_nan_at_zero(p):
    """p * log(p) without the 0 log 0 = 0 convention: NaN where p = 0."""
    return -(p * torch.log(p)).sum(dim=-1)


def entropy_sum_everything(p):
    """Sums over the whole tensor: one number instead of one entropy per distribution."""
    return -torch.special.xlogy(p, p).sum()


# ---------------------------------------------------------------- hinge loss

def _margins(scores, targets):
    N = scores.shape[0]
    correct = scores[torch.arange(N), targets].unsqueeze(1)
    return torch.clamp(scores - correct + 1, min=0)


def hinge_includes_correct_class(scores, targets):
    """Sums over every j, including j = t_i, which adds max(0, 1) = 1 per example."""
    return _margins(scores, targets).sum() / scores.shape[0]


def hinge_sum(scores, targets):
    """Summed over the batch instead of averaged."""
    m = _margins(scores, targets)
    m[torch.arange(scores.shape[0]), targets] = 0
    return m.sum()


def hinge_no_margin(scores, targets):
    """max(0, s_j - s_t) without the margin of 1."""
    N = scores.shape[0]
    correct = scores[torch.arange(N), targets].unsqueeze(1)
    m = torch.clamp(scores - correct, min=0)
    return m.sum() / N


def hinge_no_clamp(scores, targets):
    """Sums s_j - s_t + 1 without max(0, .): negative margins reduce the loss."""
    N = scores.shape[0]
    correct = scores[torch.arange(N), targets].unsqueeze(1)
    m = scores - correct + 1
    m[torch.arange(N), targets] = 0
    return m.sum() / N
