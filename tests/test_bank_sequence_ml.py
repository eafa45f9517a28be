"""The sequence, mlp and classic-ml problems, graded through the real engine.

For every problem: correct formulations a student might write (loops vs vectorised, einsum vs
matmul, built-ins for sub-steps) get full marks, and each known mistake, written the way a student
would write it, loses marks with feedback that names it. Each grade_source call starts a child
process (about 1 s), so every problem has one test over its correct variants and one over its
wrong ones. A few cheap checks compare the references with PyTorch's own modules in-process.
"""
from __future__ import annotations

import math

import pytest
import torch

# ---------------------------------------------------------------------------------------------
# Correct formulations: problem id -> {variant name: source}

CORRECT: dict[str, dict[str, str]] = {}
# Known mistakes as students write them: problem id -> {mistake name: source}
WRONG: dict[str, dict[str, str]] = {}

CORRECT["rnn-cell"] = {
    "concat-einsum": """
        import torch

        def rnn_cell(x, h, W_xh, W_hh, b):
            xh = torch.cat([x, h], dim=1)              # (B, D + H)
            W = torch.cat([W_xh, W_hh], dim=0)         # (D + H, H)
            return torch.tanh(torch.einsum("bk,kh->bh", xh, W) + b)
    """,
    "loop-linear": """
        import torch
        import torch.nn.functional as F

        def rnn_cell(x, h, W_xh, W_hh, b):
            rows = []
            for n in range(x.shape[0]):
                a = F.linear(x[n], W_xh.T) + F.linear(h[n], W_hh.T, b)
                rows.append(torch.tanh(a))
            return torch.stack(rows)
    """,
    "matmul": """
        import torch

        def rnn_cell(x, h, W_xh, W_hh, b):
            return torch.tanh(x @ W_xh + h @ W_hh + b)
    """,
}
WRONG["rnn-cell"] = {
    "transposed-W_hh": """
        import torch

        def rnn_cell(x, h, W_xh, W_hh, b):
            return torch.tanh(x @ W_xh + h @ W_hh.T + b)
    """,
    "missing-bias": """
        import torch

        def rnn_cell(x, h, W_xh, W_hh, b):
            return torch.tanh(h @ W_hh + x @ W_xh)
    """,
    "tanh-on-hidden-only": """
        import torch

        def rnn_cell(x, h, W_xh, W_hh, b):
            return x @ W_xh + torch.tanh(h @ W_hh) + b
    """,
}

CORRECT["lstm-cell"] = {
    "chunk": """
        import torch

        def lstm_cell(x, h, c, W_x, W_h, b):
            i, f, g, o = (x @ W_x + h @ W_h + b).chunk(4, dim=1)
            c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            return torch.sigmoid(o) * torch.tanh(c_next), c_next
    """,
    "per-gate-einsum": """
        import torch

        def lstm_cell(x, h, c, W_x, W_h, b):
            H = h.shape[1]
            def gate(j):
                cols = slice(j * H, (j + 1) * H)
                return (torch.einsum("bd,dh->bh", x, W_x[:, cols])
                        + torch.einsum("bk,kh->bh", h, W_h[:, cols]) + b[cols])
            i, f, g, o = torch.sigmoid(gate(0)), torch.sigmoid(gate(1)), torch.tanh(gate(2)), torch.sigmoid(gate(3))
            c_next = f * c + i * g
            h_next = o * torch.tanh(c_next)
            return (h_next, c_next)
    """,
    "addmm-inplace": """
        import torch

        def lstm_cell(x, h, c, W_x, W_h, b):
            a = torch.addmm(b, x, W_x)
            a.addmm_(h, W_h)
            H = h.shape[1]
            a[:, :2 * H].sigmoid_()
            a[:, 2 * H:3 * H].tanh_()
            a[:, 3 * H:].sigmoid_()
            c_next = a[:, H:2 * H] * c
            c_next.addcmul_(a[:, :H], a[:, 2 * H:3 * H])
            return a[:, 3 * H:] * c_next.tanh(), c_next
    """,
}
WRONG["lstm-cell"] = {
    "gate-order-ifog": """
        import torch

        def lstm_cell(x, h, c, W_x, W_h, b):
            H = h.shape[1]
            a = x @ W_x + h @ W_h + b
            i = torch.sigmoid(a[:, :H])
            f = torch.sigmoid(a[:, H:2*H])
            o = torch.sigmoid(a[:, 2*H:3*H])
            g = torch.tanh(a[:, 3*H:])
            c_next = f * c + i * g
            return o * torch.tanh(c_next), c_next
    """,
    "no-tanh-on-cell": """
        import torch

        def lstm_cell(x, h, c, W_x, W_h, b):
            i, f, g, o = (x @ W_x + h @ W_h + b).chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * c
            return h, c
    """,
    "sigmoid-candidate": """
        import torch

        def lstm_cell(x, h, c, W_x, W_h, b):
            gates = torch.sigmoid(x @ W_x + h @ W_h + b)
            i, f, g, o = gates.chunk(4, dim=1)
            c_next = f * c + i * g
            return o * torch.tanh(c_next), c_next
    """,
    "swapped-outputs": """
        import torch

        def lstm_cell(x, h, c, W_x, W_h, b):
            i, f, g, o = (x @ W_x + h @ W_h + b).chunk(4, dim=1)
            c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h_next = torch.sigmoid(o) * torch.tanh(c_next)
            return c_next, h_next
    """,
}

