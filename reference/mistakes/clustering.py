"""Wrong k-means steps and DBSCANs students write."""
import torch

from reference.clustering import dbscan as _dbscan


def kmeans_empty_cluster_nan(x, centroids):
    """Averages an empty cluster anyway: mean of no points is NaN."""
    dist = ((x[:, None, :] - centroids[None]) ** 2).sum(-1)
    labels = dist.argmin(dim=1)
    new = torch.stack([x[labels == j].mean(dim=0) for j in range(centroids.shape[0])])
    return labels, new


def kmeans_empty_cluster_zero(x, centroids):
    """Resets an empty cluster's centroid to the origin (sum / max(count, 1))."""
    dist = ((x[:, None, :] - centroids[None]) ** 2).sum(-1)
    labels = dist.argmin(dim=1)
    onehot = torch.nn.functional.one_hot(labels, centroids.shape[0]).to(x.dtype)   # (N, K)
    counts = onehot.sum(0).clamp(min=1)
    return labels, (onehot.T @ x) / counts[:, None]


def kmeans_l1_distance(x, centroids):
    """Assigns with the L1 (Manhattan) distance."""
    dist = (x[:, None, :] - centroids[None]).abs().sum(-1)
    labels = dist.argmin(dim=1)
    new = centroids.clone()
    for j in range(centroids.shape[0]):
        if (labels == j).any():
            new[j] = x[labels == j].mean(dim=0)
    return labels, new


def kmeans_no_update(x, centroids):
    """Assigns, but returns the old centroids."""
    dist = ((x[:, None, :] - centroids[None]) ** 2).sum(-1)
    return dist.argmin(dim=1), centroids.clone()


def kmeans_ties_to_last(x, centroids):
    """Breaks ties towards the highest centroid index."""
    dist = ((x[:, None, :] - centroids[None]) ** 2).sum(-1)
    k = centroids.shape[0]
    labels = k - 1 - dist.flip(1).argmin(dim=1)
    new = centroids.clone()
    for j in range(k):
        if (labels == j).any():
            new[j] = x[labels == j].mean(dim=0)
    return labels, new


def dbscan_self_not_counted(x, eps, min_samples):
    """Counts neighbours without the point itself, so core points need one more neighbour."""
    return _dbscan(x, eps, min_samples + 1)


def dbscan_border_as_noise(x, eps, min_samples):
    """Clusters only core points; border points stay noise."""
    labels = _dbscan(x, eps, min_samples)
    diff = x[:, None, :] - x[None, :, :]
    core = ((diff * diff).sum(-1) <= eps * eps).sum(1) >= min_samples
    return torch.where(core, labels, torch.full_like(labels, -1))


def dbscan_strict_eps(x, eps, min_samples):
    """Uses distance < eps instead of <= eps."""
    return _dbscan(x, eps - 1e-9 * max(1.0, abs(eps)), min_samples)


def dbscan_noise_zero(x, eps, min_samples):
    """Labels clusters from 1 and noise 0."""
    return _dbscan(x, eps, min_samples) + 1
