"""Batch normalisation and layer normalisation (course notes 000, 003, 004; Ioffe & Szegedy 2015,
Ba et al. 2016). Training mode only: statistics come from the input itself."""
import torch


def batchnorm_forward(x, gamma, beta, eps=1e-5):
    """Batch norm forward, training mode, x of shape (N, D): one mean/variance per feature.

    mu      = 1/N sum_n x_n                      (over the batch, dim 0)
    var     = 1/N sum_n (x_n - mu)^2             biased variance (divide by N, not N - 1)
    x_hat   = (x - mu) / sqrt(var + eps)         eps inside the square root
    out     = gamma * x_hat + beta               gamma, beta: (D,)
    """
    mu = x.mean(dim=0)                          # (D,)
    var = ((x - mu) ** 2).mean(dim=0)           # (D,)  biased
    x_hat = (x - mu) / torch.sqrt(var + eps)    # (N, D)
    return gamma * x_hat + beta                 # (N, D)


def batchnorm_backward(dout, x, gamma, eps=1e-5):
    """Backward pass of batchnorm_forward, x and dout of shape (N, D).

    With sigma = sqrt(var + eps) and x_hat = (x - mu) / sigma (biased variance):
    dbeta  = sum_n dout                                     (D,)
    dgamma = sum_n dout * x_hat                             (D,)
    dx     = gamma / (N sigma) * (N dout - sum_n dout - x_hat * sum_n (dout * x_hat))
    (the last line collects the three paths from x: directly, through mu and through var).
    """
    N = x.shape[0]
    mu = x.mean(dim=0)                          # (D,)
    var = ((x - mu) ** 2).mean(dim=0)           # (D,)
    sigma = torch.sqrt(var + eps)               # (D,)
    x_hat = (x - mu) / sigma                    # (N, D)
    dbeta = dout.sum(dim=0)                     # (D,)
    dgamma = (dout * x_hat).sum(dim=0)          # (D,)
    dx = gamma / (N * sigma) * (N * dout - dbeta - x_hat * dgamma)   # (N, D)
    return dx, dgamma, dbeta


def layernorm_forward(x, gamma, beta, eps=1e-5):
    """Layer norm forward, x of shape (..., D): one mean/variance per sample, over the last axis.

    mu    = 1/D sum_d x_d                        (over the features, dim -1)
    var   = 1/D sum_d (x_d - mu)^2               biased variance
    out   = gamma * (x - mu) / sqrt(var + eps) + beta      gamma, beta: (D,)
    The same in training and in evaluation (no running statistics), as torch.nn.LayerNorm.
    """
    mu = x.mean(dim=-1, keepdim=True)                       # (..., 1)
    var = ((x - mu) ** 2).mean(dim=-1, keepdim=True)        # (..., 1)  biased
    x_hat = (x - mu) / torch.sqrt(var + eps)                # (..., D)
    return gamma * x_hat + beta                             # (..., D)
