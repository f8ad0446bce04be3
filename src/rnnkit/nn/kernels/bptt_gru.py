"""The ``bptt`` backend for the lecture's reset-before GRU, which no library kernel computes: a sequence
kernel with hand-written BPTT (``bptt_lstm.py`` is the same idea for the two LSTMs), and its Triton twin.

What makes it faster than the reference loop (measured in ``benchmarks/bench_cells.py``):

* the input projections of all T steps are one GEMM, x (T·B, I) · W_ihᵀ, outside the loop;
* the loop runs under ``no_grad`` with preallocated outputs: no autograd graph of T × ~12 nodes;
* the backward pass is derived by hand (the same algebra as ``rnnkit.nn.reference``) and the weight
  gradients are one GEMM over all steps each, instead of one small GEMM per step.

The function is exactly ``GRUResetBeforeCell.step`` unrolled; tests compare outputs and every
gradient with the reference loop, with variable lengths.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from rnnkit.nn.kernels import cuda_graphs


class GRUResetBeforeSequence(torch.autograd.Function):
    """One direction of one layer of the reset-before GRU over a whole sequence.

    Inputs: gi (T, B, 3H) = x W_ihᵀ + b_ih (all steps, computed outside so autograd differentiates it),
    h0 (B, H), weight_hh (3H, H), bias_hh (3H,) or None, mask (T, B, 1) float or None.
    Outputs: out (T, B, H) (zero past each length), h_T (B, H) (the state at each sequence's last step).

    Per step (r, z, n in torch's gate order; the lecture's W_hh is the last H rows of weight_hh):
        r = σ(gi_r + W_hr h + b_hr),  z = σ(gi_z + W_hz h + b_hz)
        n = tanh(gi_n + W_hn (r ⊙ h) + b_hn),  h' = z ⊙ h + (1 − z) ⊙ n
        h_t = m ⊙ h' + (1 − m) ⊙ h,  out_t = m ⊙ h'
    """

    @staticmethod
    def forward(ctx, gi: Tensor, h0: Tensor, weight_hh: Tensor, bias_hh: Tensor | None,
                mask: Tensor | None) -> tuple[Tensor, Tensor]:
        T, B, G = gi.shape
        H = G // 3
        w_rz, w_n = weight_hh[: 2 * H], weight_hh[2 * H:]
        b_rz = bias_hh[: 2 * H] if bias_hh is not None else None
        b_n = bias_hh[2 * H:] if bias_hh is not None else None
        hs = gi.new_empty(T + 1, B, H)  # hs[t] is the state before step t
        rs, zs, ns, rh = (gi.new_empty(T, B, H) for _ in range(4))
        out = gi.new_empty(T, B, H)
        hs[0] = h0
        for t in range(T):
            h = hs[t]
            rz = torch.addmm(b_rz, h, w_rz.t()) if b_rz is not None else h @ w_rz.t()
            rz += gi[t, :, : 2 * H]
            rz.sigmoid_()
            r, z = rz[:, :H], rz[:, H:]
            torch.mul(r, h, out=rh[t])
            n = torch.addmm(b_n, rh[t], w_n.t()) if b_n is not None else rh[t] @ w_n.t()
            n += gi[t, :, 2 * H:]
            n.tanh_()
            # h' = n + z ⊙ (h − n)
            new = torch.addcmul(n, z, h - n)
            if mask is not None:
                m = mask[t]
                torch.mul(new, m, out=out[t])
                torch.addcmul(out[t], h, 1 - m, out=hs[t + 1])
            else:
                out[t] = new
                hs[t + 1] = new
            rs[t], zs[t], ns[t] = r, z, n
        ctx.save_for_backward(hs, rs, zs, ns, rh, weight_hh, mask)
        ctx.has_bias = bias_hh is not None
        return out, hs[T].clone()

    @staticmethod
    def backward(ctx, d_out: Tensor, d_hT: Tensor):
        hs, rs, zs, ns, rh, weight_hh, mask = ctx.saved_tensors
        T, B, H = rs.shape
        w_rz, w_n = weight_hh[: 2 * H], weight_hh[2 * H:]
        d_gi = d_out.new_empty(T, B, 3 * H)
        dh = d_hT.clone() if d_hT is not None else d_out.new_zeros(B, H)
        for t in range(T - 1, -1, -1):
            h, r, z, n = hs[t], rs[t], zs[t], ns[t]
            if mask is not None:
                m = mask[t]
                d_new = (d_out[t] + dh) * m  # gradient reaching h' (the update), zero past the length
                dh = dh * (1 - m)  # past the length h_t = h: the gradient flows straight through
            else:
                d_new = d_out[t] + dh
                dh = torch.zeros_like(dh)
            # h' = z ⊙ h + (1 − z) ⊙ n
            dn = d_new * (1 - z)
            dz = d_new * (h - n)
            dh += d_new * z
            # n = tanh(a_n): da_n = dn ⊙ (1 − n²); a_n = gi_n + W_hn (r ⊙ h) + b_hn
            da_n = d_gi[t, :, 2 * H:]
            torch.mul(dn, 1 - n * n, out=da_n)
            d_rh = da_n @ w_n
            dh += d_rh * r
            # r, z = σ(a_r), σ(a_z); a_{r,z} = gi_{r,z} + W_h{r,z} h + b_h{r,z}
            da_rz = d_gi[t, :, : 2 * H]
            torch.mul(d_rh * h * r, 1 - r, out=da_rz[:, :H])
            torch.mul(dz * z, 1 - z, out=da_rz[:, H:])
            dh += da_rz @ w_rz
        # Weight gradients: one GEMM over all steps each.
        flat = d_gi.reshape(T * B, 3 * H)
        d_w = torch.empty_like(weight_hh)
        d_w[: 2 * H] = flat[:, : 2 * H].t() @ hs[:T].reshape(T * B, H)
        d_w[2 * H:] = flat[:, 2 * H:].t() @ rh.reshape(T * B, H)
        d_b = flat.sum(0) if ctx.has_bias else None
        return d_gi, dh, d_w, d_b, None


def gru_reset_before_sequence(x: Tensor, h0: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor | None,
                              bias_hh: Tensor | None, mask: Tensor | None, *,
                              function: type[torch.autograd.Function] = GRUResetBeforeSequence,
                              ) -> tuple[Tensor, Tensor]:
    """x (T, B, I), h0 (B, H), mask (T, B, 1) or None → out (T, B, H), h_T (B, H).

    ``function`` is the sequence kernel: :class:`GRUResetBeforeSequence` here, or the Triton one on CUDA
    (:func:`triton_sequence`, :func:`graphed_sequence`: the same interface)."""
    gi = F.linear(x, weight_ih, bias_ih)  # (T, B, 3H): every step's input projection in one GEMM
    mask = None if mask is None else mask.to(x.dtype)
    return function.apply(gi, h0, weight_hh, bias_hh, mask)


def triton_sequence(x: Tensor, h0: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor | None,
                    bias_hh: Tensor | None, mask: Tensor | None) -> tuple[Tensor, Tensor]:
    """:func:`gru_reset_before_sequence` on the Triton kernels (CUDA, float32). Triton is an optional extra
    (~1 GB), so its module is imported here, on the first call, never by ``import rnnkit``."""
    from rnnkit.nn.kernels.triton_gru import TritonGRUResetBefore

    return gru_reset_before_sequence(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, mask,
                                     function=TritonGRUResetBefore)


def graphed_sequence(x: Tensor, h0: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor | None,
                     bias_hh: Tensor | None, mask: Tensor | None) -> tuple[Tensor, Tensor]:
    """:func:`triton_sequence` with its launch loops replayed from CUDA graphs (:mod:`.cuda_graphs`)."""
    return gru_reset_before_sequence(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, mask,
                                     function=cuda_graphs.GraphedOrEager)
