"""kmeans-step, dbscan (clustering) and pca (unsupervised): alternative correct formulations pass,
known mistakes fail with the mistake named."""
from __future__ import annotations


def failed_mistakes(result) -> set[str]:
    return {t.mistake for t in result.tests if t.mistake}


KMEANS_CDIST = """
import torch

def kmeans_step(x, centroids):
    labels = torch.cdist(x, centroids).argmin(dim=1)
    new = centroids.clone()
    for j in range(centroids.shape[0]):
        mask = labels == j
        if mask.any():
            new[j] = x[mask].mean(dim=0)
    return labels, new
"""

KMEANS_MATMUL = """
import torch

def kmeans_step(x, centroids):
    # ||x||^2 - 2 x.c + ||c||^2, vectorised update with one-hot counts
    d = (x * x).sum(1, keepdim=True) - 2 * x @ centroids.T + (centroids * centroids).sum(1)
    labels = torch.argmin(d, dim=1)
    onehot = torch.nn.functional.one_hot(labels, centroids.shape[0]).to(x.dtype)
    counts = onehot.sum(0)
    sums = onehot.T @ x
    new = torch.where(counts[:, None] > 0, sums / counts.clamp(min=1)[:, None], centroids)
    return labels, new
"""

KMEANS_EMPTY_NAN = """
import torch

def kmeans_step(x, centroids):
    labels = ((x[:, None] - centroids[None]) ** 2).sum(-1).argmin(1)
    return labels, torch.stack([x[labels == j].mean(0) for j in range(len(centroids))])
"""


def test_kmeans_alternatives_pass(grade_source):
    for source in (KMEANS_CDIST, KMEANS_MATMUL):
        result = grade_source("kmeans-step", source)
        assert result.passed, [t.output for t in result.tests if not t.passed]


def test_kmeans_empty_cluster_mistake_is_named(grade_source):
    result = grade_source("kmeans-step", KMEANS_EMPTY_NAN)
    assert not result.passed
    assert "empty-cluster-nan" in failed_mistakes(result)
    assert any("keep its old position" in line for line in result.feedback + [t.output for t in result.tests])


DBSCAN_SETS = """
import torch

def dbscan(x, eps, min_samples):
    n = len(x)
    dist = torch.cdist(x.double(), x.double())
    neighbours = [set(torch.nonzero(dist[i] <= eps).flatten().tolist()) for i in range(n)]
    core = [len(nb) >= min_samples for nb in neighbours]
    labels = [-1] * n
    current = 7          # any numbering is fine
    for i in range(n):
        if labels[i] != -1 or not core[i]:
            continue
        labels[i] = current
        frontier = [i]
        while frontier:
            p = frontier.pop(0)
            if not core[p]:
                continue
            for q in sorted(neighbours[p]):
                if labels[q] == -1:
                    labels[q] = current
                    frontier.append(q)
        current += 3
    return torch.tensor(labels, dtype=torch.int64)
"""

DBSCAN_NOISE_ZERO = DBSCAN_SETS.replace("labels = [-1] * n", "labels = [0] * n").replace(
    "labels[i] != -1", "labels[i] != 0").replace("labels[q] == -1", "labels[q] == 0").replace("current = 7", "current = 1")


def test_dbscan_relabelled_solution_passes(grade_source):
    result = grade_source("dbscan", DBSCAN_SETS)
    assert result.passed, [t.output for t in result.tests if not t.passed]


def test_dbscan_noise_zero_is_named(grade_source):
    result = grade_source("dbscan", DBSCAN_NOISE_ZERO)
    assert not result.passed
    assert "noise-zero" in failed_mistakes(result)
    assert any("label -1" in t.output for t in result.tests if not t.passed)


PCA_EIGH = """
import torch

def pca(x, k):
    xc = x - x.mean(0)
    cov = xc.T @ xc / (x.shape[0] - 1)
    values, vectors = torch.linalg.eigh(cov)
    order = torch.argsort(values, descending=True)[:k]
    return -vectors[:, order].T            # any sign per component
"""

PCA_NOT_CENTERED = """
import torch

def pca(x, k):
    return torch.linalg.svd(x, full_matrices=False).Vh[:k]
"""


def test_pca_eigh_with_flipped_signs_passes(grade_source):
    result = grade_source("pca", PCA_EIGH)
    assert result.passed, [t.output for t in result.tests if not t.passed]


def test_pca_not_centered_is_named(grade_source):
    result = grade_source("pca", PCA_NOT_CENTERED)
    assert "not-centered" in failed_mistakes(result)
    assert any("up to sign" in t.output for t in result.tests if not t.passed)
