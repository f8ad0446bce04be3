"""The lecture's encoder–decoder ("let's bring two RNNs"), without and with attention.

Shapes: B sentences, S source tokens, T target tokens, E embedding size, H hidden size, L layers,
V_src / V_tgt vocabulary sizes.

Encoder (optionally bidirectional; then each direction has H/2 units so its outputs are H wide, as in
OpenNMT)::

    h̄_s = Enc(x_s, h̄_{s-1})                 memory h̄_1 … h̄_S, (B, S, H), zero on padding
    s_0 = h̄_S                                 unidirectional: the final state itself (L, B, H)
    s_0 = tanh(W_b [h̄→_S ; h̄←_1])            bidirectional: the two final states bridged, per layer

Decoder, with y_0 = <bos> and teacher forcing (the gold y_{t-1} is fed with probability ``teacher_forcing``,
else the model's own previous argmax)::

    none (Sutskever et al. 2014):   s_t = Dec(E y_{t-1}, s_{t-1});  o_t = s_t
    luong-* (Luong et al. 2015):    s_t = Dec(E y_{t-1}, s_{t-1});  c_t = attn(s_t, h̄);  o_t = tanh(W_c [c_t ; s_t])
    bahdanau (Bahdanau et al. 2015): c_t = attn(s_{t-1}, h̄);  s_t = Dec([E y_{t-1} ; c_t], s_{t-1});
                                     o_t = tanh(W_c [c_t ; s_t])
    p(y_t | y_<t, x) = softmax(W_o o_t + b_o)

Without attention s_0 is the *only* path from the source to the decoder: the bottleneck. Luong's
"global attention" without input feeding needs s_t only, so with full teacher forcing the decoder RNN
runs over the whole target in one (fused) call and the attention over all t in one batched product;
otherwise (Bahdanau, teacher forcing < 1, inference) it runs step by step with :meth:`Seq2Seq.step` — for
Bahdanau with full teacher forcing only the attention and the RNN step are in the loop, the embeddings
and the output layers run once over all steps (:meth:`Seq2Seq._input_feeding`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.models.attention import ATTENTION_CHOICES, build_attention
from rnnkit.nn import Recurrent
from rnnkit.nn.state import State, hidden, map_state
from rnnkit.text import PAD


@dataclass
class DecoderState:
    """What the decoder carries between steps, for N = B (or B·K beams) rows.

    Attributes:
        rnn: the decoder RNN's state, (L, N, H) (a pair for LSTM).
        memory: encoder outputs (N, S, H), or ``None`` without attention.
        keys: the attention's precomputed memory part (N, S, ·), or ``None``.
        mask: (N, S) bool, True at real source tokens.
    """

    rnn: State
    memory: Tensor | None
    keys: Tensor | None
    mask: Tensor

    def select(self, index: Tensor) -> DecoderState:
        """Rows ``index`` (N',) of every part — to expand sentences into beams or reorder beams."""
        pick = lambda t: None if t is None else t.index_select(0, index)  # noqa: E731
        return DecoderState(map_state(lambda s: s.index_select(1, index), self.rnn), pick(self.memory),
                            pick(self.keys), self.mask.index_select(0, index))


class Seq2Seq(nn.Module):
    """Encoder–decoder translation model: (src (B, S), lengths (B,), tgt_in (B, T)) → logits (B, T, V_tgt).

    Args:
        cell: any cell of :data:`rnnkit.nn.CELLS` (GRU default), used by encoder and decoder.
        attention: ``"none"`` (the bottleneck model), ``"bahdanau"``, ``"luong-dot"`` or ``"luong-general"``.
        dropout: on embeddings, between layers and on o_t before the output layer.
        zoneout, recurrent_dropout: of the recurrent layers (:class:`~rnnkit.nn.layers.Recurrent`); recurrent
            dropout acts on the encoder only (the decoder also steps one token at a time).
    """

    def __init__(self, src_vocab_size: int, tgt_vocab_size: int, *, cell: str = "gru", embed_dim: int = 256,
                 hidden_size: int = 256, num_layers: int = 1, bidirectional: bool = True,
                 attention: str = "bahdanau", dropout: float = 0.1, zoneout: float = 0.0,
                 recurrent_dropout: float = 0.0) -> None:
        super().__init__()
        if attention not in ATTENTION_CHOICES:
            raise ValueError(f"unknown attention {attention!r}; valid: {', '.join(ATTENTION_CHOICES)}")
        if bidirectional and hidden_size % 2:
            raise ValueError(f"a bidirectional encoder splits hidden_size in two directions; got odd {hidden_size}")
        H, between = hidden_size, dropout if num_layers > 1 else 0.0
        self.dropout = dropout
        self.src_embedding = nn.Embedding(src_vocab_size, embed_dim, padding_idx=PAD)
        self.tgt_embedding = nn.Embedding(tgt_vocab_size, embed_dim, padding_idx=PAD)
        self.encoder = Recurrent(cell, embed_dim, H // 2 if bidirectional else H, num_layers,
                                 bidirectional=bidirectional, dropout=between, batch_first=True, zoneout=zoneout,
                                 recurrent_dropout=recurrent_dropout)
        parts = 2 if self.encoder.cell.has_cell_state else 1  # (h, c) of an LSTM are bridged alike
        self.bridge = nn.ModuleList(nn.Linear(H, H) for _ in range(parts)) if bidirectional else None
        self.attention = build_attention(attention, H, H)
        feeds = self.attention is not None and self.attention.feeds_input
        # The decoder also runs step by step (input feeding, decoding), where a per-sequence variational mask
        # cannot be kept between calls: recurrent dropout regularises the encoder only; zoneout both.
        self.decoder = Recurrent(cell, embed_dim + (H if feeds else 0), H, num_layers, dropout=between,
                                 batch_first=True, zoneout=zoneout)
        self.combine = nn.Linear(2 * H, H, bias=False) if self.attention is not None else None
        self.generator = nn.Linear(H, tgt_vocab_size)

    # -------------------------------------------------------------------------------------- encoder
    def start(self, src: Tensor, lengths: Tensor) -> DecoderState:
        """Encode src (B, S) with true ``lengths`` (B,) and return the decoder's initial state."""
        x = F.dropout(self.src_embedding(src), self.dropout, self.training)
        memory, final = self.encoder(x, lengths=lengths)  # (B, S, H), (L*D, B, H/D)
        if self.bridge is not None:
            L, B = self.encoder.num_layers, src.shape[0]
            # (L*2, B, H/2) → (L, B, H): forward and backward final states side by side, then W_b and tanh
            joined = map_state(lambda s: s.view(L, 2, B, -1).transpose(1, 2).reshape(L, B, -1), final)
            parts = joined if isinstance(joined, tuple) else (joined,)
            bridged = tuple(torch.tanh(lin(p)) for lin, p in zip(self.bridge, parts, strict=True))
            final = bridged if isinstance(joined, tuple) else bridged[0]
        mask = torch.arange(src.shape[1], device=src.device).unsqueeze(0) < lengths.to(src.device).unsqueeze(1)
        if self.attention is None:
            return DecoderState(final, None, None, mask)
        return DecoderState(final, memory, self.attention.prepare(memory), mask)

    # -------------------------------------------------------------------------------------- decoder
    def _output(self, out: Tensor, context: Tensor | None) -> Tensor:
        """o = tanh(W_c [c ; s]) with attention, o = s without; then dropout and W_o → logits."""
        if context is not None:
            out = torch.tanh(self.combine(torch.cat([context, out], dim=-1)))
        return self.generator(F.dropout(out, self.dropout, self.training))

    def step(self, y_prev: Tensor, state: DecoderState) -> tuple[Tensor, DecoderState, Tensor | None]:
        """One decoder step: previous tokens (N,) → logits (N, V_tgt), new state, attention (N, S) or None."""
        x = F.dropout(self.tgt_embedding(y_prev), self.dropout, self.training)
        context = weights = None
        if self.attention is not None and self.attention.feeds_input:
            top = hidden(state.rnn)[-1]  # s_{t-1} of the top layer
            context, weights = self.attention(top, state.memory, state.mask, state.keys)
            x = torch.cat([x, context], dim=-1)
        out, rnn = self.decoder.step(x, state.rnn)
        if self.attention is not None and not self.attention.feeds_input:
            context, weights = self.attention(out, state.memory, state.mask, state.keys)
        return self._output(out, context), replace(state, rnn=rnn), weights

    def forward(self, src: Tensor, lengths: Tensor, tgt_in: Tensor, *,
                teacher_forcing: float = 1.0) -> tuple[Tensor, Tensor | None]:
        """Training/scoring pass. tgt_in (B, T) starts with <bos>.

        Returns:
            logits (B, T, V_tgt) and attention weights (B, T, S) (``None`` without attention).
        """
        state = self.start(src, lengths)
        feeds = self.attention is not None and self.attention.feeds_input
        if teacher_forcing >= 1.0 and not feeds:  # every s_t depends on gold inputs only: one RNN call
            x = F.dropout(self.tgt_embedding(tgt_in), self.dropout, self.training)
            out, _ = self.decoder(x, state.rnn)  # (B, T, H)
            context = weights = None
            if self.attention is not None:
                context, weights = self.attention(out, state.memory, state.mask, state.keys)
            return self._output(out, context), weights
        if teacher_forcing >= 1.0:
            return self._input_feeding(tgt_in, state)
        logits, attn = [], []
        y = tgt_in[:, 0]
        for t in range(tgt_in.shape[1]):
            step_logits, state, weights = self.step(y, state)
            logits.append(step_logits)
            attn.append(weights)
            if t + 1 < tgt_in.shape[1]:
                y = tgt_in[:, t + 1]
                if teacher_forcing < 1.0:  # scheduled sampling (Bengio et al. 2015), per sentence and step
                    gold = torch.rand(y.shape, device=y.device) < teacher_forcing
                    y = torch.where(gold, y, step_logits.argmax(-1))
        weights = torch.stack(attn, dim=1) if self.attention is not None else None
        return torch.stack(logits, dim=1), weights


    def _input_feeding(self, tgt_in: Tensor, state: DecoderState) -> tuple[Tensor, Tensor]:
        """Bahdanau's decoder over gold inputs tgt_in (B, T): logits (B, T, V_tgt), weights (B, T, S).

        Only c_t = attn(s_{t-1}, h̄) and s_t = Dec([E y_{t-1} ; c_t], s_{t-1}) must run step by step. The
        embeddings of all gold inputs are looked up before the loop, and o_t = tanh(W_c [c_t ; s_t]) and
        W_o o_t are computed after it for all t at once: the same function as :meth:`step` T times, with
        the two largest matrix products (W_o: H × V_tgt) done once on (B·T) rows instead of T times on B.
        """
        x = F.dropout(self.tgt_embedding(tgt_in), self.dropout, self.training)  # (B, T, E)
        outs, contexts, attn = [], [], []
        rnn = state.rnn
        for t in range(tgt_in.shape[1]):
            context, weights = self.attention(hidden(rnn)[-1], state.memory, state.mask, state.keys)
            out, rnn = self.decoder.step(torch.cat([x[:, t], context], dim=-1), rnn)
            outs.append(out)
            contexts.append(context)
            attn.append(weights)
        return self._output(torch.stack(outs, dim=1), torch.stack(contexts, dim=1)), torch.stack(attn, dim=1)


def sequence_loss(logits: Tensor, target: Tensor, *, label_smoothing: float = 0.0) -> tuple[Tensor, int]:
    """Mean cross-entropy over the real target tokens: logits (B, T, V), target (B, T) with PAD = 0.

    Padding positions contribute nothing (``ignore_index``); with ``label_smoothing`` ε the target
    distribution is (1 − ε) one-hot + ε / V (Szegedy et al. 2016). Returns (loss, number of real tokens).
    """
    loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=PAD,
                           label_smoothing=label_smoothing)
    return loss, int((target != PAD).sum())