CORRECT["gru-cell"] = {
    "chunk": """
        import torch

        def gru_cell(x, h, W_x, W_h, b_x, b_h):
            xr, xz, xn = (x @ W_x + b_x).chunk(3, dim=1)
            hr, hz, hn = (h @ W_h + b_h).chunk(3, dim=1)
            r = torch.sigmoid(xr + hr)
            z = torch.sigmoid(xz + hz)
            n = torch.tanh(xn + r * hn)
            return (1 - z) * n + z * h
    """,
    "lerp-per-block": """
        import torch
        import torch.nn.functional as F

        def gru_cell(x, h, W_x, W_h, b_x, b_h):
            H = h.shape[-1]
            blk = lambda t, j: t[..., j * H:(j + 1) * H]
            r = torch.sigmoid(F.linear(x, blk(W_x, 0).T, blk(b_x, 0)) + F.linear(h, blk(W_h, 0).T, blk(b_h, 0)))
            z = torch.sigmoid(F.linear(x, blk(W_x, 1).T, blk(b_x, 1)) + F.linear(h, blk(W_h, 1).T, blk(b_h, 1)))
            n = torch.tanh(F.linear(x, blk(W_x, 2).T, blk(b_x, 2)) + r * F.linear(h, blk(W_h, 2).T, blk(b_h, 2)))
            return torch.lerp(n, h, z)                 # n + z (h - n) = (1 - z) n + z h
    """,
    "loop": """
        import torch

        def gru_cell(x, h, W_x, W_h, b_x, b_h):
            H = h.shape[1]
            out = torch.empty_like(h)
            for n in range(x.shape[0]):
                gx = x[n] @ W_x + b_x
                gh = h[n] @ W_h + b_h
                r = 1 / (1 + torch.exp(-(gx[:H] + gh[:H])))
                z = 1 / (1 + torch.exp(-(gx[H:2*H] + gh[H:2*H])))
                cand = torch.tanh(gx[2*H:] + r * gh[2*H:])
                out[n] = cand + z * (h[n] - cand)
            return out
    """,
}
WRONG["gru-cell"] = {
    "z-roles-swapped": """
        import torch

        def gru_cell(x, h, W_x, W_h, b_x, b_h):
            xr, xz, xn = (x @ W_x + b_x).chunk(3, dim=1)
            hr, hz, hn = (h @ W_h + b_h).chunk(3, dim=1)
            r = torch.sigmoid(xr + hr)
            z = torch.sigmoid(xz + hz)
            h_tilde = torch.tanh(xn + r * hn)
            return (1 - z) * h + z * h_tilde          # as in the notes
    """,
    "reset-before-matmul": """
        import torch

        def gru_cell(x, h, W_x, W_h, b_x, b_h):
            H = h.shape[1]
            gx = x @ W_x + b_x
            r = torch.sigmoid(gx[:, :H] + h @ W_h[:, :H] + b_h[:H])
            z = torch.sigmoid(gx[:, H:2*H] + h @ W_h[:, H:2*H] + b_h[H:2*H])
            n = torch.tanh(gx[:, 2*H:] + (r * h) @ W_h[:, 2*H:] + b_h[2*H:])
            return (1 - z) * n + z * h
    """,
    "gate-order-zrn": """
        import torch

        def gru_cell(x, h, W_x, W_h, b_x, b_h):
            xz, xr, xn = (x @ W_x + b_x).chunk(3, dim=1)
            hz, hr, hn = (h @ W_h + b_h).chunk(3, dim=1)
            z = torch.sigmoid(xz + hz)
            r = torch.sigmoid(xr + hr)
            n = torch.tanh(xn + r * hn)
            return (1 - z) * n + z * h
    """,
}

CORRECT["positional-encoding"] = {
    "loops-math": """
        import math
        import torch

        def positional_encoding(T, d):
            rows = []
            for pos in range(T):
                row = []
                for j in range(d):
                    angle = pos / 10000 ** ((j - j % 2) / d)
                    row.append(math.sin(angle) if j % 2 == 0 else math.cos(angle))
                rows.append(row)
            return torch.tensor(rows, dtype=torch.float32).reshape(T, d)
    """,
    "stack-interleave": """
        import torch

        def positional_encoding(T, d):
            pos = torch.arange(T, dtype=torch.float64)[:, None]
            freq = 1.0 / 10000 ** (torch.arange(0, d, 2, dtype=torch.float64) / d)
            ang = pos * freq
            return torch.stack([ang.sin(), ang.cos()], dim=-1).reshape(T, d).float()
    """,
    "exp-log-annotated-transformer": """
        import math
        import torch

        def positional_encoding(T, d):
            pe = torch.zeros(T, d)
            position = torch.arange(0, T).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, d, 2) * -(math.log(10000.0) / d))
            pe[:, 0::2] = torch.sin(position * div_term)
            pe[:, 1::2] = torch.cos(position * div_term)
            return pe
    """,
    "pow-float32": """
        import torch

        def positional_encoding(T, d):
            pe = torch.zeros(T, d)
            pos = torch.arange(T, dtype=torch.float32).unsqueeze(1)
            div = torch.pow(10000.0, torch.arange(0, d, 2, dtype=torch.float32) / d)
            pe[:, 0::2] = torch.sin(pos / div)
            pe[:, 1::2] = torch.cos(pos / div)
            return pe
    """,
}
WRONG["positional-encoding"] = {
    "sin-cos-swapped": """
        import torch

        def positional_encoding(T, d):
            pe = torch.zeros(T, d)
            pos = torch.arange(T).float().unsqueeze(1)
            div = 10000 ** (torch.arange(0, d, 2).float() / d)
            pe[:, 0::2] = torch.cos(pos / div)
            pe[:, 1::2] = torch.sin(pos / div)
            return pe
    """,
    "column-index-exponent": """
        import math
        import torch

        def positional_encoding(T, d):
            pe = torch.zeros(T, d)
            for pos in range(T):
                for i in range(d):
                    angle = pos / 10000 ** (i / d)
                    pe[pos, i] = math.sin(angle) if i % 2 == 0 else math.cos(angle)
            return pe
    """,
    "halves-not-interleaved": """
        import torch

        def positional_encoding(T, d):
            pos = torch.arange(T).float()[:, None]
            freq = 10000 ** (-torch.arange(0, d, 2).float() / d)
            return torch.cat([torch.sin(pos * freq), torch.cos(pos * freq)], dim=1)
    """,
}

CORRECT["causal-mask"] = {
    "tril": """
        import torch

        def causal_mask(T):
            return torch.tril(torch.ones(T, T, dtype=torch.bool))
    """,
    "arange-compare": """
        import torch

        def causal_mask(T):
            idx = torch.arange(T)
            return idx[None, :] <= idx[:, None]
    """,
    "not-triu-loops": """
        import torch

        def causal_mask(T):
            blocked = torch.zeros(T, T, dtype=torch.bool)
            for i in range(T):
                for j in range(i + 1, T):
                    blocked[i, j] = True
            return ~blocked
    """,
}
WRONG["causal-mask"] = {
    "polarity-reversed": """
        import torch

        def causal_mask(T):
            return torch.triu(torch.ones(T, T), diagonal=1).bool()
    """,
    "diagonal-excluded": """
        import torch

        def causal_mask(T):
            i = torch.arange(T)
            return i[None, :] < i[:, None]
    """,
    "upper-triangle": """
        import torch

        def causal_mask(T):
            return torch.ones(T, T).triu() == 1
    """,
    "float-mask": """
        import torch

        def causal_mask(T):
            return torch.tril(torch.ones(T, T))
    """,
}

