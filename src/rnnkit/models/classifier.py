"""Many-to-one: a recurrent classifier (embedding → Recurrent → pooling → linear)."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.nn import Recurrent
from rnnkit.nn.state import hidden

POOLINGS = ("last", "mean", "max", "concat")


def pool(out: Tensor, lengths: Tensor, state: Tensor | tuple[Tensor, Tensor], how: str, num_directions: int) -> Tensor:
    """Summarise a sequence: out (B, T, D*H) with zeros past each length, lengths (B,) → (B, D*H).

    ``last`` is the top layer's final state (the forward direction's last step and the backward
    direction's first), ``mean`` and ``max`` run over the true positions only; ``concat`` is
    [last; max; mean] → (B, 3*D*H), ULMFiT's concat pooling."""
    if how == "concat":
        return torch.cat([pool(out, lengths, state, k, num_directions) for k in ("last", "max", "mean")], dim=1)
    if how == "last":
        h = hidden(state)  # (L*D, B, H)
        return torch.cat(list(h[-num_directions:]), dim=1)
    if how == "mean":
        return out.sum(1) / lengths.to(out.device, out.dtype).unsqueeze(1)
    if how == "max":
        pad = torch.arange(out.shape[1], device=out.device)[None, :] >= lengths.to(out.device)[:, None]
        return out.masked_fill(pad.unsqueeze(2), float("-inf")).amax(1)
    raise ValueError(f"unknown pooling {how!r}; valid: {', '.join(POOLINGS)}")


class RecurrentClassifier(nn.Module):
    """tokens (B, T) + lengths (B,) → class logits (B, C).

    The embedding and recurrent encoder are named ``embedding`` and ``encoder`` like the language
    model's, so an encoder pretrained as a language model loads into the classifier unchanged."""

    def __init__(self, vocab_size: int, num_classes: int, *, cell: str = "lstm", embed_dim: int = 128,
                 hidden_size: int = 256, num_layers: int = 1, bidirectional: bool = False, pooling: str = "max",
                 dropout: float = 0.5, embed_dropout: float = 0.3, pad_id: int = 0, zoneout: float = 0.0,
                 recurrent_dropout: float = 0.0) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}; valid: {', '.join(POOLINGS)}")
        self.pooling = pooling
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        self.encoder = Recurrent(cell, embed_dim, hidden_size, num_layers, bidirectional=bidirectional,
                                 dropout=dropout if num_layers > 1 else 0.0, batch_first=True, zoneout=zoneout,
                                 recurrent_dropout=recurrent_dropout)
        self.embed_dropout, self.dropout = embed_dropout, dropout
        width = 3 if pooling == "concat" else 1
        self.head = nn.Linear(width * self.encoder.num_directions * hidden_size, num_classes)

    def layer_groups(self) -> list[list[str]]:
        """Parameter names from the input up: embedding, each recurrent layer (both directions), head — the
        groups of discriminative learning rates and gradual unfreezing (``rnnkit.train``)."""
        names = [n for n, _ in self.named_parameters()]
        layers = [[n for n in names if n.startswith("encoder.") and n.removesuffix("_reverse").endswith(f"_l{i}")]
                  for i in range(self.encoder.num_layers)]
        return [[n for n in names if n.startswith("embedding.")], *layers,
                [n for n in names if n.startswith("head.")]]

    def forward(self, tokens: Tensor, lengths: Tensor) -> Tensor:
        x = F.dropout(self.embedding(tokens), self.embed_dropout, self.training)
        out, state = self.encoder(x, lengths=lengths)
        features = pool(out, lengths, state, self.pooling, self.encoder.num_directions)
        return self.head(F.dropout(features, self.dropout, self.training))
