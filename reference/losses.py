"""Loss functions, their gradients, and entropy (course notes 000, 003, 004; CS231n).

Shapes: logits / scores (N, C) for N examples and C classes; targets (N,) int64 class indices.
Every loss averages over the batch ("mean reduction") unless its docstring says otherwise.
"""
import torch
import torch.nn.functional as F


def softmax_cross_entropy_grad(logits, targets):
    """dL/dlogits for L = mean over the batch of cross_entropy(softmax(logits), targets).

    For one example, with y = softmax(x) and t the one-hot target (notes 000, 003):
        dL/dx_k = y_k - t_k
    With the mean over N examples every row is divided by N:
        dL/dlogits = (softmax(logits) - onehot(targets)) / N
    """
    N, C = logits.shape
    shifted = logits - logits.amax(dim=1, keepdim=True)          # stable softmax
    y = torch.exp(shifted)
    y = y / y.sum(dim=1, keepdim=True)                            # (N, C)
    t = F.one_hot(targets, num_classes=C).to(logits.dtype)        # (N, C)
    return (y - t) / N


def mse_loss(pred, target):
    """Mean squared error over every element (notes 000):

        MSE = 1/n * sum_i (pred_i - target_i)^2,   n = number of elements
    Returns a 0-dim tensor.
    """
    diff = pred - target
    return (diff * diff).mean()


def bce_with_logits(logits, targets):
    """Binary cross entropy (logistic loss) from logits z, mean over every element.

        loss = -[t log sigmoid(z) + (1 - t) log(1 - sigmoid(z))]
             = max(z, 0) - z t + log(1 + exp(-|z|))       (stable form: exp never overflows)
    Returns a 0-dim tensor.
    """
    z, t = logits, targets
    loss = torch.clamp(z, min=0) - z * t + torch.log1p(torch.exp(-z.abs()))
    return loss.mean()


def cross_entropy_loss(logits, targets):
    """Cross entropy from logits and class indices, mean over the batch (notes 000, 004).

        L_i = -log softmax(x_i)[t_i] = logsumexp(x_i) - x_i[t_i]
        L   = 1/N * sum_i L_i
    Returns a 0-dim tensor.
    """
    N = logits.shape[0]
    log_probs = logits - torch.logsumexp(logits, dim=1, keepdim=True)   # (N, C), stable
    return -log_probs[torch.arange(N), targets].mean()


def kl_divergence(p, q):
    """KL(p || q) in nats along the last dimension (notes 000, 004):

        D(p || q) = sum_i p_i log(p_i / q_i),   with 0 log(0 / q) = 0
    xlogy(a, b) = a log b, and 0 where a = 0. Returns a tensor of shape p.shape[:-1].
    """
    return (torch.special.xlogy(p, p) - torch.special.xlogy(p, q)).sum(dim=-1)


def entropy(p):
    """Entropy in nats of probability vectors along the last dimension (notes 003):

        H(p) = -sum_i p_i log p_i,   with 0 log 0 = 0
    A fair coin has ln 2 = 0.693 nats, a fair die ln 6 = 1.79. Returns shape p.shape[:-1].
    """
    return -torch.special.xlogy(p, p).sum(dim=-1)


def hinge_loss(scores, targets):
    """Multiclass SVM (hinge) loss, margin 1, CS231n style:

        L_i = sum_{j != t_i} max(0, s_j - s_{t_i} + 1)
        L   = 1/N * sum_i L_i
    Returns a 0-dim tensor.
    """
    N = scores.shape[0]
    correct = scores[torch.arange(N), targets].unsqueeze(1)        # (N, 1)
    margins = torch.clamp(scores - correct + 1, min=0)             # (N, C)
    margins[torch.arange(N), targets] = 0                          # j = t_i does not count
    return margins.sum() / N