CORRECT["multi-head-attention"] = {
    "loop-over-heads": """
        import math
        import torch

        def multi_head_attention(q, k, v, W_q, W_k, W_v, W_o, num_heads, mask=None):
            E = q.shape[-1]
            d = E // num_heads
            Q, K, V = q @ W_q, k @ W_k, v @ W_v
            heads = []
            for j in range(num_heads):
                cols = slice(j * d, (j + 1) * d)
                s = Q[..., cols] @ K[..., cols].transpose(1, 2) / d ** 0.5
                if mask is not None:
                    s = torch.where(mask, s, torch.tensor(float("-inf"), dtype=s.dtype))
                s = s - s.max(dim=-1, keepdim=True).values
                w = s.exp() / s.exp().sum(dim=-1, keepdim=True)
                heads.append(w @ V[..., cols])
            return torch.cat(heads, dim=-1) @ W_o
    """,
    "einsum": """
        import math
        import torch

        def multi_head_attention(q, k, v, W_q, W_k, W_v, W_o, num_heads, mask=None):
            B, Lq, E = q.shape
            h, d = num_heads, E // num_heads
            Q = torch.einsum("ble,ef->blf", q, W_q).unflatten(-1, (h, d))
            K = torch.einsum("ble,ef->blf", k, W_k).unflatten(-1, (h, d))
            V = torch.einsum("ble,ef->blf", v, W_v).unflatten(-1, (h, d))
            s = torch.einsum("bqhd,bkhd->bhqk", Q, K) / math.sqrt(d)
            if mask is not None:
                s = s.masked_fill(~mask[:, None, :, :], -math.inf)
            w = torch.softmax(s, dim=-1)
            out = torch.einsum("bhqk,bkhd->bqhd", w, V).flatten(2)
            return out @ W_o
    """,
    "view-transpose": """
        import math
        import torch

        def multi_head_attention(q, k, v, W_q, W_k, W_v, W_o, num_heads, mask=None):
            B, Lq, E = q.shape
            Lk = k.shape[1]
            d = E // num_heads
            Q = (q @ W_q).view(B, Lq, num_heads, d).transpose(1, 2)
            K = (k @ W_k).view(B, Lk, num_heads, d).transpose(1, 2)
            V = (v @ W_v).view(B, Lk, num_heads, d).transpose(1, 2)
            s = Q @ K.transpose(-2, -1) / math.sqrt(d)
            if mask is not None:
                s = s.masked_fill(~mask.unsqueeze(1), float("-inf"))
            out = torch.softmax(s, dim=-1) @ V
            return out.transpose(1, 2).contiguous().view(B, Lq, E) @ W_o
    """,
}
WRONG["multi-head-attention"] = {
    "scale-by-model-dim": """
        import math
        import torch

        def multi_head_attention(q, k, v, W_q, W_k, W_v, W_o, num_heads, mask=None):
            B, Lq, E = q.shape
            Lk = k.shape[1]
            d = E // num_heads
            Q = (q @ W_q).view(B, Lq, num_heads, d).transpose(1, 2)
            K = (k @ W_k).view(B, Lk, num_heads, d).transpose(1, 2)
            V = (v @ W_v).view(B, Lk, num_heads, d).transpose(1, 2)
            s = Q @ K.transpose(-2, -1) / math.sqrt(E)
            if mask is not None:
                s = s.masked_fill(~mask.unsqueeze(1), float("-inf"))
            return (torch.softmax(s, -1) @ V).transpose(1, 2).reshape(B, Lq, E) @ W_o
    """,
    "split-without-transpose": """
        import math
        import torch

        def multi_head_attention(q, k, v, W_q, W_k, W_v, W_o, num_heads, mask=None):
            B, Lq, E = q.shape
            Lk = k.shape[1]
            d = E // num_heads
            Q = (q @ W_q).reshape(B, num_heads, Lq, d)
            K = (k @ W_k).reshape(B, num_heads, Lk, d)
            V = (v @ W_v).reshape(B, num_heads, Lk, d)
            s = Q @ K.transpose(-2, -1) / math.sqrt(d)
            if mask is not None:
                s = s.masked_fill(~mask.unsqueeze(1), float("-inf"))
            return (torch.softmax(s, -1) @ V).reshape(B, Lq, E) @ W_o
    """,
    "merge-without-transpose": """
        import math
        import torch

        def multi_head_attention(q, k, v, W_q, W_k, W_v, W_o, num_heads, mask=None):
            B, Lq, E = q.shape
            Lk = k.shape[1]
            d = E // num_heads
            Q = (q @ W_q).view(B, Lq, num_heads, d).transpose(1, 2)
            K = (k @ W_k).view(B, Lk, num_heads, d).transpose(1, 2)
            V = (v @ W_v).view(B, Lk, num_heads, d).transpose(1, 2)
            s = Q @ K.transpose(-2, -1) / math.sqrt(d)
            if mask is not None:
                s = s.masked_fill(~mask.unsqueeze(1), float("-inf"))
            return (torch.softmax(s, -1) @ V).reshape(B, Lq, E) @ W_o
    """,
    "missing-output-projection": """
        import math
        import torch

        def multi_head_attention(q, k, v, W_q, W_k, W_v, W_o, num_heads, mask=None):
            B, Lq, E = q.shape
            Lk = k.shape[1]
            d = E // num_heads
            Q = (q @ W_q).view(B, Lq, num_heads, d).transpose(1, 2)
            K = (k @ W_k).view(B, Lk, num_heads, d).transpose(1, 2)
            V = (v @ W_v).view(B, Lk, num_heads, d).transpose(1, 2)
            s = Q @ K.transpose(-2, -1) / math.sqrt(d)
            if mask is not None:
                s = s.masked_fill(~mask.unsqueeze(1), float("-inf"))
            return (torch.softmax(s, -1) @ V).transpose(1, 2).reshape(B, Lq, E)
    """,
}

