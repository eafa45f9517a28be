"""Wrong batch norm and layer norm implementations students write."""
import torch


# ---- batchnorm forward, x (N, D)

def batchnorm_unbiased_var(x, gamma, beta, eps=1e-5):
    """x.var(dim=0): the unbiased variance (divides by N - 1)."""
    mu = x.mean(dim=0)
    var = x.var(dim=0)
    return gamma * (x - mu) / torch.sqrt(var + eps) + beta


def batchnorm_eps_outside_sqrt(x, gamma, beta, eps=1e-5):
    """sqrt(var) + eps instead of sqrt(var + eps)."""
    mu = x.mean(dim=0)
    var = ((x - mu) ** 2).mean(dim=0)
    return gamma * (x - mu) / (torch.sqrt(var) + eps) + beta


def batchnorm_over_features(x, gamma, beta, eps=1e-5):
    """Statistics over the features of each sample (dim 1): that is layer norm."""
    mu = x.mean(dim=1, keepdim=True)
    var = ((x - mu) ** 2).mean(dim=1, keepdim=True)
    return gamma * (x - mu) / torch.sqrt(var + eps) + beta


def batchnorm_no_affine(x, gamma, beta, eps=1e-5):
    """Returns x_hat, forgetting the scale gamma and shift beta."""
    mu = x.mean(dim=0)
    var = ((x - mu) ** 2).mean(dim=0)
    return (x - mu) / torch.sqrt(var + eps)


# ---- batchnorm backward

def _bn_parts(x, eps, unbiased=False):
    mu = x.mean(dim=0)
    var = x.var(dim=0) if unbiased else ((x - mu) ** 2).mean(dim=0)
    sigma = torch.sqrt(var + eps)
    return sigma, (x - mu) / sigma


def batchnorm_backward_direct_path_only(dout, x, gamma, eps=1e-5):
    """dx = dout * gamma / sigma: treats the batch mean and variance as constants."""
    sigma, x_hat = _bn_parts(x, eps)
    return dout * gamma / sigma, (dout * x_hat).sum(dim=0), dout.sum(dim=0)


def batchnorm_backward_no_variance_path(dout, x, gamma, eps=1e-5):
    """Keeps the path through the mean but forgets the one through the variance."""
    sigma, x_hat = _bn_parts(x, eps)
    dx = gamma / sigma * (dout - dout.mean(dim=0))
    return dx, (dout * x_hat).sum(dim=0), dout.sum(dim=0)


def batchnorm_backward_unbiased_var(dout, x, gamma, eps=1e-5):
    """The right formula, but with the unbiased (N - 1) variance in sigma and x_hat."""
    N = x.shape[0]
    sigma, x_hat = _bn_parts(x, eps, unbiased=True)
    dbeta = dout.sum(dim=0)
    dgamma = (dout * x_hat).sum(dim=0)
    dx = gamma / (N * sigma) * (N * dout - dbeta - x_hat * dgamma)
    return dx, dgamma, dbeta


def batchnorm_backward_dgamma_uses_x(dout, x, gamma, eps=1e-5):
    """dgamma = sum(dout * x): gamma multiplies x_hat, not x."""
    N = x.shape[0]
    sigma, x_hat = _bn_parts(x, eps)
    dbeta = dout.sum(dim=0)
    dgamma = (dout * x_hat).sum(dim=0)
    dx = gamma / (N * sigma) * (N * dout - dbeta - x_hat * dgamma)
    return dx, (dout * x).sum(dim=0), dbeta


# ---- layernorm forward, x (..., D)

def layernorm_over_batch(x, gamma, beta, eps=1e-5):
    """Statistics over the batch (dim 0) instead of the features: that is batch norm."""
    mu = x.mean(dim=0, keepdim=True)
    var = ((x - mu) ** 2).mean(dim=0, keepdim=True)
    return gamma * (x - mu) / torch.sqrt(var + eps) + beta


def layernorm_unbiased_var(x, gamma, beta, eps=1e-5):
    """x.var(dim=-1): the unbiased variance (divides by D - 1)."""
    mu = x.mean(dim=-1, keepdim=True)
    var = x.var(dim=-1, keepdim=True)
    return gamma * (x - mu) / torch.sqrt(var + eps) + beta


def layernorm_eps_outside_sqrt(x, gamma, beta, eps=1e-5):
    """sqrt(var) + eps instead of sqrt(var + eps)."""
    mu = x.mean(dim=-1, keepdim=True)
    var = ((x - mu) ** 2).mean(dim=-1, keepdim=True)
    return gamma * (x - mu) / (torch.sqrt(var) + eps) + beta


def layernorm_no_affine(x, gamma, beta, eps=1e-5):
    """Returns x_hat, forgetting gamma and beta."""
    mu = x.mean(dim=-1, keepdim=True)
    var = ((x - mu) ** 2).mean(dim=-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps)
