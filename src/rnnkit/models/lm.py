"""Many-to-many: a next-token language model — the lecture's "RNN intuition".

encoded word x_t → hidden representation h_t = f(x_t, h_{t-1}) → predicted likelihood ŷ_t = softmax(U h_t + b)
of the next word. Trained with truncated BPTT, the state carried from one window to the next.
"""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.nn import Recurrent
from rnnkit.nn.cells import State


class LanguageModel(nn.Module):
    """tokens (B, T) [+ state] → logits (B, T, V), state.

    With ``tie_weights`` the output layer shares the embedding matrix (Press & Wolf 2017; Inan et al.
    2017); if the hidden size differs from the embedding size a linear projection maps h_t down first.
    ``embedding`` and ``encoder`` are named like the classifier's, so a pretrained encoder transfers.
    """

    def __init__(self, vocab_size: int, *, cell: str = "lstm", embed_dim: int = 256, hidden_size: int = 512,
                 num_layers: int = 1, dropout: float = 0.3, embed_dropout: float = 0.1,
                 tie_weights: bool = False, zoneout: float = 0.0, recurrent_dropout: float = 0.0) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.encoder = Recurrent(cell, embed_dim, hidden_size, num_layers, batch_first=True,
                                 dropout=dropout if num_layers > 1 else 0.0, zoneout=zoneout,
                                 recurrent_dropout=recurrent_dropout)
        self.dropout, self.embed_dropout = dropout, embed_dropout
        out_dim = hidden_size
        self.projection = None
        if tie_weights and embed_dim != hidden_size:
            self.projection = nn.Linear(hidden_size, embed_dim)
            out_dim = embed_dim
        self.decoder = nn.Linear(out_dim, vocab_size)
        if tie_weights:
            self.decoder.weight = self.embedding.weight
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)

    def forward(self, tokens: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        x = F.dropout(self.embedding(tokens), self.embed_dropout, self.training)
        out, state = self.encoder(x, state)
        out = F.dropout(out, self.dropout, self.training)
        if self.projection is not None:
            out = self.projection(out)
        return self.decoder(out), state
