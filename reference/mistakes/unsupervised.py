"""Wrong PCAs students write."""
import torch


def pca_not_centered(x, k):
    """Skips centering: the first 'component' points at the mean."""
    _, _, vh = torch.linalg.svd(x, full_matrices=False)
    return vh[:k]


def pca_columns(x, k):
    """Returns the components as columns (D, k)."""
    xc = x - x.mean(dim=0, keepdim=True)
    _, _, vh = torch.linalg.svd(xc, full_matrices=False)
    return vh[:k].T.contiguous()


def pca_smallest(x, k):
    """Takes the eigenvectors of the k smallest eigenvalues (eigh sorts ascending)."""
    xc = x - x.mean(dim=0, keepdim=True)
    _, vecs = torch.linalg.eigh(xc.T @ xc)             # ascending eigenvalues
    return vecs[:, :k].T.contiguous()


def pca_standardized(x, k):
    """Divides each feature by its standard deviation (PCA of the correlation matrix)."""
    xc = x - x.mean(dim=0, keepdim=True)
    xs = xc / xc.std(dim=0, keepdim=True)
    _, _, vh = torch.linalg.svd(xs, full_matrices=False)
    return vh[:k]
