"""Answers to the numeric quiz questions (problems of kind `numeric`).

One function per question, called with the question's parameters by name, in the trusted
process only. The formula and its source in the course notes are in each docstring. Known
wrong answers, which get targeted feedback, live in reference/mistakes/questions.py.
"""
import math


# ------------------------------------------------------------------ entropy (notes 000, 003, 004)

def coin_entropy_bits(p):
    """H(p) = -p log2 p - (1 - p) log2 (1 - p) bits (notes 000: a 0.9/0.1 coin has 0.47 bits)."""
    return -(p * math.log2(p) + (1 - p) * math.log2(1 - p))


def die_entropy_nats(k):
    """A fair k-sided die: H = -sum_i (1/k) ln(1/k) = ln k nats (notes 003: a six-sided die has 1.79)."""
    return math.log(k)


def cross_entropy_nats(p1, p2, p3, label):
    """CE(t, q) = -sum_i t_i ln q_i = -ln q_label for a one-hot target t (notes 004)."""
    return -math.log((p1, p2, p3)[label - 1])


def kl_divergence_nats(p, q):
    """D_KL(P || Q) = sum_i P(i) ln(P(i) / Q(i)) for P = (p, 1 - p), Q = (q, 1 - q) (notes 004)."""
    return p * math.log(p / q) + (1 - p) * math.log((1 - p) / (1 - q))


# ------------------------------------------------------------------ CNNs (notes 004)

def conv_output_size(n, f, p, s):
    """W' = floor((N - F + 2P) / S) + 1: padding P on each side, the last partial window dropped."""
    return (n - f + 2 * p) // s + 1


def conv_param_count(k, f, c):
    """K filters of size F x F x C, each with one bias: K (F^2 C + 1) parameters."""
    return k * (f * f * c + 1)


# ------------------------------------------------------------------ optimizers (notes 003)

def adam_bias_correction(b1, t):
    """Adam's first moment is divided by (1 - b1^t): m_hat = m_t / (1 - b1^t), a factor 1 / (1 - b1^t)."""
    return 1 / (1 - b1 ** t)


def step_decay_lr(lr0, gamma, k, epoch):
    """Step decay: lr = lr0 * gamma^floor(epoch / k) (the rate drops by gamma every k epochs)."""
    return lr0 * gamma ** (epoch // k)


# ------------------------------------------------------------------ metrics (notes 000)

def precision(tp, fp, fn, tn):
    """Precision = TP / (TP + FP): of the predicted positives, the fraction that are positive."""
    return tp / (tp + fp)


def f1_score(tp, fp, fn, tn):
    """F1 = 2 P R / (P + R), the harmonic mean of precision P = TP/(TP+FP) and recall R = TP/(TP+FN)."""
    p, r = tp / (tp + fp), tp / (tp + fn)
    return 2 * p * r / (p + r)


# ------------------------------------------------------------------ regularization (notes 000, 003, 004)

def inverted_dropout_scale(p):
    """Inverted dropout zeroes each unit with probability p and scales the kept ones by 1 / (1 - p) in training."""
    return 1 / (1 - p)


# ------------------------------------------------------------------ initialization (notes 002, 003, 004)

def xavier_variance(n_in, n_out):
    """Xavier (Glorot) normal init: Var[W] = 2 / (n_in + n_out) (Glorot & Bengio, 2010)."""
    return 2 / (n_in + n_out)


def he_variance(n_in):
    """He (Kaiming) init for ReLU layers: Var[W] = 2 / n_in (He et al., 2015)."""
    return 2 / n_in


# ------------------------------------------------------------------ activations (notes 000, 002)

def sigmoid_derivative(x):
    """sigma'(x) = sigma(x) (1 - sigma(x)), with sigma(x) = 1 / (1 + e^-x)."""
    s = 1 / (1 + math.exp(-x))
    return s * (1 - s)


# ------------------------------------------------------------------ attention (notes 002, 004)

def scaled_attention_score(dot, d_k):
    """Scaled dot-product attention score: q . k / sqrt(d_k) (softmax(Q K^T / sqrt(d_k)) V)."""
    return dot / math.sqrt(d_k)


# ------------------------------------------------------------------ nearest neighbour (notes 004)

def l2_distance(x1, x2, x3, y1, y2, y3):
    """d_2(x, y) = sqrt(sum_i (x_i - y_i)^2): the sum is inside the square root."""
    return math.sqrt((x1 - y1) ** 2 + (x2 - y2) ** 2 + (x3 - y3) ** 2)
