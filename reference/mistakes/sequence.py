"""Wrong sequence-model code students write."""
import math

import torch

from ..sequence import lstm_cell, pad_sequences


# ---------------------------------------------------------------- rnn-cell

def rnn_cell_transposed_W_hh(x, h, W_xh, W_hh, b):
    """Uses W_hh in PyTorch's (out, in) layout: h @ W_hh.T."""
    return torch.tanh(x @ W_xh + h @ W_hh.T + b)


def rnn_cell_no_bias(x, h, W_xh, W_hh, b):
    """The notes' formula tanh(W_hh h + W_xh x), without the bias."""
    return torch.tanh(x @ W_xh + h @ W_hh)


def rnn_cell_tanh_on_hidden_only(x, h, W_xh, W_hh, b):
    """Squashes only the recurrent term: tanh(h W_hh) + x W_xh + b."""
    return torch.tanh(h @ W_hh) + x @ W_xh + b


# ---------------------------------------------------------------- lstm-cell

def lstm_cell_ifog(x, h, c, W_x, W_h, b):
    """Reads the gate blocks in CS231n's order i, f, o, g instead of PyTorch's i, f, g, o."""
    a = x @ W_x + h @ W_h + b
    i, f, o, g = a.chunk(4, dim=1)
    c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_next), c_next


def lstm_cell_no_tanh_on_cell(x, h, c, W_x, W_h, b):
    """h' = o * c' (forgets the tanh of the new cell state)."""
    a = x @ W_x + h @ W_h + b
    i, f, g, o = a.chunk(4, dim=1)
    c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * c_next, c_next


def lstm_cell_sigmoid_candidate(x, h, c, W_x, W_h, b):
    """Squashes the candidate g with a sigmoid like the gates, instead of tanh."""
    a = x @ W_x + h @ W_h + b
    i, f, g, o = torch.sigmoid(a).chunk(4, dim=1)
    c_next = f * c + i * g
    return o * torch.tanh(c_next), c_next


def lstm_cell_swapped_outputs(x, h, c, W_x, W_h, b):
    """Returns (c', h') instead of (h', c')."""
    h_next, c_next = lstm_cell(x, h, c, W_x, W_h, b)
    return c_next, h_next


# ---------------------------------------------------------------- gru-cell

def gru_cell_notes_interpolation(x, h, W_x, W_h, b_x, b_h):
    """h' = (1 − z) h + z n: the notes' (and Cho et al.'s) roles of z, swapped relative to PyTorch."""
    H = h.shape[-1]
    gx, gh = x @ W_x + b_x, h @ W_h + b_h
    r = torch.sigmoid(gx[:, :H] + gh[:, :H])
    z = torch.sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])
    n = torch.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])
    return (1 - z) * h + z * n


def gru_cell_reset_before_matmul(x, h, W_x, W_h, b_x, b_h):
    """n = tanh(x W_xn + b_xn + (r ⊙ h) W_hn + b_hn): the reset gate applied to h before the matmul."""
    H = h.shape[-1]
    gx, gh = x @ W_x + b_x, h @ W_h + b_h
    r = torch.sigmoid(gx[:, :H] + gh[:, :H])
    z = torch.sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])
    n = torch.tanh(gx[:, 2 * H:] + (r * h) @ W_h[:, 2 * H:] + b_h[2 * H:])
    return (1 - z) * n + z * h


def gru_cell_zrn_order(x, h, W_x, W_h, b_x, b_h):
    """Reads the blocks in the order z, r, n instead of r, z, n."""
    H = h.shape[-1]
    gx, gh = x @ W_x + b_x, h @ W_h + b_h
    z = torch.sigmoid(gx[:, :H] + gh[:, :H])
    r = torch.sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])
    n = torch.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])
    return (1 - z) * n + z * h


# ---------------------------------------------------------------- positional-encoding

def _pe_from_angles(T, d, exponent):
    pos = torch.arange(T, dtype=torch.float64)[:, None]
    return pos / 10000.0 ** (exponent / d)


def positional_encoding_sin_cos_swapped(T, d):
    """cos in the even columns and sin in the odd ones."""
    angle = _pe_from_angles(T, d, torch.arange(0, d, 2, dtype=torch.float64))
    pe = torch.zeros(T, d, dtype=torch.float64)
    pe[:, 0::2] = torch.cos(angle)
    pe[:, 1::2] = torch.sin(angle)
    return pe.float()


def positional_encoding_column_exponent(T, d):
    """Uses the column index j in the exponent (10000^(j/d)) instead of 2i = 2·floor(j/2)."""
    angle = _pe_from_angles(T, d, torch.arange(d, dtype=torch.float64))   # (T, d)
    pe = torch.where(torch.arange(d) % 2 == 0, torch.sin(angle), torch.cos(angle))
    return pe.float()


def positional_encoding_halves(T, d):
    """All sines in the first d/2 columns, then all cosines, instead of interleaving them."""
    angle = _pe_from_angles(T, d, torch.arange(0, d, 2, dtype=torch.float64))
    return torch.cat([torch.sin(angle), torch.cos(angle)], dim=1).float()


# ---------------------------------------------------------------- causal-mask

def causal_mask_reversed(T):
    """True above the diagonal (the blocked positions), PyTorch's attn_mask polarity."""
    return torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)


def causal_mask_strict(T):
    """j < i: a query may not even attend to itself."""
    return torch.tril(torch.ones(T, T, dtype=torch.bool), diagonal=-1)


def causal_mask_upper(T):
    """j >= i: the transpose, each query sees the future instead of the past."""
    return torch.triu(torch.ones(T, T, dtype=torch.bool))


