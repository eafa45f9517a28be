"""Clustering: one k-means step and DBSCAN (course notes 000)."""
import torch


def kmeans_step(x, centroids):
    """One step of Lloyd's k-means.

    1. assign each point to its nearest centroid (squared Euclidean distance
       ||x_i - c_j||^2); a tie goes to the lowest centroid index;
    2. move each centroid to the mean of the points assigned to it; a centroid with no
       points keeps its old position.
    x: (N, D), centroids: (K, D). Returns (labels (N,) int64, new_centroids (K, D)).
    """
    diff = x[:, None, :] - centroids[None, :, :]      # (N, K, D)
    dist = (diff * diff).sum(-1)                       # (N, K)
    labels = dist.argmin(dim=1)                        # first minimum: lowest index wins ties
    new = centroids.clone()
    for j in range(centroids.shape[0]):
        members = x[labels == j]                       # (n_j, D)
        if members.shape[0] > 0:
            new[j] = members.mean(dim=0)
    return labels, new


def dbscan(x, eps, min_samples):
    """DBSCAN (Ester et al. 1996) with the conventions of sklearn.cluster.DBSCAN.

    Neighbours of i: every j with ||x_i - x_j|| <= eps, i itself included.
    Core point: at least min_samples neighbours. Points are visited in index order; an
    unlabelled core point starts a new cluster, grown through core points (breadth first);
    a border point (not core, but a neighbour of a core point) joins the first cluster that
    reaches it. Everything else is noise, label -1. Clusters are numbered 0, 1, ... in order
    of discovery. x: (N, D). Returns labels (N,) int64.
    """
    n = x.shape[0]
    diff = x[:, None, :] - x[None, :, :]               # (N, N, D)
    within = (diff * diff).sum(-1) <= eps * eps        # (N, N), True on the diagonal
    core = within.sum(dim=1) >= min_samples            # (N,)
    labels = torch.full((n,), -1, dtype=torch.int64)
    cluster = 0
    for i in range(n):
        if labels[i] != -1 or not core[i]:
            continue
        labels[i] = cluster
        queue = [i]
        while queue:
            p = queue.pop(0)
            if not core[p]:
                continue                               # a border point does not expand
            for q in torch.nonzero(within[p]).flatten().tolist():
                if labels[q] == -1:
                    labels[q] = cluster
                    queue.append(q)
        cluster += 1
    return labels
