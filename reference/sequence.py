"""Sequence models: recurrent cells, positional encoding, masks, multi-head attention, padding
(course notes 002 and 004; PyTorch's nn.RNNCell / nn.LSTMCell / nn.GRUCell conventions).

Weights use the row-vector layout of the problem statements: an input row x (B, D) is multiplied
on the right, x @ W with W of shape (in, out). PyTorch's modules store the transpose, (out, in).
"""
import math

import torch


def rnn_cell(x, h, W_xh, W_hh, b):
    """One step of a vanilla (Elman) RNN.

    h' = tanh(x W_xh + h W_hh + b)

    x: (B, D), h: (B, H), W_xh: (D, H), W_hh: (H, H), b: (H,). Returns h': (B, H).
    """
    a = x @ W_xh + h @ W_hh + b                     # (B, H) pre-activation
    return torch.tanh(a)                            # (B, H)


def lstm_cell(x, h, c, W_x, W_h, b):
    """One step of an LSTM, gates in PyTorch's order i, f, g, o.

    [a_i | a_f | a_g | a_o] = x W_x + h W_h + b     (each block H columns wide)
    i = σ(a_i)   f = σ(a_f)   g = tanh(a_g)   o = σ(a_o)
    c' = f ⊙ c + i ⊙ g
    h' = o ⊙ tanh(c')

    x: (B, D), h, c: (B, H), W_x: (D, 4H), W_h: (H, 4H), b: (4H,). Returns (h', c').
    """
    H = h.shape[-1]
    a = x @ W_x + h @ W_h + b                       # (B, 4H)
    i = torch.sigmoid(a[:, 0 * H:1 * H])            # input gate   (B, H)
    f = torch.sigmoid(a[:, 1 * H:2 * H])            # forget gate  (B, H)
    g = torch.tanh(a[:, 2 * H:3 * H])               # candidate    (B, H)
    o = torch.sigmoid(a[:, 3 * H:4 * H])            # output gate  (B, H)
    c_next = f * c + i * g                          # (B, H)
    h_next = o * torch.tanh(c_next)                 # (B, H)
    return h_next, c_next


def gru_cell(x, h, W_x, W_h, b_x, b_h):
    """One step of a GRU, PyTorch's convention (torch.nn.GRUCell), blocks in the order r, z, n.

    r  = σ(x W_xr + b_xr + h W_hr + b_hr)
    z  = σ(x W_xz + b_xz + h W_hz + b_hz)
    n  = tanh(x W_xn + b_xn + r ⊙ (h W_hn + b_hn))   (r gates the hidden term after its matmul)
    h' = (1 − z) ⊙ n + z ⊙ h

    x: (B, D), h: (B, H), W_x: (D, 3H), W_h: (H, 3H), b_x, b_h: (3H,). Returns h': (B, H).
    """
    H = h.shape[-1]
    gx = x @ W_x + b_x                              # (B, 3H) input part of every block
    gh = h @ W_h + b_h                              # (B, 3H) hidden part of every block
    r = torch.sigmoid(gx[:, :H] + gh[:, :H])        # reset gate   (B, H)
    z = torch.sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])   # update gate (B, H)
    n = torch.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])    # candidate   (B, H)
    return (1 - z) * n + z * h                      # (B, H)


def positional_encoding(T, d):
    """Sinusoidal positional encoding (Vaswani et al. 2017, section 3.5).

    PE[pos, 2i]   = sin(pos / 10000^(2i / d))
    PE[pos, 2i+1] = cos(pos / 10000^(2i / d))
    pos = 0 .. T-1, i = 0 .. d/2 - 1. Returns a float32 tensor (T, d).
    Computed in float64 and rounded once, so the reference carries no float32 round-off.
    """
    pos = torch.arange(T, dtype=torch.float64)[:, None]              # (T, 1)
    two_i = torch.arange(0, d, 2, dtype=torch.float64)                 # (d/2,) = 0, 2, 4, ...
    angle = pos / 10000.0 ** (two_i / d)                               # (T, d/2)
    pe = torch.zeros(T, d, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angle)                                     # even columns
    pe[:, 1::2] = torch.cos(angle)                                     # odd columns
    return pe.to(torch.float32)


def causal_mask(T):
    """Causal (look-ahead) mask, True where query i may attend to key j, i.e. j <= i.

    Returns a bool tensor (T, T): lower triangle and diagonal True, above the diagonal False.
    """
    i = torch.arange(T)[:, None]                    # (T, 1) query positions
    j = torch.arange(T)[None, :]                    # (1, T) key positions
    return j <= i                                   # (T, T) bool


def multi_head_attention(q, k, v, W_q, W_k, W_v, W_o, num_heads, mask=None):
    """Multi-head attention without biases (Vaswani et al. 2017, section 3.2.2).

    Q = q W_q, K = k W_k, V = v W_v                    (B, L, E) each
    split E into num_heads heads of d_h = E / num_heads columns (head j: columns j·d_h .. (j+1)·d_h)
    head_j = softmax(Q_j K_jᵀ / √d_h) V_j                (masked keys: score −inf before softmax)
    out = concat(head_0, ..., head_{h-1}) W_o          (B, Lq, E)

    q: (B, Lq, E), k, v: (B, Lk, E), W_*: (E, E); mask: None or bool (B, Lq, Lk), True = may attend.
    """
    B, Lq, E = q.shape
    Lk = k.shape[1]
    d_h = E // num_heads
    Q = (q @ W_q).view(B, Lq, num_heads, d_h).transpose(1, 2)       # (B, h, Lq, d_h)
    K = (k @ W_k).view(B, Lk, num_heads, d_h).transpose(1, 2)       # (B, h, Lk, d_h)
    V = (v @ W_v).view(B, Lk, num_heads, d_h).transpose(1, 2)       # (B, h, Lk, d_h)
    scores = Q @ K.transpose(-2, -1) / math.sqrt(d_h)               # (B, h, Lq, Lk)
    if mask is not None:
        scores = scores.masked_fill(~mask[:, None], float("-inf"))  # same mask for every head
    weights = torch.softmax(scores, dim=-1)                         # over the keys
    heads = weights @ V                                             # (B, h, Lq, d_h)
    concat = heads.transpose(1, 2).reshape(B, Lq, E)                # (B, Lq, E), head j in its columns
    return concat @ W_o                                             # (B, Lq, E)


def pad_sequences(data, lengths, max_len, pad_value=0):
    """Pad (or truncate) a batch of variable-length sequences to max_len: the collate step of notes 004.

    The batch arrives packed: `data` is the concatenation of the B sequences, sequence b being the
    next lengths[b] values. Sequence b becomes row b of `padded`: its first min(lengths[b], max_len)
    values, then pad_value. mask[b, t] is True where padded[b, t] is a real value (not padding).

    data: (N,) with N = sum(lengths), lengths: int64 (B,). Returns (padded (B, max_len), mask (B, max_len) bool).
    """
    B = lengths.shape[0]
    padded = torch.full((B, max_len), pad_value, dtype=data.dtype)     # (B, max_len)
    mask = torch.zeros(B, max_len, dtype=torch.bool)                    # (B, max_len)
    start = 0
    for b in range(B):
        n = int(lengths[b])
        keep = min(n, max_len)                                          # truncate: keep the first max_len
        padded[b, :keep] = data[start:start + keep]
        mask[b, :keep] = True
        start += n
    return padded, mask
