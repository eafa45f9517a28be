"""Known wrong answers to the numeric quiz questions: each computes what a student who made
that mistake would answer, from the same parameters, so the feedback can name the mistake."""
import math


def coin_entropy_nats(p):
    """Natural log instead of log2 (notes 003's convention): a fair coin gives 0.693."""
    return -(p * math.log(p) + (1 - p) * math.log(1 - p))


def coin_entropy_missing_minus(p):
    """H = sum p log p, as written in notes 000: negative."""
    return p * math.log2(p) + (1 - p) * math.log2(1 - p)


def coin_entropy_heads_only(p):
    """Only the heads term -p log2 p."""
    return -p * math.log2(p)


def die_entropy_bits(k):
    return math.log2(k)


def die_entropy_missing_minus(k):
    return -math.log(k)


def cross_entropy_bits(p1, p2, p3, label):
    return -math.log2((p1, p2, p3)[label - 1])


def cross_entropy_missing_minus(p1, p2, p3, label):
    return math.log((p1, p2, p3)[label - 1])


def cross_entropy_sum_all(p1, p2, p3, label):
    """-sum_i ln q_i over every class instead of the true class only."""
    return -(math.log(p1) + math.log(p2) + math.log(p3))


def kl_divergence_reversed(p, q):
    """D_KL(Q || P): KL is not symmetric."""
    return q * math.log(q / p) + (1 - q) * math.log((1 - q) / (1 - p))


def kl_divergence_bits(p, q):
    return (p * math.log(p / q) + (1 - p) * math.log((1 - p) / (1 - q))) / math.log(2)


def conv_output_size_ceil(n, f, p, s):
    return -(-(n - f + 2 * p) // s) + 1


def conv_output_size_single_padding(n, f, p, s):
    return (n - f + p) // s + 1


def conv_output_size_no_floor(n, f, p, s):
    return (n - f + 2 * p) / s + 1


def conv_output_size_no_plus_one(n, f, p, s):
    return (n - f + 2 * p) // s


def conv_param_count_no_bias(k, f, c):
    return k * f * f * c


def conv_param_count_no_channels(k, f, c):
    return k * (f * f + 1)


def adam_bias_correction_multiplied(b1, t):
    """Multiplying by (1 - b1^t) instead of dividing."""
    return 1 - b1 ** t


def adam_bias_correction_no_power(b1, t):
    """1 / (1 - b1), ignoring the step t."""
    return 1 / (1 - b1)


def step_decay_every_epoch(lr0, gamma, k, epoch):
    """Decaying every epoch: lr0 * gamma^epoch."""
    return lr0 * gamma ** epoch


def step_decay_no_floor(lr0, gamma, k, epoch):
    """Exponential decay lr0 * gamma^(epoch / k), no steps."""
    return lr0 * gamma ** (epoch / k)


def recall(tp, fp, fn, tn):
    return tp / (tp + fn)


def accuracy(tp, fp, fn, tn):
    return (tp + tn) / (tp + fp + fn + tn)


def arithmetic_mean_pr(tp, fp, fn, tn):
    return (tp / (tp + fp) + tp / (tp + fn)) / 2


def dropout_scale_one_over_p(p):
    return 1 / p


def dropout_scale_test_time(p):
    """(1 - p): the test-time scaling of non-inverted dropout."""
    return 1 - p


def xavier_variance_code_in_notes(n_in, n_out):
    """Dividing by sqrt(n_in + n_out) (notes 002's code): variance 1 / (n_in + n_out)."""
    return 1 / (n_in + n_out)


def lecun_variance(n_in, n_out=None):
    """1 / n_in: LeCun init, called 'Xavier' in notes 004."""
    return 1 / n_in


def he_variance_as_xavier(n_in, n_out):
    return 2 / (n_in + n_out)


def he_std(n_in):
    """The standard deviation sqrt(2 / n_in) instead of the variance."""
    return math.sqrt(2 / n_in)


def he_variance_for_xavier(n_in, n_out):
    """2 / n_in: He init, not Xavier."""
    return 2 / n_in


def sigmoid_itself(x):
    return 1 / (1 + math.exp(-x))


def sigmoid_derivative_plus(x):
    """sigma(x) (1 + sigma(x))."""
    s = 1 / (1 + math.exp(-x))
    return s * (1 + s)


def attention_unscaled(dot, d_k):
    """No 1/sqrt(d_k) scale (notes 002's Q_1 K_i)."""
    return float(dot)


def attention_divided_by_dk(dot, d_k):
    return dot / d_k


def l2_distance_squared(x1, x2, x3, y1, y2, y3):
    return float((x1 - y1) ** 2 + (x2 - y2) ** 2 + (x3 - y3) ** 2)


def l1_distance(x1, x2, x3, y1, y2, y3):
    """sum_i sqrt((x_i - y_i)^2) = sum |x_i - y_i|: the sum outside the root (notes 004's formula)."""
    return float(abs(x1 - y1) + abs(x2 - y2) + abs(x3 - y3))