CORRECT["pad-sequences"] = {
    "split-loop": """
        import torch

        def pad_sequences(data, lengths, max_len, pad_value=0):
            seqs = torch.split(data, lengths.tolist())
            padded = torch.full((len(seqs), max_len), pad_value, dtype=data.dtype)
            mask = torch.zeros(len(seqs), max_len, dtype=torch.bool)
            for b, seq in enumerate(seqs):
                seq = seq[:max_len]
                padded[b, :len(seq)] = seq
                mask[b, :len(seq)] = True
            return padded, mask
    """,
    "vectorised-gather": """
        import torch

        def pad_sequences(data, lengths, max_len, pad_value=0):
            starts = torch.cumsum(lengths, 0) - lengths                   # (B,)
            t = torch.arange(max_len)                                     # (max_len,)
            mask = t[None, :] < lengths[:, None]                          # (B, max_len)
            idx = (starts[:, None] + t[None, :]).clamp(max=max(data.numel() - 1, 0))
            values = data[idx] if data.numel() else torch.zeros(idx.shape, dtype=data.dtype)
            fill = torch.tensor(pad_value, dtype=data.dtype)
            return torch.where(mask, values, fill), mask
    """,
    "notes-collate-fixed": """
        import torch
        import torch.nn.functional as F

        def pad_sequences(data, lengths, max_len, pad_value=0):
            text_list, masks, start = [], [], 0
            for n in lengths.tolist():
                processed_text = data[start:start + n]
                start += n
                if processed_text.size(0) > max_len:
                    processed_text = processed_text[:max_len]
                m = processed_text.size(0)
                text_list.append(F.pad(processed_text, (0, max_len - m), value=pad_value))
                masks.append(torch.cat([torch.ones(m, dtype=torch.bool), torch.zeros(max_len - m, dtype=torch.bool)]))
            return torch.stack(text_list), torch.stack(masks)
    """,
}
WRONG["pad-sequences"] = {
    "truncate-keeps-last": """
        import torch

        def pad_sequences(data, lengths, max_len, pad_value=0):
            rows, masks = [], []
            for seq in torch.split(data, lengths.tolist()):
                if len(seq) > max_len:
                    seq = seq[len(seq) - max_len:]
                pad = torch.full((max_len - len(seq),), pad_value, dtype=data.dtype)
                rows.append(torch.cat([seq, pad]))
                masks.append(torch.arange(max_len) < len(seq))
            return torch.stack(rows), torch.stack(masks)
    """,
    "mask-marks-padding": """
        import torch

        def pad_sequences(data, lengths, max_len, pad_value=0):
            seqs = torch.split(data, lengths.tolist())
            padded = torch.full((len(seqs), max_len), pad_value, dtype=data.dtype)
            for b, seq in enumerate(seqs):
                seq = seq[:max_len]
                padded[b, :len(seq)] = seq
            key_padding_mask = torch.arange(max_len)[None, :] >= lengths.clamp(max=max_len)[:, None]
            return padded, key_padding_mask
    """,
    "pad-value-ignored": """
        import torch

        def pad_sequences(data, lengths, max_len, pad_value=0):
            seqs = torch.split(data, lengths.tolist())
            padded = torch.zeros(len(seqs), max_len, dtype=data.dtype)
            mask = torch.zeros(len(seqs), max_len, dtype=torch.bool)
            for b, seq in enumerate(seqs):
                seq = seq[:max_len]
                padded[b, :len(seq)] = seq
                mask[b, :len(seq)] = True
            return padded, mask
    """,
    "notes-float-zeros": """
        import torch

        def pad_sequences(data, lengths, max_len, pad_value=0):
            text_list, masks = [], []
            for processed_text in torch.split(data, lengths.tolist()):
                if processed_text.size(0) > max_len:
                    processed_text = processed_text[:max_len]
                n = processed_text.size(0)
                processed_text = torch.cat([processed_text, torch.zeros(max_len - n) + pad_value])
                text_list.append(processed_text)
                masks.append(torch.arange(max_len) < n)
            return torch.stack(text_list), torch.stack(masks)
    """,
}

CORRECT["mlp-forward-backward"] = {
    "vectorised-onehot": """
        import torch
        import torch.nn.functional as F

        def mlp_backward(x, W1, b1, W2, b2, y):
            N = x.shape[0]
            z1 = x @ W1 + b1
            h = z1.clamp(min=0)
            s = h @ W2 + b2
            p = torch.softmax(s, dim=1)
            ds = (p - F.one_hot(y, s.shape[1]).to(s.dtype)) / N
            dW2 = h.T @ ds
            db2 = ds.sum(0)
            dh = ds @ W2.T
            dz1 = torch.where(z1 > 0, dh, torch.zeros_like(dh))
            return x.T @ dz1, dz1.sum(0), dW2, db2
    """,
    "cs231n-style-einsum": """
        import torch

        def mlp_backward(x, W1, b1, W2, b2, y):
            N = x.shape[0]
            hidden = torch.maximum(x @ W1 + b1, torch.tensor(0.0, dtype=x.dtype))
            scores = hidden @ W2 + b2
            scores = scores - scores.max(dim=1, keepdim=True).values
            probs = scores.exp()
            probs /= probs.sum(dim=1, keepdim=True)
            dscores = probs
            dscores[torch.arange(N), y] -= 1
            dscores /= N
            dW2 = torch.einsum("nh,nc->hc", hidden, dscores)
            db2 = dscores.sum(dim=0)
            dhidden = dscores @ W2.T
            dhidden[hidden <= 0] = 0
            dW1 = torch.einsum("nd,nh->dh", x, dhidden)
            db1 = dhidden.sum(dim=0)
            return dW1, db1, dW2, db2
    """,
    "per-example-loop": """
        import torch

        def mlp_backward(x, W1, b1, W2, b2, y):
            N = x.shape[0]
            dW1, db1 = torch.zeros_like(W1), torch.zeros_like(b1)
            dW2, db2 = torch.zeros_like(W2), torch.zeros_like(b2)
            for n in range(N):
                z = x[n] @ W1 + b1
                a = torch.relu(z)
                s = a @ W2 + b2
                p = torch.exp(s - torch.logsumexp(s, 0))
                p[y[n]] -= 1
                g = p / N
                dW2 += torch.outer(a, g)
                db2 += g
                dz = (W2 @ g) * (z > 0).to(x.dtype)
                dW1 += torch.outer(x[n], dz)
                db1 += dz
            return dW1, db1, dW2, db2
    """,
}
WRONG["mlp-forward-backward"] = {
    "missing-mean": """
        import torch
        import torch.nn.functional as F

        def mlp_backward(x, W1, b1, W2, b2, y):
            z1 = x @ W1 + b1
            h = torch.relu(z1)
            p = torch.softmax(h @ W2 + b2, dim=1)
            ds = p - F.one_hot(y, p.shape[1]).to(p.dtype)
            dz1 = (ds @ W2.T) * (z1 > 0)
            return x.T @ dz1, dz1.sum(0), h.T @ ds, ds.sum(0)
    """,
    "missing-relu-backward": """
        import torch
        import torch.nn.functional as F

        def mlp_backward(x, W1, b1, W2, b2, y):
            N = x.shape[0]
            h = torch.relu(x @ W1 + b1)
            p = torch.softmax(h @ W2 + b2, dim=1)
            ds = (p - F.one_hot(y, p.shape[1]).to(p.dtype)) / N
            dh = ds @ W2.T
            return x.T @ dh, dh.sum(0), h.T @ ds, ds.sum(0)
    """,
    "missing-onehot": """
        import torch

        def mlp_backward(x, W1, b1, W2, b2, y):
            N = x.shape[0]
            z1 = x @ W1 + b1
            h = torch.relu(z1)
            ds = torch.softmax(h @ W2 + b2, dim=1) / N
            dz1 = (ds @ W2.T) * (z1 > 0)
            return x.T @ dz1, dz1.sum(0), h.T @ ds, ds.sum(0)
    """,
    "bias-gradient-mean": """
        import torch
        import torch.nn.functional as F

        def mlp_backward(x, W1, b1, W2, b2, y):
            N = x.shape[0]
            z1 = x @ W1 + b1
            h = torch.relu(z1)
            p = torch.softmax(h @ W2 + b2, dim=1)
            ds = (p - F.one_hot(y, p.shape[1]).to(p.dtype)) / N
            dz1 = (ds @ W2.T) * (z1 > 0)
            return x.T @ dz1, dz1.mean(0), h.T @ ds, ds.mean(0)
    """,
}

