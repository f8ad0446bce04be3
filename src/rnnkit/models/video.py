"""Video classification: a small CNN encodes each frame, a recurrent classifier reads the frame sequence.

    clips (B, T, C, H, W) ──FrameEncoder per frame──> (B, T, F) ──SequenceClassifier──> logits (B, K)

The frame encoder keeps *where* things are (it flattens its last feature map into a linear layer
instead of averaging it away), because an action is a change of position or orientation over time;
the recurrent layer turns the sequence of frame codes into that change. With ``frame_differences``
the encoder also sees each frame minus the previous one (zero for the first), so it can see motion
directly rather than only through the recurrent state.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnkit.models.sequence_classifier import SequenceClassifier


class FrameEncoder(nn.Module):
    """frames (N, C, H, W) → codes (N, F): two [conv 3×3 → ReLU → max-pool 2] blocks, then Linear + ReLU."""

    def __init__(self, in_channels: int, frame_size: int, *, channels: int = 16, features: int = 64) -> None:
        super().__init__()
        if frame_size % 4:
            raise ValueError(f"frame_size must be a multiple of 4 (two 2x poolings), got {frame_size}")
        self.conv = nn.Sequential(
            nn.Conv2d(in_channels, channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(channels, 2 * channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())
        self.proj = nn.Linear(2 * channels * (frame_size // 4) ** 2, features)

    def forward(self, frames: Tensor) -> Tensor:
        return self.proj(self.conv(frames)).relu()


class VideoClassifier(nn.Module):
    """clips (B, T, C, H, W) + lengths (B,) → class logits (B, K).

    Args:
        num_classes: K.
        frame_size: H = W of the frames; in_channels: C (1 for grey).
        frame_differences: also feed each frame's difference to the previous one to the frame CNN.
        conv_channels, frame_features: width of the frame CNN and F, the size of a frame's code.
        cell, hidden_size, num_layers, bidirectional, pooling, dropout: the recurrent classifier
            (:class:`~rnnkit.models.sequence_classifier.SequenceClassifier`) over the frame codes.
    """

    def __init__(self, num_classes: int, *, frame_size: int = 32, in_channels: int = 1, conv_channels: int = 16,
                 frame_features: int = 64, cell: str = "gru", hidden_size: int = 64, num_layers: int = 1,
                 bidirectional: bool = False, pooling: str = "last", dropout: float = 0.2,
                 frame_differences: bool = False, zoneout: float = 0.0, recurrent_dropout: float = 0.0) -> None:
        super().__init__()
        self.frame_shape = (in_channels, frame_size, frame_size)
        self.frame_differences = frame_differences
        self.frames = FrameEncoder(in_channels * (2 if frame_differences else 1), frame_size, channels=conv_channels,
                                   features=frame_features)
        self.sequence = SequenceClassifier(frame_features, num_classes, cell=cell, hidden_size=hidden_size,
                                           num_layers=num_layers, bidirectional=bidirectional, pooling=pooling,
                                           dropout=dropout, zoneout=zoneout, recurrent_dropout=recurrent_dropout)

    def forward(self, clips: Tensor, lengths: Tensor) -> Tensor:
        if clips.dim() != 5 or tuple(clips.shape[2:]) != self.frame_shape:
            raise ValueError(f"expected clips of shape (B, T, {', '.join(map(str, self.frame_shape))}), "
                             f"got {tuple(clips.shape)}")
        B, T = clips.shape[:2]
        if self.frame_differences:  # (B, T, 2C, H, W): each frame and its change since the previous one
            clips = torch.cat([clips, clips - torch.cat([clips[:, :1], clips[:, :-1]], dim=1)], dim=2)
        codes = self.frames(clips.reshape(B * T, *clips.shape[2:])).reshape(B, T, -1)  # padding frames too:
        return self.sequence(codes, lengths)  # the recurrent layer stops at each clip's length
