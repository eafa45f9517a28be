"""Training problems (kind `training`): the data functions and the reference trainers.

A data function runs in the trusted process: f(seed, **case data) returns the training inputs
(sent to the student's code), the held-out inputs (sent for predictions) and the held-out
labels (kept by the grader). A reference trainer is a student's solution that reaches full marks.
"""
import numpy as np
import torch
from torch import nn


def spirals(rng, n, classes=3, noise=0.2, turns=5.0):
    """`n` points of `classes` interleaved 2-D spirals (CS231n's toy data), shuffled.

    Class k at radius r in [0, 1): angle = k * turns + turns * r + noise * N(0, 1),
    point = r * (sin(angle), cos(angle)). Returns X (n, 2) float32 and y (n,) int64."""
    y = np.arange(n) % classes
    r = rng.uniform(0.0, 1.0, n)
    angle = y * turns + turns * r + noise * rng.standard_normal(n)
    X = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)
    order = rng.permutation(n)
    return torch.from_numpy(X[order].astype(np.float32)), torch.from_numpy(y[order].astype(np.int64))


def spiral_task(seed, n=300, heldout=300, noise=0.2):
    """Training spirals X (n, 2), y (n,) and `heldout` more points from the same spirals."""
    rng = np.random.default_rng(seed)
    X, y = spirals(rng, n, noise=noise)
    X_test, y_test = spirals(rng, heldout, noise=noise)
    return {"inputs": {"X": X, "y": y}, "heldout": X_test, "labels": y_test}


def train_spiral_classifier(X, y):
    """A 2-64-64-3 MLP trained full-batch with Adam on the cross-entropy: a few hundred steps
    reach 96-100% on held-out points (a linear model: at most 46%) in a second or two of CPU."""
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 3))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(400):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(X), y)
        loss.backward()
        optimizer.step()
    return model


def csv_regression_task(seed, fixtures):
    """The shipped training file's path (the student's code reads it) and the held-out points of
    regression-heldout.csv, which stays in the bank. The data is fixed: `seed` seeds only the
    student's random state."""
    rows = np.loadtxt(fixtures / "regression-heldout.csv", delimiter=",", skiprows=1)
    return {"inputs": {"path": "fixtures/regression-train.csv"},
            "heldout": torch.from_numpy(rows[:, :3].astype(np.float32)), "labels": torch.from_numpy(rows[:, 3])}


def train_csv_regressor(path):
    """Read x1, x2, x3, y from the CSV; a 3-64-64-1 MLP trained full-batch with Adam on the MSE;
    the model returns (m,) predictions."""
    rows = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float32)
    X, y = torch.from_numpy(rows[:, :3]), torch.from_numpy(rows[:, 3])
    net = nn.Sequential(nn.Linear(3, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 1))
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(600):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(net(X).squeeze(1), y)
        loss.backward()
        optimizer.step()
    return Flatten(net)


class Flatten(nn.Module):
    """A network with one output column, returning (m,) instead of (m, 1)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x).squeeze(1)
