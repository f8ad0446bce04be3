"""Many-to-one on continuous features: (front end →) Recurrent → pooling → linear.

The input is a padded batch of feature sequences — MFCC frames, accelerometer samples, frame
embeddings — with their true lengths::

    x (B, T, C) ──front end──> (B, T', F) ──Recurrent──> (B, T', D*H) ──pool──> (B, D*H) ──> logits (B, K)

Front ends (``frontend=``):

* ``none``: the recurrent layer reads the C channels directly.
* ``dense``: a per-frame ``Linear(C, F)`` + ReLU (a plain linear map would be absorbed by the cell's
  input weights, so the non-linearity is what it adds).
* ``conv``: ``conv_layers`` 1-D convolutions over time (kernel ``conv_kernel``, F channels, ReLU), the
  last one with stride ``conv_stride`` (T' = ceil(T / stride)): local patterns such as a step or a
  tremor are found before the recurrent layer, which then reads a shorter sequence.

Padding never changes a prediction: every front-end layer zeroes the positions past each length
before the next one reads them, and the recurrent layer and pooling use the lengths.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.models.classifier import POOLINGS, pool
from rnnkit.nn import Recurrent

FRONTENDS = ("none", "dense", "conv")


def _valid(lengths: Tensor, T: int, device: torch.device) -> Tensor:
    """(B, T, 1) float mask: 1 at true positions, 0 in the padding."""
    return (torch.arange(T, device=device)[None, :] < lengths.to(device)[:, None]).unsqueeze(2).float()


class ConvFrontEnd(nn.Module):
    """x (B, T, C) + lengths (B,) → (B, ceil(T / stride), F) + new lengths, zero past each length."""

    def __init__(self, in_channels: int, channels: int, *, layers: int = 2, kernel: int = 5, stride: int = 1) -> None:
        super().__init__()
        if layers < 1 or kernel < 1 or kernel % 2 == 0 or stride < 1:
            raise ValueError(f"need conv_layers >= 1, an odd conv_kernel and conv_stride >= 1, got {layers}, "
                             f"{kernel}, {stride}")
        self.stride = stride
        self.convs = nn.ModuleList(
            nn.Conv1d(in_channels if i == 0 else channels, channels, kernel, padding=kernel // 2,
                      stride=stride if i == layers - 1 else 1)
            for i in range(layers))

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        x = x * _valid(lengths, x.shape[1], x.device)
        for conv in self.convs:
            if conv.stride[0] > 1:
                lengths = torch.div(lengths + conv.stride[0] - 1, conv.stride[0], rounding_mode="floor")
            y = F.relu(conv(x.transpose(1, 2))).transpose(1, 2)  # (B, T, F): Conv1d wants (B, F, T)
            x = y * _valid(lengths, y.shape[1], y.device)
        return x, lengths


class SequenceClassifier(nn.Module):
    """features (B, T, C) + lengths (B,) → class logits (B, K).

    Args:
        input_size: C, channels per frame.
        num_classes: K.
        cell, hidden_size, num_layers, bidirectional: the :class:`~rnnkit.nn.Recurrent` encoder.
        pooling: ``last`` (final state), ``mean`` or ``max`` over the true positions.
        dropout: on the front end's output, between recurrent layers and before the head.
        zoneout, recurrent_dropout: of the recurrent layer (:class:`~rnnkit.nn.layers.Recurrent`).
        frontend: ``none``, ``dense`` or ``conv`` (see the module docstring); ``frontend_size`` is F.
    """

    def __init__(self, input_size: int, num_classes: int, *, cell: str = "gru", hidden_size: int = 128,
                 num_layers: int = 2, bidirectional: bool = False, pooling: str = "last", dropout: float = 0.2,
                 frontend: str = "none", frontend_size: int = 64, conv_layers: int = 2, conv_kernel: int = 5,
                 conv_stride: int = 1, zoneout: float = 0.0, recurrent_dropout: float = 0.0) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}; valid: {', '.join(POOLINGS)}")
        if frontend not in FRONTENDS:
            raise ValueError(f"unknown frontend {frontend!r}; valid: {', '.join(FRONTENDS)}")
        self.input_size, self.pooling, self.frontend_kind, self.dropout = input_size, pooling, frontend, dropout
        if frontend == "conv":
            self.frontend: nn.Module | None = ConvFrontEnd(input_size, frontend_size, layers=conv_layers,
                                                           kernel=conv_kernel, stride=conv_stride)
        elif frontend == "dense":
            self.frontend = nn.Linear(input_size, frontend_size)
        else:
            self.frontend = None
        self.encoder = Recurrent(cell, input_size if frontend == "none" else frontend_size, hidden_size, num_layers,
                                 bidirectional=bidirectional, dropout=dropout if num_layers > 1 else 0.0,
                                 batch_first=True, zoneout=zoneout, recurrent_dropout=recurrent_dropout)
        self.head = nn.Linear(self.encoder.num_directions * hidden_size, num_classes)

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        if x.dim() != 3 or x.shape[2] != self.input_size:
            raise ValueError(f"expected features of shape (B, T, {self.input_size}), got {tuple(x.shape)}")
        lengths = lengths.to("cpu", torch.int64)
        if isinstance(self.frontend, ConvFrontEnd):
            x, lengths = self.frontend(x, lengths)
            x = F.dropout(x, self.dropout, self.training)
        elif self.frontend is not None:
            x = F.dropout(F.relu(self.frontend(x)), self.dropout, self.training)
        x = x[:, : int(lengths.max())]  # no step is all padding (the conv front end may leave one)
        out, state = self.encoder(x, lengths=lengths)
        features = pool(out, lengths, state, self.pooling, self.encoder.num_directions)
        return self.head(F.dropout(features, self.dropout, self.training))
