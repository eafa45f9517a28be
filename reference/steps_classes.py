"""Classes the student writes, for the `steps` kind: a k-nearest-neighbour classifier (NumPy)
and SGD with momentum (torch)."""
import numpy as np


class KNearestNeighbor:
    """k-NN with Euclidean distances (CS231n assignment 1); vote ties go to the smaller label."""

    def train(self, X, y):
        """Memorise the training data: X (num_train, D), y (num_train,)."""
        self.X_train, self.y_train = X, y

    def compute_distances(self, X):
        """Euclidean distances (num_test, num_train): sqrt(|a|^2 - 2 a.b + |b|^2), clipped at 0."""
        squared = (X ** 2).sum(axis=1)[:, None] - 2 * X @ self.X_train.T + (self.X_train ** 2).sum(axis=1)[None, :]
        return np.sqrt(np.maximum(squared, 0))

    def predict(self, X, k=1):
        """The most common label among the k nearest training points; np.bincount's argmax picks the smallest of ties."""
        dists = self.compute_distances(X)
        nearest = np.argsort(dists, axis=1, kind="stable")[:, :k]  # (num_test, k)
        return np.array([np.bincount(self.y_train[row]).argmax() for row in nearest], dtype=np.int64)


class SGDMomentum:
    """SGD with momentum as torch.optim.SGD (dampening 0): v = momentum * v + grad; p -= lr * v, in place."""

    def __init__(self, params, lr=0.01, momentum=0.9):
        self.params, self.lr, self.momentum = list(params), lr, momentum
        self.velocities = [None] * len(self.params)

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        import torch

        with torch.no_grad():
            for i, p in enumerate(self.params):
                if p.grad is None:
                    continue
                v = p.grad.clone() if self.velocities[i] is None else self.momentum * self.velocities[i] + p.grad
                self.velocities[i] = v
                p -= self.lr * v
