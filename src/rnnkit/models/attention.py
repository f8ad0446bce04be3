"""Attention over the encoder's outputs: Bahdanau (additive) and Luong (dot, general) scores.

Shapes: B sentences, S source positions, T target positions (queries), Hq query size (the decoder's
hidden state), Hk key size (the encoder's outputs, the *memory*).

Every attention computes, for a query q_t and the memory h_1 … h_S (Luong et al. 2015, eq. 7; Bahdanau
et al. 2015, eq. 5–6):

    e_{t,s} = score(q_t, h_s)                      scores,  (B, T, S)
    a_{t,s} = exp(e_{t,s}) / Σ_{s'} exp(e_{t,s'})  weights, (B, T, S); padding gets e = −∞, so a = 0
    c_t     = Σ_s a_{t,s} h_s                      context, (B, T, Hk)

with the score

    bahdanau (additive, "concat"):  score(q, h) = v_aᵀ tanh(W_a q + U_a h)
    luong-general:                  score(q, h) = qᵀ W_a h
    luong-dot:                      score(q, h) = qᵀ h            (needs Hq = Hk)

The part of the score that depends on the memory only (U_a h, W_a h, h) is computed once per sentence by
:meth:`Attention.prepare`, not once per decoder step. Where the query comes from — the previous decoder
state (Bahdanau: the context feeds the RNN's input) or the current one (Luong: the context is combined
with the RNN's output) — is the decoder's business, flagged by :attr:`Attention.feeds_input`.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor, nn


class Attention(nn.Module):
    """Base class: ``prepare(memory) -> keys`` once per sentence, then ``forward`` per query batch."""

    name: ClassVar[str]
    feeds_input: ClassVar[bool] = False  # True: the query is s_{t-1} and c_t is an input of the decoder RNN

    def __init__(self, query_size: int, key_size: int) -> None:
        super().__init__()
        self.query_size, self.key_size = query_size, key_size

    def prepare(self, memory: Tensor) -> Tensor:
        """The memory-only part of the score, (B, S, ·) — computed once, reused at every decoder step."""
        return memory

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        """Raw scores e: query (B, T, Hq), keys from :meth:`prepare` → (B, T, S)."""
        raise NotImplementedError

    def forward(self, query: Tensor, memory: Tensor, mask: Tensor, keys: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Context and weights for a batch of queries.

        Args:
            query: (B, T, Hq) (or (B, Hq) for one step, then the outputs lose the T axis).
            memory: (B, S, Hk) the encoder's outputs.
            mask: (B, S) bool, True at real source tokens (every row needs at least one).
            keys: :meth:`prepare` of ``memory`` if already computed.

        Returns:
            context (B, T, Hk) and weights (B, T, S): each row sums to 1 and is exactly 0 on padding.
        """
        single = query.dim() == 2
        if single:
            query = query.unsqueeze(1)
        scores = self.score(query, self.prepare(memory) if keys is None else keys)
        weights = torch.softmax(scores.float().masked_fill(~mask.unsqueeze(1), float("-inf")), dim=-1)
        weights = weights.to(memory.dtype)
        context = torch.bmm(weights, memory)
        return (context.squeeze(1), weights.squeeze(1)) if single else (context, weights)

    def extra_repr(self) -> str:
        return f"query={self.query_size}, keys={self.key_size}"


class BahdanauAttention(Attention):
    """Additive attention (Bahdanau, Cho & Bengio 2015, eq. 6 / appendix A.1.2):
    e_{t,s} = v_aᵀ tanh(W_a s_{t-1} + U_a h_s). Queried with the *previous* decoder state; the
    context is fed to the decoder RNN with the previous word."""

    name = "bahdanau"
    feeds_input = True

    def __init__(self, query_size: int, key_size: int, attention_size: int | None = None) -> None:
        super().__init__(query_size, key_size)
        size = attention_size or query_size
        self.W_a = nn.Linear(query_size, size, bias=False)
        self.U_a = nn.Linear(key_size, size)
        self.v_a = nn.Linear(size, 1, bias=False)

    def prepare(self, memory: Tensor) -> Tensor:
        return self.U_a(memory)  # (B, S, A)

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        # (B, T, 1, A) + (B, 1, S, A) → tanh → v_a → (B, T, S)
        return self.v_a(torch.tanh(self.W_a(query).unsqueeze(2) + keys.unsqueeze(1))).squeeze(-1)


class LuongGeneralAttention(Attention):
    """Multiplicative "general" attention (Luong, Pham & Manning 2015, eq. 8): e_{t,s} = h_tᵀ W_a h̄_s,
    queried with the *current* decoder state h_t. W_a h̄_s is precomputed, so each step is one bmm."""

    name = "luong-general"

    def __init__(self, query_size: int, key_size: int) -> None:
        super().__init__(query_size, key_size)
        self.W_a = nn.Linear(key_size, query_size, bias=False)

    def prepare(self, memory: Tensor) -> Tensor:
        return self.W_a(memory)  # (B, S, Hq)

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        return torch.bmm(query, keys.transpose(1, 2))


class LuongDotAttention(LuongGeneralAttention):
    """Dot-product attention (Luong et al. 2015, eq. 8): e_{t,s} = h_tᵀ h̄_s; no parameters."""

    name = "luong-dot"

    def __init__(self, query_size: int, key_size: int) -> None:
        if query_size != key_size:
            raise ValueError(f"luong-dot attention needs the decoder state ({query_size}) and the encoder outputs "
                             f"({key_size}) to have the same size; use luong-general or bahdanau")
        Attention.__init__(self, query_size, key_size)

    def prepare(self, memory: Tensor) -> Tensor:
        return memory


ATTENTIONS: dict[str, type[Attention]] = {cls.name: cls for cls in
                                          (BahdanauAttention, LuongDotAttention, LuongGeneralAttention)}
ATTENTION_CHOICES = ("none", *ATTENTIONS)


def build_attention(name: str, query_size: int, key_size: int) -> Attention | None:
    """The attention called ``name`` (``"none"`` → ``None``: the bottleneck model)."""
    if name == "none":
        return None
    if name not in ATTENTIONS:
        raise ValueError(f"unknown attention {name!r}; valid: {', '.join(ATTENTION_CHOICES)}")
    return ATTENTIONS[name](query_size, key_size)