CORRECT["numerical-gradient"] = {
    "loop-clone": """
        import torch

        def numerical_gradient(X, y, w, h=1e-5):
            f = lambda v: ((X @ v - y) ** 2).sum()
            g = torch.zeros_like(w)
            for i in range(w.numel()):
                wp, wm = w.clone(), w.clone()
                wp[i] += h
                wm[i] -= h
                g[i] = (f(wp) - f(wm)) / (2 * h)
            return g
    """,
    "vectorised-identity": """
        import torch

        def numerical_gradient(X, y, w, h=1e-5):
            E = h * torch.eye(w.shape[0], dtype=w.dtype)          # row i = h e_i
            f_plus = ((X @ (w + E).T - y[:, None]) ** 2).sum(0)    # (D,)
            f_minus = ((X @ (w - E).T - y[:, None]) ** 2).sum(0)
            return (f_plus - f_minus) / (2 * h)
    """,
    "cs231n-inplace-restore": """
        import torch

        def numerical_gradient(X, y, w, h=1e-5):
            def f(v):
                r = torch.mv(X, v) - y
                return torch.dot(r, r).item()
            grad = torch.zeros_like(w)
            w = w.clone()
            for i in range(len(w)):
                old = w[i].item()
                w[i] = old + h
                fxph = f(w)
                w[i] = old - h
                fxmh = f(w)
                w[i] = old
                grad[i] = (fxph - fxmh) / (2 * h)
            return grad
    """,
}
WRONG["numerical-gradient"] = {
    "forward-difference": """
        import torch

        def numerical_gradient(X, y, w, h=1e-5):
            f = lambda v: ((X @ v - y) ** 2).sum()
            fx = f(w)
            g = torch.zeros_like(w)
            for i in range(len(w)):
                e = torch.zeros_like(w)
                e[i] = h
                g[i] = (f(w + e) - fx) / h
            return g
    """,
    "divided-by-h": """
        import torch

        def numerical_gradient(X, y, w, h=1e-5):
            f = lambda v: ((X @ v - y) ** 2).sum()
            g = torch.zeros_like(w)
            for i in range(len(w)):
                e = torch.zeros_like(w)
                e[i] = h
                g[i] = (f(w + e) - f(w - e)) / h
            return g
    """,
    "all-coordinates-at-once": """
        import torch

        def numerical_gradient(X, y, w, h=1e-5):
            f = lambda v: ((X @ v - y) ** 2).sum()
            return ((f(w + h) - f(w - h)) / (2 * h)) * torch.ones_like(w)
    """,
    "w-not-restored": """
        import torch

        def numerical_gradient(X, y, w, h=1e-5):
            f = lambda v: ((X @ v - y) ** 2).sum()
            grad = torch.zeros_like(w)
            for i in range(len(w)):
                w[i] += h
                fxph = f(w)
                w[i] -= 2 * h
                fxmh = f(w)
                grad[i] = (fxph - fxmh) / (2 * h)
            return grad
    """,
}

CORRECT["logistic-regression-step"] = {
    "vectorised": """
        import torch

        def logistic_regression_step(X, y, w, b, lr):
            p = torch.sigmoid(X @ w + b)
            dw = X.T @ (p - y) / len(y)
            db = (p - y).mean()
            return w - lr * dw, b - lr * db
    """,
    "loop-math": """
        import math
        import torch

        def logistic_regression_step(X, y, w, b, lr):
            N, D = X.shape
            dw = torch.zeros_like(w)
            db = torch.zeros_like(b)
            for n in range(N):
                z = float(X[n] @ w + b)
                p = 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))
                dw += (p - float(y[n])) * X[n]
                db += p - float(y[n])
            return w - lr * dw / N, b - lr * db / N
    """,
    "bce-derivative-einsum-inplace": """
        import torch

        def logistic_regression_step(X, y, w, b, lr):
            N = X.shape[0]
            err = torch.special.expit(torch.einsum("nd,d->n", X, w) + b) - y
            w_new = w.clone()
            w_new.sub_(torch.einsum("nd,n->d", X, err), alpha=lr / N)
            b_new = b - lr * err.sum(dim=0, keepdim=True) / N
            return w_new, b_new
    """,
}
WRONG["logistic-regression-step"] = {
    "sum-not-mean": """
        import torch

        def logistic_regression_step(X, y, w, b, lr):
            p = torch.sigmoid(X @ w + b)
            return w - lr * X.T @ (p - y), b - lr * (p - y).sum()
    """,
    "wrong-sign": """
        import torch

        def logistic_regression_step(X, y, w, b, lr):
            p = torch.sigmoid(X @ w + b)
            N = X.shape[0]
            return w - lr * X.T @ (y - p) / N, b - lr * (y - p).mean()
    """,
    "missing-sigmoid": """
        import torch

        def logistic_regression_step(X, y, w, b, lr):
            pred = X @ w + b
            N = X.shape[0]
            return w - lr * X.T @ (pred - y) / N, b - lr * (pred - y).mean()
    """,
    "bias-not-updated": """
        import torch

        def logistic_regression_step(X, y, w, b, lr):
            p = torch.sigmoid(X @ w + b)
            w = w - lr * X.T @ (p - y) / X.shape[0]
            return w, b
    """,
}

CORRECT["linear-regression-closed-form"] = {
    "lstsq": """
        import torch

        def linear_regression_closed_form(X, y):
            A = torch.cat([X, torch.ones(X.shape[0], 1, dtype=X.dtype)], dim=1)
            return torch.linalg.lstsq(A, y.unsqueeze(1)).solution.squeeze(1)
    """,
    "inverse-normal-equations": """
        import torch

        def linear_regression_closed_form(X, y):
            A = torch.hstack([X, torch.ones_like(X[:, :1])])
            return torch.linalg.inv(A.T @ A) @ A.T @ y
    """,
    "solve-centered": """
        import torch

        def linear_regression_closed_form(X, y):
            # the same least-squares solution: fit w on centered data, then b = mean(y) - mean(X) w
            mx, my = X.mean(0), y.mean()
            Xc = X - mx
            w = torch.linalg.solve(Xc.T @ Xc, Xc.T @ (y - my))
            b = my - mx @ w
            return torch.cat([w, b.reshape(1)])
    """,
}
WRONG["linear-regression-closed-form"] = {
    "missing-bias-column": """
        import torch

        def linear_regression_closed_form(X, y):
            w = torch.linalg.inv(X.T @ X) @ X.T @ y
            return torch.cat([w, torch.zeros(1, dtype=X.dtype)])
    """,
    "bias-first": """
        import torch

        def linear_regression_closed_form(X, y):
            A = torch.cat([torch.ones(X.shape[0], 1, dtype=X.dtype), X], dim=1)
            return torch.linalg.lstsq(A, y[:, None]).solution[:, 0]
    """,
    "intercept-from-mean": """
        import torch

        def linear_regression_closed_form(X, y):
            w = torch.linalg.lstsq(X, y[:, None]).solution[:, 0]
            return torch.cat([w, y.mean().unsqueeze(0)])
    """,
}

