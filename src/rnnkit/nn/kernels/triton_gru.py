"""Triton kernels for the lecture's reset-before GRU on CUDA: the recurrent step fused.

Per time step the forward pass is two kernels, because W_hn (r ⊙ h) needs all of r first:

    rz kernel:  [r z] = σ(gi_rz + h W_rzᵀ + b_rz)  → stores r, z and r ⊙ h      (GEMM + pointwise)
    n kernel:   n = tanh(gi_n + (r ⊙ h) W_nᵀ + b_n); h' = n + z ⊙ (h − n); masking (GEMM + pointwise)

and the backward pass three (pointwise; GEMM + pointwise; GEMM + pointwise). The input projections of
all steps (gi = x W_ihᵀ + b_ih) and the weight gradients are single large GEMMs outside the loop, as in
the CPU ``bptt`` kernel (``bptt_gru.py``), whose algebra (and the NumPy BPTT in ``rnnkit.nn.reference``) this follows.

fp32 only for now; CI checks these kernels on the CPU with ``TRITON_INTERPRET=1`` against the
reference loop. GPU timings belong in ``benchmarks/gpu-notes.md``.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor

BLOCK_B, BLOCK_N, BLOCK_K = 16, 32, 32


@triton.jit
def _sigmoid(x):
    return 1.0 / (1.0 + tl.exp(-x))


@triton.jit
def _tanh(x):
    return 2.0 * _sigmoid(2.0 * x) - 1.0


@triton.jit
def _matmul_tile(a_ptr, a_stride, w_ptr, w_stride_n, w_stride_k, offs_b, offs_n, B, N, K,
                 BLOCK_B: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
    """acc[b, n] = Σ_k a[b, k] · w[n, k] over a (BLOCK_B, BLOCK_N) tile (w addressed by its two strides)."""
    acc = tl.zeros((BLOCK_B, BLOCK_N), dtype=tl.float32)
    for k0 in range(0, K, BLOCK_K):
        offs_k = k0 + tl.arange(0, BLOCK_K)
        a = tl.load(a_ptr + offs_b[:, None] * a_stride + offs_k[None, :],
                    mask=(offs_b[:, None] < B) & (offs_k[None, :] < K), other=0.0)
        w = tl.load(w_ptr + offs_n[None, :] * w_stride_n + offs_k[:, None] * w_stride_k,
                    mask=(offs_n[None, :] < N) & (offs_k[:, None] < K), other=0.0)
        acc += tl.dot(a, w, input_precision="ieee")  # not TF32: the tests hold it to the fp32 reference
    return acc


@triton.jit
def _rz_kernel(h_ptr, w_ptr, gi_ptr, b_ptr, r_ptr, z_ptr, rh_ptr, B, H, HAS_BIAS: tl.constexpr,
               BLOCK_B: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
    pid_b, pid_n = tl.program_id(0), tl.program_id(1)
    offs_b = pid_b * BLOCK_B + tl.arange(0, BLOCK_B)
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)  # columns of [r z], 0 ≤ n < 2H
    acc = _matmul_tile(h_ptr, H, w_ptr, H, 1, offs_b, offs_n, B, 2 * H, H, BLOCK_B, BLOCK_N, BLOCK_K)
    inside = (offs_b[:, None] < B) & (offs_n[None, :] < 2 * H)
    acc += tl.load(gi_ptr + offs_b[:, None] * 3 * H + offs_n[None, :], mask=inside, other=0.0)
    if HAS_BIAS:
        acc += tl.load(b_ptr + offs_n, mask=offs_n < 2 * H, other=0.0)[None, :]
    gate = _sigmoid(acc)
    is_r = offs_n[None, :] < H
    col = tl.where(is_r, offs_n[None, :], offs_n[None, :] - H)
    h = tl.load(h_ptr + offs_b[:, None] * H + col, mask=inside & is_r, other=0.0)
    tl.store(r_ptr + offs_b[:, None] * H + col, gate, mask=inside & is_r)
    tl.store(rh_ptr + offs_b[:, None] * H + col, gate * h, mask=inside & is_r)
    tl.store(z_ptr + offs_b[:, None] * H + col, gate, mask=inside & (offs_n[None, :] >= H))


@triton.jit
def _n_kernel(rh_ptr, w_ptr, gi_ptr, b_ptr, h_ptr, z_ptr, m_ptr, n_ptr, out_ptr, h_next_ptr, B, H,
              HAS_BIAS: tl.constexpr, HAS_MASK: tl.constexpr,
              BLOCK_B: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
    pid_b, pid_n = tl.program_id(0), tl.program_id(1)
    offs_b = pid_b * BLOCK_B + tl.arange(0, BLOCK_B)
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    acc = _matmul_tile(rh_ptr, H, w_ptr, H, 1, offs_b, offs_n, B, H, H, BLOCK_B, BLOCK_N, BLOCK_K)
    inside = (offs_b[:, None] < B) & (offs_n[None, :] < H)
    idx = offs_b[:, None] * H + offs_n[None, :]
    acc += tl.load(gi_ptr + offs_b[:, None] * 3 * H + 2 * H + offs_n[None, :], mask=inside, other=0.0)
    if HAS_BIAS:
        acc += tl.load(b_ptr + offs_n, mask=offs_n < H, other=0.0)[None, :]
    n = _tanh(acc)
    h = tl.load(h_ptr + idx, mask=inside, other=0.0)
    z = tl.load(z_ptr + idx, mask=inside, other=0.0)
    new = n + z * (h - n)
    if HAS_MASK:
        m = tl.load(m_ptr + offs_b, mask=offs_b < B, other=0.0)[:, None]
        out = new * m
        nxt = out + (1.0 - m) * h
    else:
        out = new
        nxt = new
    tl.store(n_ptr + idx, n, mask=inside)
    tl.store(out_ptr + idx, out, mask=inside)
    tl.store(h_next_ptr + idx, nxt, mask=inside)


@triton.jit
def _bwd_pointwise_kernel(d_out_ptr, dh_ptr, m_ptr, h_ptr, z_ptr, n_ptr, d_gi_ptr, dh_acc_ptr, B, H,
                          HAS_MASK: tl.constexpr, BLOCK_B: tl.constexpr, BLOCK_N: tl.constexpr):
    pid_b, pid_n = tl.program_id(0), tl.program_id(1)
    offs_b = pid_b * BLOCK_B + tl.arange(0, BLOCK_B)
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    inside = (offs_b[:, None] < B) & (offs_n[None, :] < H)
    idx = offs_b[:, None] * H + offs_n[None, :]
    dh = tl.load(dh_ptr + idx, mask=inside, other=0.0)
    d_new = tl.load(d_out_ptr + idx, mask=inside, other=0.0) + dh
    if HAS_MASK:
        m = tl.load(m_ptr + offs_b, mask=offs_b < B, other=0.0)[:, None]
        d_new = d_new * m
        through = dh * (1.0 - m)
    else:
        through = tl.zeros((BLOCK_B, BLOCK_N), dtype=tl.float32)
    h = tl.load(h_ptr + idx, mask=inside, other=0.0)
    z = tl.load(z_ptr + idx, mask=inside, other=0.0)
    n = tl.load(n_ptr + idx, mask=inside, other=0.0)
    da_n = d_new * (1.0 - z) * (1.0 - n * n)
    da_z = d_new * (h - n) * z * (1.0 - z)
    gi_row = offs_b[:, None] * 3 * H + offs_n[None, :]
    tl.store(d_gi_ptr + gi_row + 2 * H, da_n, mask=inside)
    tl.store(d_gi_ptr + gi_row + H, da_z, mask=inside)
    tl.store(dh_acc_ptr + idx, through + d_new * z, mask=inside)


@triton.jit
def _bwd_r_kernel(d_gi_ptr, w_ptr, h_ptr, r_ptr, dh_acc_ptr, B, H,
                  BLOCK_B: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
    pid_b, pid_n = tl.program_id(0), tl.program_id(1)
    offs_b = pid_b * BLOCK_B + tl.arange(0, BLOCK_B)
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    # d(r ⊙ h)[b, j] = Σ_k da_n[b, k] · W_n[k, j]
    d_rh = _matmul_tile(d_gi_ptr + 2 * H, 3 * H, w_ptr, 1, H, offs_b, offs_n, B, H, H, BLOCK_B, BLOCK_N, BLOCK_K)
    inside = (offs_b[:, None] < B) & (offs_n[None, :] < H)
    idx = offs_b[:, None] * H + offs_n[None, :]
    h = tl.load(h_ptr + idx, mask=inside, other=0.0)
    r = tl.load(r_ptr + idx, mask=inside, other=0.0)
    tl.store(d_gi_ptr + offs_b[:, None] * 3 * H + offs_n[None, :], d_rh * h * r * (1.0 - r), mask=inside)
    dh = tl.load(dh_acc_ptr + idx, mask=inside, other=0.0)
    tl.store(dh_acc_ptr + idx, dh + d_rh * r, mask=inside)


@triton.jit
def _bwd_h_kernel(d_gi_ptr, w_ptr, dh_acc_ptr, dh_ptr, B, H,
                  BLOCK_B: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
    pid_b, pid_n = tl.program_id(0), tl.program_id(1)
    offs_b = pid_b * BLOCK_B + tl.arange(0, BLOCK_B)
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    # dh_prev[b, j] = dh_acc[b, j] + Σ_k da_rz[b, k] · W_rz[k, j]
    acc = _matmul_tile(d_gi_ptr, 3 * H, w_ptr, 1, H, offs_b, offs_n, B, H, 2 * H, BLOCK_B, BLOCK_N, BLOCK_K)
    inside = (offs_b[:, None] < B) & (offs_n[None, :] < H)
    idx = offs_b[:, None] * H + offs_n[None, :]
    tl.store(dh_ptr + idx, acc + tl.load(dh_acc_ptr + idx, mask=inside, other=0.0), mask=inside)


def _grid(B: int, N: int) -> tuple[int, int]:
    return triton.cdiv(B, BLOCK_B), triton.cdiv(N, BLOCK_N)


def forward_loop(gi: Tensor, w: Tensor, b: Tensor, m: Tensor, hs: Tensor, rs: Tensor, zs: Tensor, ns: Tensor,
                 rh: Tensor, out: Tensor, has_bias: bool, has_mask: bool) -> None:
    """Launch the 2·T forward kernels into preallocated buffers (what a CUDA graph captures).

    gi (T, B, 3H), w (3H, H), b (3H,) (any tensor when not ``has_bias``), m (T, B) (any when not
    ``has_mask``); writes hs[1:] (hs (T+1, B, H), hs[0] = h0 on entry), rs, zs, ns, rh, out (T, B, H)."""
    T, B, H = rs.shape
    b_n = b[2 * H:] if has_bias else b
    for t in range(T):
        _rz_kernel[_grid(B, 2 * H)](hs[t], w, gi[t], b, rs[t], zs[t], rh[t], B, H, has_bias,
                                    BLOCK_B, BLOCK_N, BLOCK_K)
        _n_kernel[_grid(B, H)](rh[t], w[2 * H:], gi[t], b_n, hs[t], zs[t], m[t] if has_mask else m, ns[t], out[t],
                               hs[t + 1], B, H, has_bias, has_mask, BLOCK_B, BLOCK_N, BLOCK_K)


def backward_loop(d_out: Tensor, dh: Tensor, m: Tensor, hs: Tensor, rs: Tensor, zs: Tensor, ns: Tensor, w: Tensor,
                  d_gi: Tensor, dh_acc: Tensor, has_mask: bool) -> None:
    """Launch the 3·T backward kernels: d_out (T, B, H) and dh = dL/dh_T (B, H) on entry → d_gi (T, B, 3H)
    and dh = dL/dh_0; dh_acc (B, H) is scratch."""
    T, B, H = rs.shape
    for t in range(T - 1, -1, -1):
        _bwd_pointwise_kernel[_grid(B, H)](d_out[t], dh, m[t] if has_mask else m, hs[t], zs[t], ns[t],
                                           d_gi[t], dh_acc, B, H, has_mask, BLOCK_B, BLOCK_N)
        _bwd_r_kernel[_grid(B, H)](d_gi[t], w[2 * H:], hs[t], rs[t], dh_acc, B, H, BLOCK_B, BLOCK_N, BLOCK_K)
        _bwd_h_kernel[_grid(B, H)](d_gi[t], w, dh_acc, dh, B, H, BLOCK_B, BLOCK_N, BLOCK_K)


def weight_gradient(d_gi: Tensor, hs: Tensor, rh: Tensor) -> Tensor:
    """dL/dW_hh (3H, H) in two GEMMs over all steps: rows r, z read h_{t-1}, rows n read r ⊙ h_{t-1}."""
    T, B, G = d_gi.shape
    H = G // 3
    flat = d_gi.reshape(T * B, G)
    d_w = d_gi.new_empty(G, H)
    d_w[: 2 * H] = flat[:, : 2 * H].t() @ hs[:T].reshape(T * B, H)
    d_w[2 * H:] = flat[:, 2 * H:].t() @ rh.reshape(T * B, H)
    return d_w


class TritonGRUResetBefore(torch.autograd.Function):
    """Same interface and function as :class:`rnnkit.nn.kernels.bptt_gru.GRUResetBeforeSequence`, on Triton."""

    @staticmethod
    def forward(ctx, gi: Tensor, h0: Tensor, weight_hh: Tensor, bias_hh: Tensor | None,
                mask: Tensor | None) -> tuple[Tensor, Tensor]:
        if gi.dtype != torch.float32:
            raise ValueError(f"the Triton reset-before GRU kernels are fp32 only for now, got {gi.dtype}")
        T, B, G = gi.shape
        H = G // 3
        gi, w = gi.contiguous(), weight_hh.contiguous()
        b = bias_hh.contiguous() if bias_hh is not None else w  # dummy pointer when HAS_BIAS is False
        m = mask.reshape(T, B).contiguous() if mask is not None else gi  # dummy pointer likewise
        hs = gi.new_empty(T + 1, B, H)
        hs[0] = h0
        rs, zs, ns, rh, out = (gi.new_empty(T, B, H) for _ in range(5))
        forward_loop(gi, w, b, m, hs, rs, zs, ns, rh, out, bias_hh is not None, mask is not None)
        ctx.save_for_backward(hs, rs, zs, ns, rh, w, mask)
        ctx.has_bias = bias_hh is not None
        return out, hs[T].clone()

    @staticmethod
    def backward(ctx, d_out: Tensor, d_hT: Tensor):
        hs, rs, zs, ns, rh, w, mask = ctx.saved_tensors
        T, B, H = rs.shape
        d_out = d_out.contiguous()
        m = mask.reshape(T, B).contiguous() if mask is not None else d_out
        d_gi = d_out.new_empty(T, B, 3 * H)
        dh = d_hT.contiguous().clone()
        dh_acc = torch.empty_like(dh)
        backward_loop(d_out, dh, m, hs, rs, zs, ns, w, d_gi, dh_acc, mask is not None)
        d_w = weight_gradient(d_gi, hs, rh)
        return d_gi, dh, d_w, d_gi.reshape(T * B, 3 * H).sum(0) if ctx.has_bias else None, None
