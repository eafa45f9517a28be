"""Wrong classes students write, for the `steps` problems knn-classifier and sgd-momentum-optimizer."""
import numpy as np

from reference.steps_classes import KNearestNeighbor, SGDMomentum


class KNNSquaredDistances(KNearestNeighbor):
    """Returns squared distances (the same neighbours, the wrong distances)."""

    def compute_distances(self, X):
        return super().compute_distances(X) ** 2


class KNNTiesToLarger(KNearestNeighbor):
    """Breaks vote ties towards the larger label."""

    def predict(self, X, k=1):
        nearest = np.argsort(self.compute_distances(X), axis=1, kind="stable")[:, :k]
        votes = [np.bincount(self.y_train[row]) for row in nearest]
        return np.array([len(v) - 1 - np.argmax(v[::-1]) for v in votes], dtype=np.int64)


class KNNIgnoresK(KNearestNeighbor):
    """Always takes the single nearest neighbour."""

    def predict(self, X, k=1):
        return super().predict(X, 1)


class KNNNearestFromFarthest(KNearestNeighbor):
    """Sorts the distances in decreasing order: votes among the k farthest points."""

    def predict(self, X, k=1):
        farthest = np.argsort(-self.compute_distances(X), axis=1, kind="stable")[:, :k]
        return np.array([np.bincount(self.y_train[row]).argmax() for row in farthest], dtype=np.int64)


class SGDNoVelocity(SGDMomentum):
    """Keeps no velocity between steps: plain SGD."""

    def step(self):
        import torch

        with torch.no_grad():
            for p in self.params:
                if p.grad is not None:
                    p -= self.lr * p.grad


class SGDRebinds(SGDMomentum):
    """Rebinds the loop variable (p = p - lr * v) instead of updating the parameter in place."""

    def step(self):
        import torch

        with torch.no_grad():
            for i, p in enumerate(self.params):
                v = p.grad.clone() if self.velocities[i] is None else self.momentum * self.velocities[i] + p.grad
                self.velocities[i] = v
                p = p - self.lr * v  # noqa: F841 - the mistake: a new tensor, the parameter stays as it was


class SGDDampened(SGDMomentum):
    """v = momentum * v + (1 - momentum) * grad (an exponential average, not torch's momentum)."""

    def step(self):
        import torch

        with torch.no_grad():
            for i, p in enumerate(self.params):
                previous = torch.zeros_like(p) if self.velocities[i] is None else self.velocities[i]
                v = self.momentum * previous + (1 - self.momentum) * p.grad
                self.velocities[i] = v
                p -= self.lr * v

