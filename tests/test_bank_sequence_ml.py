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
    "matmul": """
        import torch

        def rnn_cell(x, h, W_xh, W_hh, b):
            return torch.tanh(x @ W_xh + h @ W_hh + b)
    """,
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

# MARKER: more problems below

# ---------------------------------------------------------------------------------------------
# The tests


def _cases(table):
    return [pytest.param(pid, name, id=f"{pid}:{name}") for pid, variants in table.items() for name in variants]


@pytest.mark.parametrize("problem_id, variant", _cases(CORRECT))
def test_correct_formulation_gets_full_marks(grade_source, problem_id, variant):
    result = grade_source(problem_id, CORRECT[problem_id][variant])
    failed = [f"{t.name}: {t.output}" for t in result.tests if t.score < t.max_score]
    assert result.error is None, result.error
    assert result.score == result.max_score, "\n".join(failed)


@pytest.mark.parametrize("problem_id, mistake", _cases(WRONG))
def test_known_mistake_loses_marks_and_is_named(grade_source, problem_id, mistake):
    result = grade_source(problem_id, WRONG[problem_id][mistake])
    assert result.error is None, result.error
    assert result.score < result.max_score
    named = {t.mistake for t in result.tests if t.mistake}
    assert mistake in named, f"feedback named {named or 'nothing'}; outputs:\n" + "\n".join(
        t.output for t in result.tests if t.output)


def test_every_listed_mistake_has_a_student_version():
    from grader.bank import Bank

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
