"""Unsupervised learning: principal component analysis (course notes 002)."""
import torch


def pca(x, k):
    """The top-k principal components of x.

    Center the data, X_c = X - mean(X, axis=0); the principal components are the unit
    eigenvectors of the covariance X_c^T X_c / (N - 1) with the k largest eigenvalues,
    equivalently the first k right singular vectors of X_c.
    x: (N, D). Returns (k, D): one component per row, by decreasing variance; each row's
    sign is arbitrary.
    """
    xc = x - x.mean(dim=0, keepdim=True)               # (N, D)
    _, _, vh = torch.linalg.svd(xc, full_matrices=False)   # vh: (min(N, D), D)
    return vh[:k]