CORRECT["knn-predict"] = {
    "broadcast-bincount": """
        import torch

        def knn_predict(X_train, y_train, X_test, k, metric="l2"):
            diff = X_test[:, None, :] - X_train[None, :, :]
            dist = diff.abs().sum(-1) if metric == "l1" else diff.pow(2).sum(-1).sqrt()
            idx = torch.argsort(dist, dim=1, stable=True)[:, :k]
            C = int(y_train.max()) + 1
            return torch.stack([torch.bincount(y_train[row], minlength=C).argmax() for row in idx])
    """,
    "cdist-squared-loops": """
        import torch

        def knn_predict(X_train, y_train, X_test, k, metric="l2"):
            preds = []
            for x in X_test:
                if metric == "l1":
                    d = torch.cdist(x[None], X_train, p=1)[0]
                else:
                    d = ((X_train - x) ** 2).sum(dim=1)        # squared L2: same order
                order = sorted(range(len(d)), key=lambda i: (d[i].item(), i))[:k]
                votes = {}
                for i in order:
                    label = int(y_train[i])
                    votes[label] = votes.get(label, 0) + 1
                best = max(votes.values())
                preds.append(min(lbl for lbl, c in votes.items() if c == best))
            return torch.tensor(preds, dtype=torch.int64)
    """,
    "one-hot-sum": """
        import torch
        import torch.nn.functional as F

        def knn_predict(X_train, y_train, X_test, k, metric="l2"):
            p = 1.0 if metric == "l1" else 2.0
            dist = torch.cdist(X_test.double(), X_train.double(), p=p, compute_mode="donot_use_mm_for_euclid_dist")
            _, idx = torch.sort(dist, dim=1, stable=True)
            votes = F.one_hot(y_train[idx[:, :k]], int(y_train.max()) + 1).sum(dim=1)
            return votes.argmax(dim=1)
    """,
}
WRONG["knn-predict"] = {
    "l2-without-sum": """
        import torch

        def knn_predict(X_train, y_train, X_test, k, metric="l2"):
            diff = X_test[:, None, :] - X_train[None, :, :]
            if metric == "l1":
                dist = diff.abs().sum(-1)
            else:
                dist = torch.sqrt(diff ** 2).sum(-1)           # L2 = sqrt((A - B)^2), as in the notes
            idx = torch.argsort(dist, dim=1, stable=True)[:, :k]
            C = int(y_train.max()) + 1
            return torch.stack([torch.bincount(y_train[r], minlength=C).argmax() for r in idx])
    """,
    "ties-to-largest-label": """
        import torch

        def knn_predict(X_train, y_train, X_test, k, metric="l2"):
            diff = X_test[:, None, :] - X_train[None, :, :]
            dist = diff.abs().sum(-1) if metric == "l1" else diff.pow(2).sum(-1).sqrt()
            idx = torch.argsort(dist, dim=1, stable=True)[:, :k]
            preds = []
            for r in idx:
                counts = torch.bincount(y_train[r])
                preds.append(int(torch.nonzero(counts == counts.max()).max()))
            return torch.tensor(preds)
    """,
    "farthest-neighbours": """
        import torch

        def knn_predict(X_train, y_train, X_test, k, metric="l2"):
            p = 1 if metric == "l1" else 2
            dist = torch.cdist(X_test, X_train, p=p)
            idx = torch.argsort(dist, dim=1, descending=True, stable=True)[:, :k]
            C = int(y_train.max()) + 1
            return torch.stack([torch.bincount(y_train[r], minlength=C).argmax() for r in idx])
    """,
}

