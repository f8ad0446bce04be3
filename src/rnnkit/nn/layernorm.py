"""The layer norm of the LayerNorm-LSTM (Ba, Kiros & Hinton 2016), taken per gate block.

One home for what the cell's ``step`` and its fast kernels (``kernels/bptt_lstm.py``, ``kernels/cpp.py``) share:
ε and LN over the H units of each gate block. Shapes: v (B, blocks*H), gain γ (blocks*H,).
"""

from __future__ import annotations

from torch import Tensor
from torch.nn import functional as F

LN_EPS = 1e-5  # ε of every layer norm in LayerNormLSTMCell (torch.nn.LayerNorm's default)


def block_layer_norm(v: Tensor, gain: Tensor, blocks: int) -> Tensor:
    """LN per gate block, no shift: v (B, blocks*H) → γ ⊙ (v − μ_k) / √(σ²_k + ε) with μ_k, σ²_k the mean and
    (biased) variance over the H units of block k; gain γ (blocks*H,)."""
    B = v.shape[0]
    normed = F.layer_norm(v.reshape(B, blocks, -1), (v.shape[1] // blocks,), eps=LN_EPS)
    return normed.reshape(B, -1) * gain
