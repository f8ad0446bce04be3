"""A CTC speech recognizer: acoustic frames → per-frame log-probabilities over blank + characters.

    features (B, T, F) ──front end, stride s──> (B, T/s, F') ──(bi)directional Recurrent × L──> (B, T/s, D·H)
        ──dropout, linear──> log-softmax (B, T/s, C)           C = 1 (blank) + characters

The front end cuts the frame rate (10 ms → 30 ms for s = 3): the recurrent layers, the costly part,
run 3× fewer steps, and characters (~15 per second of speech) still get ≥ 2 frames each, which CTC
needs (a doubled letter needs a blank between its two frames). ``"stack"`` concatenates s consecutive
frames (no parameters, Sak et al. 2015's frame stacking); ``"conv"`` is a 1-D convolution over
2s - 1 frames with stride s and a ReLU, which learns a local filter before the recurrence.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.nn import Recurrent

FRONTENDS = ("stack", "conv")


def subsampled_lengths(lengths: Tensor, stride: int) -> Tensor:
    """Frames after a stride-``stride`` front end: ceil(T / stride) (the last partial group is kept)."""
    return torch.div(lengths + stride - 1, stride, rounding_mode="floor")


class CTCRecognizer(nn.Module):
    """features (B, T, F) + lengths (B,) → log-probs (B, T', C) and output lengths (B,), T' = ceil(T / s).

    Args:
        num_features: F, the size of one input frame.
        num_classes: C, including the blank (class 0).
        cell, hidden_size, num_layers, bidirectional: the recurrent encoder (any cell).
        subsample: s, the front end's stride (1: none).
        frontend: ``"stack"`` or ``"conv"`` (see the module docstring).
        conv_channels: output channels of the ``"conv"`` front end.
        dropout: between recurrent layers and before the output layer.
        zoneout, recurrent_dropout: of the recurrent layers (:class:`~rnnkit.nn.layers.Recurrent`).
    """

    def __init__(self, num_features: int, num_classes: int, *, cell: str = "gru", hidden_size: int = 192,
                 num_layers: int = 3, bidirectional: bool = True, subsample: int = 3, frontend: str = "stack",
                 conv_channels: int = 256, dropout: float = 0.2, zoneout: float = 0.0,
                 recurrent_dropout: float = 0.0) -> None:
        super().__init__()
        if frontend not in FRONTENDS:
            raise ValueError(f"unknown front end {frontend!r}; valid: {', '.join(FRONTENDS)}")
        if subsample < 1:
            raise ValueError(f"subsample must be >= 1, got {subsample}")
        self.subsample, self.frontend_kind, self.dropout = subsample, frontend, dropout
        if frontend == "conv":
            self.conv = nn.Conv1d(num_features, conv_channels, kernel_size=2 * subsample - 1, stride=subsample,
                                  padding=subsample - 1)
            encoder_input = conv_channels
        else:
            self.conv = None
            encoder_input = num_features * subsample
        self.encoder = Recurrent(cell, encoder_input, hidden_size, num_layers, bidirectional=bidirectional,
                                 dropout=dropout if num_layers > 1 else 0.0, batch_first=True, zoneout=zoneout,
                                 recurrent_dropout=recurrent_dropout)
        self.head = nn.Linear(self.encoder.num_directions * hidden_size, num_classes)

    def front_end(self, features: Tensor) -> Tensor:
        """(B, T, F) → (B, ceil(T / s), F'): stacked frames (zero-padded at the end) or the convolution."""
        B, T, _ = features.shape
        s = self.subsample
        if self.conv is not None:
            # padding s-1 on both sides, kernel 2s-1, stride s: output t sees input frames s·t-(s-1) … s·t+(s-1)
            return F.relu(self.conv(features.transpose(1, 2))).transpose(1, 2)
        if s == 1:
            return features
        pad = -T % s
        if pad:
            features = F.pad(features, (0, 0, 0, pad))
        return features.reshape(B, (T + pad) // s, s * features.shape[2])

    def forward(self, features: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        x = self.front_end(features)
        out_lengths = subsampled_lengths(lengths.cpu(), self.subsample).clamp(max=x.shape[1])
        out, _ = self.encoder(x, lengths=out_lengths)
        logits = self.head(F.dropout(out, self.dropout, self.training))
        return F.log_softmax(logits.float(), dim=-1), out_lengths


def spec_augment(features: Tensor, lengths: Tensor, *, freq_masks: int = 2, freq_width: int = 6,
                 time_masks: int = 2, time_width: int = 15) -> Tensor:
    """SpecAugment's masking (Park et al. 2019) for training: features (B, T, F) → a copy with, per
    utterance, ``freq_masks`` bands of up to ``freq_width`` channels and ``time_masks`` spans of up to
    ``time_width`` frames (within its length) set to 0 — the mean of mean/variance-normalised features.

    Draws from torch's global generator, which the training loop seeds per step (exact resume)."""
    B, T, F_ = features.shape
    out = features.clone()
    for _ in range(freq_masks):
        width = torch.randint(0, freq_width + 1, (B, 1))
        start = (torch.rand(B, 1) * (F_ - width + 1)).long()
        channel = torch.arange(F_).unsqueeze(0)
        out.masked_fill_(((channel >= start) & (channel < start + width)).unsqueeze(1).to(out.device), 0.0)
    for _ in range(time_masks):
        width = torch.minimum(torch.randint(0, time_width + 1, (B, 1)), lengths.view(B, 1) // 5)
        start = (torch.rand(B, 1) * (lengths.view(B, 1) - width + 1)).long()
        frame = torch.arange(T).unsqueeze(0)
        out.masked_fill_(((frame >= start) & (frame < start + width)).unsqueeze(2).to(out.device), 0.0)
    return out
