from builtins import range
import numpy as np


class TwoLayerNet(object):
    """A two-layer fully-connected neural network with ReLU nonlinearity and softmax loss."""

    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10, weight_scale=1e-3, reg=0.0):
        self.params = {}
        self.reg = reg
        self.params["W1"] = np.random.normal(0, weight_scale, (input_dim, hidden_dim))
        self.params["b1"] = np.zeros(hidden_dim)
        self.params["W2"] = np.random.normal(0, weight_scale, (hidden_dim, num_classes))
        self.params["b2"] = np.zeros(num_classes)

    def loss(self, X, y=None):
        W1, b1 = self.params["W1"], self.params["b1"]
        W2, b2 = self.params["W2"], self.params["b2"]
        a1 = X.reshape(X.shape[0], -1).dot(W1) + b1
        h1 = np.maximum(a1, 0)
        scores = h1.dot(W2) + b2
        if y is None:
            return scores
        N = X.shape[0]
        logp = scores - scores.max(axis=1, keepdims=True)
        logp -= np.log(np.sum(np.exp(logp), axis=1, keepdims=True))
        loss = -np.sum(logp[np.arange(N), y]) / N
        loss += 0.5 * self.reg * (np.sum(W1 ** 2) + np.sum(W2 ** 2))
        dscores = np.exp(logp)
        dscores[np.arange(N), y] -= 1
        dscores /= N
        grads = {}
        grads["W2"] = h1.T.dot(dscores) + self.reg * W2
        grads["b2"] = np.sum(dscores, axis=0)
        da1 = dscores.dot(W2.T) * (a1 > 0)
        grads["W1"] = X.reshape(N, -1).T.dot(da1) + self.reg * W1
        grads["b1"] = np.sum(da1, axis=0)
        return loss, grads
