"""Correct formulations of batchnorm-backward-numpy as different sources write them."""
import numpy as np


def batchnorm_backward_graph(dout, x, gamma, beta, eps=1e-5):
    """Step by step through the computational graph (CS231n's first version)."""
    N = x.shape[0]
    mu = x.sum(axis=0) / N
    xmu = x - mu
    var = (xmu ** 2).sum(axis=0) / N
    sqrtvar = np.sqrt(var + eps)
    ivar = 1 / sqrtvar
    xhat = xmu * ivar
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dxhat = dout * gamma
    divar = (dxhat * xmu).sum(axis=0)
    dxmu1 = dxhat * ivar
    dsqrtvar = -1 / sqrtvar ** 2 * divar
    dvar = 0.5 / np.sqrt(var + eps) * dsqrtvar
    dsq = np.ones_like(dout) / N * dvar
    dxmu2 = 2 * xmu * dsq
    dx1 = dxmu1 + dxmu2
    dmu = -dx1.sum(axis=0)
    dx2 = np.ones_like(dout) / N * dmu
    return dx1 + dx2, dgamma, dbeta


def batchnorm_backward_compact(dout, x, gamma, beta, eps=1e-5):
    """The simplified closed form: dx = (1/N)·γ·σ⁻¹·(N·dout − Σdout − x̂·Σ(dout·x̂))."""
    N = x.shape[0]
    mu = x.mean(axis=0)
    inv_std = 1.0 / np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - mu) * inv_std
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx = gamma * inv_std / N * (N * dout - dbeta - x_hat * dgamma)
    return dx, dgamma, dbeta


def batchnorm_backward_einsum_loops(dout, x, gamma, beta, eps=1e-5):
    """Sums in another order: per feature, with einsum for the reductions."""
    N, D = x.shape
    dx = np.empty_like(x)
    dgamma = np.empty(D, dtype=x.dtype)
    dbeta = np.empty(D, dtype=x.dtype)
    for d in range(D):
        xd, gd = x[:, d], dout[:, d]
        mu = np.einsum("i->", xd) / N
        var = np.einsum("i,i->", xd - mu, xd - mu) / N
        x_hat = (xd - mu) / np.sqrt(var + eps)
        dbeta[d] = np.einsum("i->", gd)
        dgamma[d] = np.einsum("i,i->", gd, x_hat)
        dx_hat = gd * gamma[d]
        dx[:, d] = (dx_hat - dx_hat.mean() - x_hat * np.mean(dx_hat * x_hat)) / np.sqrt(var + eps)
    return dx, dgamma, dbeta


def batchnorm_backward_float32(dout, x, gamma, beta, eps=1e-5):
    """All in float32, whatever the input dtype (a GPU-minded course): the values count at
    float32's precision; keeping the dtype is the separate test 'keeps dtype'."""
    f32 = np.float32
    return batchnorm_backward_compact(dout.astype(f32), x.astype(f32), gamma.astype(f32), beta.astype(f32),
                                      f32(eps))