CORRECT["decision-tree-best-split"] = {
    "unique-bincount": """
        import torch

        def entropy(labels, C):
            if len(labels) == 0:
                return 0.0
            p = torch.bincount(labels, minlength=C).double() / len(labels)
            p = p[p > 0]
            return float(-(p * torch.log2(p)).sum())

        def best_split(x, y):
            C = int(y.max()) + 1
            v = torch.unique(x)
            H = entropy(y, C)
            best_t, best_g = None, None
            for t in ((v[:-1] + v[1:]) / 2).tolist():
                left, right = y[x <= t], y[x > t]
                g = H - len(left) / len(y) * entropy(left, C) - len(right) / len(y) * entropy(right, C)
                if best_g is None or g > best_g + 1e-9:
                    best_t, best_g = t, g
            return best_t, best_g
    """,
    "sorted-cumulative-counts-float32": """
        import torch

        def best_split(x, y):
            N = len(y)
            C = int(y.max()) + 1
            xs, order = torch.sort(x)
            onehot = torch.nn.functional.one_hot(y[order], C).float()
            left = onehot.cumsum(0)[:-1]                     # counts left of each gap
            right = onehot.sum(0) - left
            def H(counts):
                n = counts.sum(1, keepdim=True)
                p = counts / n
                return -(torch.special.xlogy(p, p) / torch.log(torch.tensor(2.0))).sum(1)
            nl = left.sum(1)
            gains = H(onehot.sum(0, keepdim=True)) - nl / N * H(left) - (N - nl) / N * H(right)
            valid = xs[1:] > xs[:-1]                         # only between distinct values
            gains = torch.where(valid, gains, torch.tensor(-1.0))
            i = int(torch.nonzero(gains >= gains.max() - 1e-6)[0])
            return float((xs[i] + xs[i + 1]) / 2), float(gains[i])
    """,
    "pure-python": """
        import math

        def best_split(x, y):
            pts = sorted(zip(x.tolist(), y.tolist()))
            N = len(pts)
            def H(labels):
                n = len(labels)
                return -sum(c / n * math.log2(c / n) for c in (labels.count(l) for l in set(labels)))
            ys = [l for _, l in pts]
            parent = H(ys)
            best = None
            for i in range(1, N):
                if pts[i][0] == pts[i - 1][0]:
                    continue
                t = (pts[i - 1][0] + pts[i][0]) / 2
                g = parent - i / N * H(ys[:i]) - (N - i) / N * H(ys[i:])
                if best is None or g > best[1] + 1e-9:
                    best = (t, g)
            return best
    """,
}
WRONG["decision-tree-best-split"] = {
    "nats-not-bits": """
        import math

        def best_split(x, y):
            pts = sorted(zip(x.tolist(), y.tolist()))
            N = len(pts)
            def H(labels):
                n = len(labels)
                return -sum(c / n * math.log(c / n) for c in (labels.count(l) for l in set(labels)))
            ys = [l for _, l in pts]
            best = None
            for i in range(1, N):
                if pts[i][0] == pts[i - 1][0]:
                    continue
                g = H(ys) - i / N * H(ys[:i]) - (N - i) / N * H(ys[i:])
                if best is None or g > best[1] + 1e-9:
                    best = ((pts[i - 1][0] + pts[i][0]) / 2, g)
            return best
    """,
    "unweighted-children": """
        import math

        def best_split(x, y):
            pts = sorted(zip(x.tolist(), y.tolist()))
            N = len(pts)
            def H(labels):
                n = len(labels)
                return -sum(c / n * math.log2(c / n) for c in (labels.count(l) for l in set(labels)))
            ys = [l for _, l in pts]
            best = None
            for i in range(1, N):
                if pts[i][0] == pts[i - 1][0]:
                    continue
                g = H(ys) - (H(ys[:i]) + H(ys[i:]))
                if best is None or g > best[1] + 1e-9:
                    best = ((pts[i - 1][0] + pts[i][0]) / 2, g)
            return best
    """,
    "threshold-not-midpoint": """
        import math

        def best_split(x, y):
            pts = sorted(zip(x.tolist(), y.tolist()))
            N = len(pts)
            def H(labels):
                n = len(labels)
                return -sum(c / n * math.log2(c / n) for c in (labels.count(l) for l in set(labels)))
            ys = [l for _, l in pts]
            best = None
            for i in range(1, N):
                if pts[i][0] == pts[i - 1][0]:
                    continue
                g = H(ys) - i / N * H(ys[:i]) - (N - i) / N * H(ys[i:])
                if best is None or g > best[1] + 1e-9:
                    best = (pts[i - 1][0], g)             # split "at" the last left point
            return best
    """,
    "split-between-equal-values": """
        import math

        def best_split(x, y):
            pts = sorted(zip(x.tolist(), y.tolist()))
            N = len(pts)
            def H(labels):
                n = len(labels)
                return -sum(c / n * math.log2(c / n) for c in (labels.count(l) for l in set(labels)))
            ys = [l for _, l in pts]
            best = None
            for i in range(1, N):                         # split after the i-th point, as in the notes
                g = H(ys) - i / N * H(ys[:i]) - (N - i) / N * H(ys[i:])
                if best is None or g > best[1] + 1e-9:
                    best = ((pts[i - 1][0] + pts[i][0]) / 2, g)
            return best
    """,
}

CORRECT["zero-center-normalize"] = {
    "torch-std-correction": """
        import torch

        def zero_center_normalize(X):
            return (X - X.mean(dim=0)) / X.std(dim=0, correction=0)
    """,
    "var-mean-unbiased-false": """
        import torch

        def zero_center_normalize(X):
            var, mean = torch.var_mean(X, dim=0, unbiased=False)
            out = X.clone()
            out -= mean
            out /= var.sqrt()
            return out
    """,
    "loops-two-pass": """
        import math
        import torch

        def zero_center_normalize(X):
            N, D = X.shape
            out = torch.empty_like(X)
            for j in range(D):
                col = X[:, j]
                mu = col.sum() / N
                sigma = torch.sqrt(((col - mu) ** 2).sum() / N)
                out[:, j] = (col - mu) / sigma
            return out
    """,
}
WRONG["zero-center-normalize"] = {
    "unbiased-std": """
        import torch

        def zero_center_normalize(X):
            X = X - X.mean(0)
            return X / X.std(0)
    """,
    "per-sample": """
        import torch

        def zero_center_normalize(X):
            mu = X.mean(dim=1, keepdim=True)
            sd = X.std(dim=1, keepdim=True, unbiased=False)
            return (X - mu) / sd
    """,
    "divided-by-variance": """
        import torch

        def zero_center_normalize(X):
            X = X - X.mean(0)
            return X / X.var(0, unbiased=False)
    """,
    "one-pass-variance": """
        import torch

        def zero_center_normalize(X):
            mu = X.mean(0)
            var = (X ** 2).mean(0) - mu ** 2
            return (X - mu) / torch.sqrt(var)
    """,
}

CORRECT["whitening"] = {
    "eigh": """
        import torch

        def zca_whiten(X, eps=1e-5):
            Xc = X - X.mean(0)
            cov = Xc.T @ Xc / X.shape[0]
            lam, U = torch.linalg.eigh(cov)
            return Xc @ U @ torch.diag(1 / torch.sqrt(lam + eps)) @ U.T
    """,
    "torch-cov-scaled-columns": """
        import torch

        def zca_whiten(X, eps=1e-5):
            Xc = X - X.mean(dim=0, keepdim=True)
            cov = torch.cov(X.T, correction=0)
            lam, U = torch.linalg.eigh(cov)
            return ((Xc @ U) * torch.rsqrt(lam + eps)) @ U.T
    """,
    "svd-float64": """
        import torch

        def zca_whiten(X, eps=1e-5):
            Xd = X.double()
            Xc = Xd - Xd.mean(0)
            _, S, Vh = torch.linalg.svd(Xc, full_matrices=False)
            lam = S ** 2 / X.shape[0]                      # eigenvalues of the covariance
            W = Vh.T @ torch.diag((lam + eps) ** -0.5) @ Vh
            return (Xc @ W).to(X.dtype)
    """,
}
WRONG["whitening"] = {
    "not-centered": """
        import torch

        def zca_whiten(X, eps=1e-5):
            cov = X.T @ X / X.shape[0]
            lam, U = torch.linalg.eigh(cov)
            return X @ U @ torch.diag(1 / torch.sqrt(lam + eps)) @ U.T
    """,
    "unbiased-covariance": """
        import torch

        def zca_whiten(X, eps=1e-5):
            Xc = X - X.mean(0)
            lam, U = torch.linalg.eigh(torch.cov(X.T))
            return Xc @ U @ torch.diag(1 / torch.sqrt(lam + eps)) @ U.T
    """,
    "missing-sqrt": """
        import torch

        def zca_whiten(X, eps=1e-5):
            Xc = X - X.mean(0)
            lam, U = torch.linalg.eigh(Xc.T @ Xc / X.shape[0])
            return Xc @ U @ torch.diag(1 / (lam + eps)) @ U.T
    """,
    "eps-outside-sqrt": """
        import torch

        def zca_whiten(X, eps=1e-5):
            Xc = X - X.mean(0)
            lam, U = torch.linalg.eigh(Xc.T @ Xc / X.shape[0])
            return Xc @ U @ torch.diag(1 / (torch.sqrt(lam) + eps)) @ U.T
    """,
}

