"""The ``bptt`` backend for the LSTM and the LayerNorm-LSTM: a whole sequence with hand-written BPTT.

For what ``torch.nn`` cannot run — the LayerNorm-LSTM, and any LSTM with zoneout or variational dropout —
this is the reference loop made cheaper without changing the function, the way ``bptt_gru.py`` does it for
the reset-before GRU:

* the input side of all T steps — W_i x_t, for the LayerNorm-LSTM LN_{γx}(W_i x_t), plus both biases — is
  one GEMM (and one layer-norm call) over T·B rows before the loop, differentiated by autograd;
* the loop runs under ``no_grad`` into preallocated buffers (no autograd graph of T × ~20 nodes), and its
  backward pass is derived by hand — the same algebra as ``rnnkit.nn.reference`` (``_lstm_back``,
  ``_ln_lstm_back``) — with the weight and gain gradients as one GEMM / one reduction over all steps.

Zoneout and variational dropout (:mod:`rnnkit.nn.regularizers`) draw their masks here in the reference
loop's order, so with the same seed both compute the same numbers; the tests hold outputs, states and every
gradient to the reference loop. Shapes: x (T, B, I), h and c (B, H), G = 4H.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from rnnkit.nn.layernorm import LN_EPS, block_layer_norm
from rnnkit.nn.regularizers import variational_mask
from rnnkit.nn.state import State


def _normalise(v: Tensor) -> tuple[Tensor, Tensor]:
    """x̂ = (v − μ) / s and 1/s, s = √(σ² + ε), over the last axis (the H units of one block). One fused
    call: on the CPU ``var`` alone costs 8× what ``native_layer_norm`` does for the whole normalisation."""
    xhat, _, rstd = torch.native_layer_norm(v, [v.shape[-1]], None, None, LN_EPS)
    return xhat, rstd


def _normalise_back(d_xhat: Tensor, xhat: Tensor, rstd: Tensor) -> Tensor:
    """dL/dv from dL/dx̂ for x̂ = (v − μ)/s: (dx̂ − mean(dx̂) − x̂ ⊙ mean(dx̂ ⊙ x̂)) / s, per block."""
    mean_d = d_xhat.mean(-1, keepdim=True)
    mean_dx = (d_xhat * xhat).mean(-1, keepdim=True)
    return (d_xhat - mean_d - xhat * mean_dx) * rstd


class LSTMSequence(torch.autograd.Function):
    """One direction of one layer of the LSTM (``ln_hh`` None) or the LayerNorm-LSTM.

    Inputs: gi (T, B, 4H), the input side of every step (see the module docstring); h0, c0 (B, H);
    weight_hh (4H, H); ln_hh (4H), ln_c, ln_c_bias (H) or None; m_h (B, H) the variational mask on the h the
    weights read, or None; keep_h, keep_c (T, B, H) zoneout weights (0/1 draws, or p at evaluation) or None;
    mask (T, B, 1) float or None. Outputs: out (T, B, H) (zero past each length), h_T, c_T (B, H).
    """

    @staticmethod
    def forward(ctx, gi: Tensor, h0: Tensor, c0: Tensor, weight_hh: Tensor, ln_hh: Tensor | None,
                ln_c: Tensor | None, ln_c_bias: Tensor | None, m_h: Tensor | None, keep_h: Tensor | None,
                keep_c: Tensor | None, mask: Tensor | None) -> tuple[Tensor, Tensor, Tensor]:
        T, B, G = gi.shape
        H = G // 4
        layer_norm = ln_hh is not None
        hs, cs = gi.new_empty(T + 1, B, H), gi.new_empty(T + 1, B, H)  # hs[t], cs[t]: the state before step t
        hs[0], cs[0] = h0, c0
        gates = gi.new_empty(T, B, G)  # i, f, g, o after their nonlinearities
        tcs, out = gi.new_empty(T, B, H), gi.new_empty(T, B, H)  # tanh(c_t) (or of LN(c_t) + β_c); outputs
        xh = gi.new_empty(T, B, 4, H) if layer_norm else None  # normalised W_h h, per gate block
        sh = gi.new_empty(T, B, 4, 1) if layer_norm else None  # 1/s of each block
        xc = gi.new_empty(T, B, H) if layer_norm else None  # normalised c_t
        sc = gi.new_empty(T, B, 1) if layer_norm else None
        w_t = weight_hh.t()
        for t in range(T):
            h, c = hs[t], cs[t]
            recurrent = (h if m_h is None else h * m_h) @ w_t  # W_h h   (B, 4H)
            if layer_norm:
                xhat, s = _normalise(recurrent.view(B, 4, H))
                xh[t], sh[t] = xhat, s
                recurrent = xhat.view(B, G) * ln_hh  # LN_{γh}(W_h h)
            a = gi[t] + recurrent
            g_t = gates[t]
            torch.sigmoid(a, out=g_t)
            g_t[:, 2 * H: 3 * H] = torch.tanh(a[:, 2 * H: 3 * H])
            i, f, g, o = g_t.chunk(4, dim=1)
            c_new = torch.addcmul(f * c, i, g)  # c_t = f ⊙ c_{t-1} + i ⊙ g
            n = c_new
            if layer_norm:
                xhat, s = _normalise(c_new)
                xc[t], sc[t] = xhat, s
                n = torch.addcmul(ln_c_bias, xhat, ln_c)  # LN_{γc}(c_t) + β_c
            torch.tanh(n, out=tcs[t])
            h_new = o * tcs[t]  # h_t = o ⊙ tanh(·)
            if keep_h is not None:  # zoneout: d ⊙ previous + (1 − d) ⊙ new
                h_new = torch.lerp(h_new, h, keep_h[t])
                c_new = torch.lerp(c_new, c, keep_c[t])
            if mask is not None:  # past its length a sequence keeps its state and outputs zeros
                m = mask[t]
                torch.mul(h_new, m, out=out[t])
                torch.addcmul(out[t], h, 1 - m, out=hs[t + 1])
                torch.addcmul(c_new * m, c, 1 - m, out=cs[t + 1])
            else:
                out[t] = h_new
                hs[t + 1], cs[t + 1] = h_new, c_new
        ctx.save_for_backward(hs, cs, gates, tcs, weight_hh, ln_hh, ln_c, m_h, keep_h, keep_c, mask, xh, sh, xc, sc)
        return out, hs[T].clone(), cs[T].clone()

    @staticmethod
    def backward(ctx, d_out: Tensor, d_hT: Tensor, d_cT: Tensor):
        hs, cs, gates, tcs, weight_hh, ln_hh, ln_c, m_h, keep_h, keep_c, mask, xh, sh, xc, sc = ctx.saved_tensors
        T, B, G = gates.shape
        H = G // 4
        layer_norm = ln_hh is not None
        d_gi = gates.new_empty(T, B, G)  # dL/da_t, a = gi + LN(W_h h): also dL/dgi
        d_rec = gates.new_empty(T, B, G) if layer_norm else d_gi  # dL/d(W_h h_read)
        d_n = gates.new_empty(T, B, H) if layer_norm else None  # dL/d(LN(c_t) + β_c), for γc and β_c
        dh, dc = d_hT.clone(), d_cT.clone()  # dL/dh_t, dL/dc_t of the state after step t
        for t in range(T - 1, -1, -1):
            c = cs[t]
            i, f, g, o = gates[t].chunk(4, dim=1)
            if mask is not None:  # h_{t+1} = m ⊙ h' + (1 − m) ⊙ h_t, out_t = m ⊙ h'
                m = mask[t]
                d_h_new, d_c_new = (d_out[t] + dh) * m, dc * m
                dh, dc = dh * (1 - m), dc * (1 - m)
            else:
                d_h_new, d_c_new = d_out[t] + dh, dc
                dh, dc = torch.zeros_like(dh), torch.zeros_like(dc)
            if keep_h is not None:  # zoneout: h' = d ⊙ h_t + (1 − d) ⊙ h̃
                dh += d_h_new * keep_h[t]
                dc += d_c_new * keep_c[t]
                d_h_new = d_h_new * (1 - keep_h[t])
                d_c_new = d_c_new * (1 - keep_c[t])
            # h̃ = o ⊙ tanh(n): do = dh̃ ⊙ tanh(n), dn = dh̃ ⊙ o ⊙ (1 − tanh²(n))
            do = d_h_new * tcs[t]
            dn = d_h_new * o * (1 - tcs[t] * tcs[t])
            if layer_norm:  # n = γc ⊙ x̂(c_t) + β_c
                d_n[t] = dn
                d_c_new = d_c_new + _normalise_back(dn * ln_c, xc[t], sc[t])
            else:
                d_c_new = d_c_new + dn
            # c_t = f ⊙ c_{t-1} + i ⊙ g; then through σ' = s (1 − s) and tanh' = 1 − g²
            di, df, dg, d_o = d_gi[t].chunk(4, dim=1)
            torch.mul(d_c_new * g, i * (1 - i), out=di)
            torch.mul(d_c_new * c, f * (1 - f), out=df)
            torch.mul(d_c_new * i, 1 - g * g, out=dg)
            torch.mul(do, o * (1 - o), out=d_o)
            dc += d_c_new * f
            if layer_norm:  # LN_{γh}(W_h h) = γh ⊙ x̂(W_h h), per gate block
                d_xhat = (d_gi[t] * ln_hh).view(B, 4, H)
                d_rec[t] = _normalise_back(d_xhat, xh[t], sh[t]).view(B, G)
            d_read = d_rec[t] @ weight_hh  # dL/d(h_read), h_read = h_t ⊙ m_h
            dh += d_read if m_h is None else d_read * m_h
        h_read = hs[:T] if m_h is None else hs[:T] * m_h
        d_w = d_rec.reshape(T * B, G).t() @ h_read.reshape(T * B, H)  # Σ_t d_rec_tᵀ h_read_t in one GEMM
        d_ln_hh = d_ln_c = d_ln_c_bias = None
        if layer_norm:
            d_ln_hh = (d_gi * xh.view(T, B, G)).sum((0, 1))
            d_ln_c = (d_n * xc).sum((0, 1))
            d_ln_c_bias = d_n.sum((0, 1))
        return d_gi, dh, dc, d_w, d_ln_hh, d_ln_c, d_ln_c_bias, None, None, None, None


def _zoneout_weights(T: int, B: int, H: int, p: float, training: bool, like: Tensor) -> tuple[Tensor, Tensor] | None:
    """keep_h, keep_c (T, B, H): per step a fresh Bernoulli(p) draw for h, then for c (the reference loop's
    order), or the expectation p in evaluation; ``None`` without zoneout."""
    if p == 0:
        return None
    if not training:
        weight = like.new_full((1, 1, 1), p).expand(T, B, H)
        return weight, weight
    keep_h, keep_c = like.new_empty(T, B, H), like.new_empty(T, B, H)
    for t in range(T):
        keep_h[t].bernoulli_(p)
        keep_c[t].bernoulli_(p)
    return keep_h, keep_c


def lstm_sequence(x: Tensor, state: State, *args: Tensor | None, zoneout_p: float = 0.0, dropout_p: float = 0.0,
                  training: bool = False) -> tuple[Tensor, State]:
    """One direction of one layer: x (T, B, I), state (h0, c0) (B, H), ``args`` = weight_ih, weight_hh,
    bias_ih, bias_hh[, ln_weight_ih, ln_weight_hh, ln_weight_c, ln_bias_c], mask (T, B, 1) bool or None
    → out (T, B, H) (zero past each length), (h_T, c_T) at each sequence's own last step.

    Four weights run :class:`~rnnkit.nn.cells.LSTMCell`'s equations, eight the LayerNorm-LSTM's; zoneout
    and variational dropout as in :mod:`rnnkit.nn.regularizers`.
    """
    *weights, mask = args
    weight_ih, weight_hh, bias_ih, bias_hh = weights[:4]
    ln_ih, ln_hh, ln_c, ln_c_bias = weights[4:] if len(weights) == 8 else (None, None, None, None)
    h0, c0 = state
    T, B, _ = x.shape
    H = h0.shape[1]
    recurrent_mask = None
    if training and dropout_p > 0:
        x = x * variational_mask(B, x.shape[2], dropout_p, x)  # the same mask at every step
        recurrent_mask = variational_mask(B, H, dropout_p, x)
    bias = None if bias_ih is None else bias_ih + bias_hh  # b = b_i + b_h, added once for all steps
    if ln_ih is not None:
        gi = block_layer_norm(F.linear(x.reshape(T * B, -1), weight_ih), ln_ih, 4).view(T, B, 4 * H)
        if bias is not None:
            gi = gi + bias
    else:
        gi = F.linear(x, weight_ih, bias)  # (T, B, 4H): W_i x_t + b for every t in one GEMM
    keep = _zoneout_weights(T, B, H, zoneout_p, training, x)
    keep_h, keep_c = keep if keep is not None else (None, None)
    float_mask = None if mask is None else mask.to(x.dtype)
    out, h_T, c_T = LSTMSequence.apply(gi, h0, c0, weight_hh, ln_hh, ln_c, ln_c_bias, recurrent_mask, keep_h, keep_c,
                                       float_mask)
    return out, (h_T, c_T)