def causal_mask_float(T):
    """torch.tril(torch.ones(T, T)) without converting to bool: a float32 tensor of 0s and 1s."""
    return torch.tril(torch.ones(T, T))


# ---------------------------------------------------------------- multi-head-attention

def _project(q, k, v, W_q, W_k, W_v):
    return q @ W_q, k @ W_k, v @ W_v


def mha_scale_by_model_dim(q, k, v, W_q, W_k, W_v, W_o, num_heads, mask=None):
    """Scales the scores by 1/√E (the model width) instead of 1/√d_h (the head width)."""
    B, Lq, E = q.shape
    Lk, d_h = k.shape[1], E // num_heads
    Q, K, V = _project(q, k, v, W_q, W_k, W_v)
    Q = Q.view(B, Lq, num_heads, d_h).transpose(1, 2)
    K = K.view(B, Lk, num_heads, d_h).transpose(1, 2)
    V = V.view(B, Lk, num_heads, d_h).transpose(1, 2)
    scores = Q @ K.transpose(-2, -1) / math.sqrt(E)
    if mask is not None:
        scores = scores.masked_fill(~mask[:, None], float("-inf"))
    out = (torch.softmax(scores, dim=-1) @ V).transpose(1, 2).reshape(B, Lq, E)
    return out @ W_o


def mha_split_without_transpose(q, k, v, W_q, W_k, W_v, W_o, num_heads, mask=None):
    """Splits heads with .view(B, h, L, d_h) directly, mixing positions and columns."""
    B, Lq, E = q.shape
    Lk, d_h = k.shape[1], E // num_heads
    Q, K, V = _project(q, k, v, W_q, W_k, W_v)
    Q = Q.reshape(B, num_heads, Lq, d_h)
    K = K.reshape(B, num_heads, Lk, d_h)
    V = V.reshape(B, num_heads, Lk, d_h)
    scores = Q @ K.transpose(-2, -1) / math.sqrt(d_h)
    if mask is not None:
        scores = scores.masked_fill(~mask[:, None], float("-inf"))
    out = (torch.softmax(scores, dim=-1) @ V).reshape(B, Lq, E)
    return out @ W_o


def mha_merge_without_transpose(q, k, v, W_q, W_k, W_v, W_o, num_heads, mask=None):
    """Splits the heads correctly but merges (B, h, Lq, d_h) back with a plain reshape."""
    B, Lq, E = q.shape
    Lk, d_h = k.shape[1], E // num_heads
    Q, K, V = _project(q, k, v, W_q, W_k, W_v)
    Q = Q.view(B, Lq, num_heads, d_h).transpose(1, 2)
    K = K.view(B, Lk, num_heads, d_h).transpose(1, 2)
    V = V.view(B, Lk, num_heads, d_h).transpose(1, 2)
    scores = Q @ K.transpose(-2, -1) / math.sqrt(d_h)
    if mask is not None:
        scores = scores.masked_fill(~mask[:, None], float("-inf"))
    out = (torch.softmax(scores, dim=-1) @ V).reshape(B, Lq, E)
    return out @ W_o


def mha_no_output_projection(q, k, v, W_q, W_k, W_v, W_o, num_heads, mask=None):
    """Returns the concatenated heads without the final W_o projection."""
    B, Lq, E = q.shape
    Lk, d_h = k.shape[1], E // num_heads
    Q, K, V = _project(q, k, v, W_q, W_k, W_v)
    Q = Q.view(B, Lq, num_heads, d_h).transpose(1, 2)
    K = K.view(B, Lk, num_heads, d_h).transpose(1, 2)
    V = V.view(B, Lk, num_heads, d_h).transpose(1, 2)
    scores = Q @ K.transpose(-2, -1) / math.sqrt(d_h)
    if mask is not None:
        scores = scores.masked_fill(~mask[:, None], float("-inf"))
    return (torch.softmax(scores, dim=-1) @ V).transpose(1, 2).reshape(B, Lq, E)


# ---------------------------------------------------------------- pad-sequences

def _split(data, lengths):
    return list(torch.split(data, [int(n) for n in lengths]))


def pad_sequences_keep_last(data, lengths, max_len, pad_value=0):
    """Truncates long sequences by keeping their LAST max_len values."""
    rows, masks = [], []
    for seq in _split(data, lengths):
        seq = seq[-max_len:] if len(seq) > max_len else seq
        n = len(seq)
        rows.append(torch.cat([seq, torch.full((max_len - n,), pad_value, dtype=data.dtype)]))
        masks.append(torch.arange(max_len) < n)
    return torch.stack(rows), torch.stack(masks)


def pad_sequences_mask_marks_padding(data, lengths, max_len, pad_value=0):
    """mask True at the padding (PyTorch's key_padding_mask polarity) instead of at real values."""
    padded, mask = pad_sequences(data, lengths, max_len, pad_value)
    return padded, ~mask


def pad_sequences_zero_padding(data, lengths, max_len, pad_value=0):
    """Always pads with 0, ignoring pad_value."""
    return pad_sequences(data, lengths, max_len, 0)


def pad_sequences_notes_float_zeros(data, lengths, max_len, pad_value=0):
    """The notes' collate_batch: torch.cat with torch.zeros(...) (float32), so the batch turns float."""
    rows, masks = [], []
    for seq in _split(data, lengths):
        if seq.size(0) > max_len:
            seq = seq[:max_len]
        n = seq.size(0)
        rows.append(torch.cat([seq, torch.zeros(max_len - n) + pad_value]))
        masks.append(torch.arange(max_len) < n)
    return torch.stack(rows), torch.stack(masks)