# ---------------------------------------------------------------------------------------------
# The tests

# Two formulations per problem go through the real engine (a child process each); every
# formulation, these included, is also checked in-process on several seeds below, which is cheap.
ENGINE_OVERRIDES = {
    "lstm-cell": ["chunk", "addmm-inplace"],
    "positional-encoding": ["pow-float32", "exp-log-annotated-transformer"],
    "mlp-forward-backward": ["vectorised-onehot", "per-example-loop"],
    "zero-center-normalize": ["var-mean-unbiased-false", "loops-two-pass"],
    "whitening": ["torch-cov-scaled-columns", "svd-float64"],
}


def _engine_variants():
    for pid, variants in CORRECT.items():
        for name in ENGINE_OVERRIDES.get(pid, list(variants)[:2]):
            yield pytest.param(pid, name, id=f"{pid}:{name}")


@pytest.mark.parametrize("problem_id, variant", list(_engine_variants()))
def test_correct_formulation_gets_full_marks(grade_source, problem_id, variant):
    result = grade_source(problem_id, CORRECT[problem_id][variant])
    failed = [f"{t.name}: {t.output}" for t in result.tests if t.score < t.max_score]
    assert result.error is None, result.error
    assert result.score == result.max_score, "\n".join(failed)


@pytest.mark.parametrize("problem_id, mistake",
                         [pytest.param(pid, name, id=f"{pid}:{name}") for pid in WRONG for name in WRONG[pid]])
def test_known_mistake_loses_marks_and_is_named(grade_source, problem_id, mistake):
    result = grade_source(problem_id, WRONG[problem_id][mistake])
    assert result.error is None, result.error
    assert result.score < result.max_score
    named = {t.mistake for t in result.tests if t.mistake}
    assert mistake in named, f"feedback named {named or 'nothing'}; outputs:\n" + "\n".join(
        t.output for t in result.tests if t.output)


@pytest.mark.parametrize("problem_id", list(CORRECT))
def test_every_formulation_passes_on_several_seeds_in_process(problem_id):
    """Per-student seeds give other inputs: no correct formulation may fail on any of them.
    (Trusted test code, so it runs in this process; the engine path is covered above.)"""
    import textwrap
    import types

    from grader.problems.bank import Bank
    from grader.kinds.function.kind import check_output, prepare_cases
    from grader.kinds.precision import clone

    bank = Bank(None)
    problem = bank.get(problem_id)
    failures = []
    for name, source in CORRECT[problem_id].items():
        module = types.ModuleType(f"student_{name}")
        exec(compile(textwrap.dedent(source), f"<{name}>", "exec"), module.__dict__)
        func = getattr(module, problem.entry_point)
        for seed in (0, 1, 2, 12345):
            for case in prepare_cases(problem, bank, seed):
                args = clone([a.value for a in case.args if not a.keyword])
                kwargs = clone({a.name: a.value for a in case.args if a.keyword})
                message = check_output(problem, case.case, func(*args, **kwargs), case.expected)
                if message:
                    failures.append(f"{name}, seed {seed}, case {case.name}: {message}")
    assert not failures, "\n".join(failures[:5])


def test_every_listed_mistake_has_a_student_version():
    from grader.problems.bank import Bank

    bank = Bank(None)
    for pid in CORRECT:
        listed = {m["name"] for m in bank.get(pid).spec.get("mistakes", [])}
        assert listed == set(WRONG[pid]), pid
        assert len(CORRECT[pid]) >= 2, pid


# ---------------------------------------------------------------------------------------------
# References against PyTorch's modules (in-process, no child)

def _double(*shape):
    return torch.randn(*shape, dtype=torch.float64)


def test_rnn_reference_matches_torch_rnncell():
    from reference.sequence import rnn_cell

    torch.manual_seed(0)
    x, h = _double(3, 4), _double(3, 5)
    cell = torch.nn.RNNCell(4, 5).double()
    with torch.no_grad():
        expected = cell(x, h)
        b = cell.bias_ih + cell.bias_hh
        assert torch.allclose(rnn_cell(x, h, cell.weight_ih.T, cell.weight_hh.T, b), expected)


def test_lstm_reference_matches_torch_lstmcell():
    from reference.sequence import lstm_cell

    torch.manual_seed(0)
    x, h, c = _double(3, 4), _double(3, 5), _double(3, 5)
    cell = torch.nn.LSTMCell(4, 5).double()
    with torch.no_grad():
        h_ref, c_ref = cell(x, (h, c))
        h_new, c_new = lstm_cell(x, h, c, cell.weight_ih.T, cell.weight_hh.T, cell.bias_ih + cell.bias_hh)
    assert torch.allclose(h_new, h_ref) and torch.allclose(c_new, c_ref)


def test_gru_reference_matches_torch_grucell():
    from reference.sequence import gru_cell

    torch.manual_seed(0)
    x, h = _double(3, 4), _double(3, 5)
    cell = torch.nn.GRUCell(4, 5).double()
    with torch.no_grad():
        expected = cell(x, h)
        got = gru_cell(x, h, cell.weight_ih.T, cell.weight_hh.T, cell.bias_ih, cell.bias_hh)
    assert torch.allclose(got, expected)


def test_mha_reference_matches_torch_multiheadattention():
    from reference.sequence import multi_head_attention

    torch.manual_seed(0)
    E, heads = 12, 3
    q, k, v = _double(2, 4, E), _double(2, 6, E), _double(2, 6, E)
    mask = torch.rand(2, 4, 6) < 0.6
    mask[..., 0] = True
    mha = torch.nn.MultiheadAttention(E, heads, bias=False, batch_first=True).double()
    W_q, W_k, W_v = mha.in_proj_weight.chunk(3, dim=0)
    with torch.no_grad():
        # nn.MultiheadAttention's attn_mask is True where attention is blocked: the opposite polarity
        expected, _ = mha(q, k, v, attn_mask=(~mask).repeat_interleave(heads, dim=0), need_weights=False)
        got = multi_head_attention(q, k, v, W_q.T, W_k.T, W_v.T, mha.out_proj.weight.T, heads, mask)
    assert torch.allclose(got, expected)


def test_positional_encoding_reference_values():
    from reference.sequence import positional_encoding

    pe = positional_encoding(3, 4).double()
    assert pe.dtype == torch.float64
    expected = torch.tensor([[0.0, 1.0, 0.0, 1.0],
                             [math.sin(1), math.cos(1), math.sin(0.01), math.cos(0.01)],
                             [math.sin(2), math.cos(2), math.sin(0.02), math.cos(0.02)]], dtype=torch.float64)
    assert torch.allclose(pe, expected, atol=1e-7)
