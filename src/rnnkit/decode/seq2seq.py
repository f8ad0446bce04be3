"""Decoding an encoder–decoder: greedy and beam search, batched, stopping at <eos>.

Both work with any model that has ``start(src, lengths) -> state`` and
``step(y_prev (N,), state) -> (logits (N, V), state, attention (N, S) | None)`` where ``state.select(index)``
picks rows (:class:`rnnkit.models.seq2seq.DecoderState`).

A sentence may produce at most ``max_len = ⌈a · |x| + b⌉`` tokens (|x|: its source length in tokens), so a
model that never emits <eos> still stops, and a longer source is allowed a longer output.

Beam search keeps the K best partial hypotheses per sentence by log-probability; a hypothesis that ends
in <eos> is set aside with the length-normalised score  log p(y | x) / |y|^α  (Wu et al. 2016 use a
smoothed variant; α = 0: no normalisation, α = 1: mean log-probability per token). A sentence is done
once K hypotheses ended (or at its max_len, where the live ones are scored as they stand).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import Tensor

from rnnkit.text import BOS, EOS, PadCollator


@dataclass
class Hypothesis:
    """One decoded sentence: tokens (without <bos>/<eos>), one attention row (S,) per emitted token,
    <eos> included (``None`` without attention), its score (the sum of log-probabilities; beam search:
    length-normalised) and whether it ``ended`` with <eos> (False: cut at the length limit). Beam search also
    keeps the other finished hypotheses of the sentence, best first, in ``alternatives``."""

    tokens: list[int]
    attention: Tensor | None
    score: float
    ended: bool
    alternatives: list[Hypothesis] = field(default_factory=list)


def max_lengths(lengths: Tensor, a: float = 1.5, b: float = 5.0) -> Tensor:
    """Per-sentence output limits ⌈a·|x| + b⌉ in tokens, at least 1: lengths (B,) → (B,)."""
    return torch.clamp(torch.ceil(lengths.double() * a + b).long(), min=1)


def _trim(attn: Tensor | None, steps: int, src_len: int) -> Tensor | None:
    return None if attn is None else attn[:steps, :src_len].cpu()


@torch.no_grad()
def greedy(model, src: Tensor, lengths: Tensor, *, max_len_a: float = 1.5, max_len_b: float = 5.0,
           attention: bool = True) -> list[Hypothesis]:
    """Argmax decoding of a batch: src (B, S) with ``lengths`` (B,) → one :class:`Hypothesis` per sentence
    (``attention=False``: its attention rows are not kept, ``None``; they take B·T·S memory)."""
    B = src.shape[0]
    limits = max_lengths(lengths, max_len_a, max_len_b).to(src.device)
    state = model.start(src, lengths)
    y = torch.full((B,), BOS, dtype=torch.long, device=src.device)
    done = torch.zeros(B, dtype=torch.bool, device=src.device)
    tokens, attns = [], []
    score = torch.zeros(B, dtype=torch.float64, device=src.device)
    steps = torch.zeros(B, dtype=torch.long, device=src.device)  # emitted tokens, <eos> included
    for t in range(int(limits.max())):
        logits, state, weights = model.step(y, state)
        logp = torch.log_softmax(logits.float(), dim=-1)
        y = logp.argmax(-1)
        score += torch.where(done, 0.0, logp.gather(1, y.unsqueeze(1)).squeeze(1).double())
        steps += (~done).long()
        tokens.append(y)
        attns.append(weights if attention else None)
        done |= (y == EOS) | (t + 1 >= limits)
        if bool(done.all()):
            break
    out = torch.stack(tokens, 1).cpu()  # (B, T)
    attn = torch.stack(attns, 1) if attns[0] is not None else None  # (B, T, S)
    hyps = []
    for i in range(B):
        seq = out[i, : int(steps[i])].tolist()
        ended = bool(seq) and seq[-1] == EOS
        hyps.append(Hypothesis(seq[:-1] if ended else seq,
                               _trim(attn[i] if attn is not None else None, int(steps[i]), int(lengths[i])),
                               float(score[i]), ended))
    return hyps


@torch.no_grad()
def beam_search(model, src: Tensor, lengths: Tensor, *, beam: int = 5, length_penalty: float = 1.0,
                max_len_a: float = 1.5, max_len_b: float = 5.0, attention: bool = True) -> list[Hypothesis]:
    """Beam search over a batch: every sentence keeps ``beam`` live hypotheses (B·K rows decoded together).
    ``attention=False``: no attention history is kept (it takes B·K·T·S memory); hypotheses carry ``None``.

    Returns the best finished hypothesis of each sentence by  score / |y|^length_penalty, |y| counting <eos>.
    """
    if beam < 1:
        raise ValueError(f"beam must be >= 1, got {beam}")
    B, K, device = src.shape[0], beam, src.device
    limits = max_lengths(lengths, max_len_a, max_len_b).tolist()
    state = model.start(src, lengths).select(torch.arange(B, device=device).repeat_interleave(K))
    scores = torch.full((B, K), -math.inf, device=device, dtype=torch.float64)
    scores[:, 0] = 0.0  # all K rows start identical: only one may expand, or the beam would hold K copies
    y = torch.full((B * K,), BOS, dtype=torch.long, device=device)
    history = torch.empty(B * K, 0, dtype=torch.long, device=device)
    attn_history: Tensor | None = None
    finished: list[list[Hypothesis]] = [[] for _ in range(B)]
    for t in range(max(limits)):
        logits, state, weights = model.step(y, state)
        V = logits.shape[-1]
        logp = torch.log_softmax(logits.float(), dim=-1).double().view(B, K, V)
        top, index = (scores.unsqueeze(-1) + logp).view(B, K * V).topk(min(2 * K, K * V), dim=1)  # (B, 2K)
        origin, token = index // V, index % V
        rows = (torch.arange(B, device=device).unsqueeze(1) * K + origin)  # (B, 2K) rows of B·K they extend
        if weights is not None and attention:
            step_attn = weights.unsqueeze(1)
            attn_history = step_attn if attn_history is None else torch.cat([attn_history, step_attn], 1)
        ended = (token == EOS) & torch.isfinite(top)
        for b, k in ended[:, :K].nonzero().tolist():  # an <eos> among the K best candidates finishes one
            if len(finished[b]) < K and t < limits[b]:
                finished[b].append(_finish(history, attn_history, int(rows[b, k]), float(top[b, k]), t + 1,
                                           length_penalty, int(lengths[b]), ended=True))
        # the K best candidates that did not end stay alive (each beam offers ≤ 1 <eos>, so ≥ K remain)
        alive = ~ended
        pick = (alive.cumsum(1) <= K) & alive
        keep = pick.nonzero()[:, 1].view(B, K)
        sel_rows = rows.gather(1, keep).view(-1)
        scores = top.gather(1, keep)
        y = token.gather(1, keep).view(-1)
        history = torch.cat([history.index_select(0, sel_rows), y.unsqueeze(1)], dim=1)
        if attn_history is not None:
            attn_history = attn_history.index_select(0, sel_rows)
        state = state.select(sel_rows)
        for b in range(B):  # out of length: the live hypotheses are scored as they stand
            if t + 1 == limits[b] and len(finished[b]) < K:
                for k in range(K):
                    if math.isfinite(float(scores[b, k])):
                        finished[b].append(_finish(history, attn_history, b * K + k, float(scores[b, k]), t + 1,
                                                   length_penalty, int(lengths[b]), ended=False))
        if all(len(f) >= K or t + 1 >= limits[b] for b, f in enumerate(finished)):
            break
    best = []
    for f in finished:
        ranked = sorted(f, key=lambda h: h.score, reverse=True)  # stable: ties keep the order they finished in
        ranked[0].alternatives = ranked[1:]
        best.append(ranked[0])
    return best


def _finish(history: Tensor, attn_history: Tensor | None, row: int, logp: float, steps: int, alpha: float,
            src_len: int, *, ended: bool) -> Hypothesis:
    """Row ``row`` of the history as a finished hypothesis: tokens (an <eos> just chosen is not in
    ``history``), its ``steps`` attention rows and the score  logp / steps^alpha."""
    attn = _trim(attn_history[row], steps, src_len) if attn_history is not None else None
    return Hypothesis(history[row].tolist(), attn, logp / (steps ** alpha), ended)


@torch.no_grad()
def decode_all(model, sources: list[list[int]], *, beam: int = 1, length_penalty: float = 1.0,
               batch_size: int = 64, device: torch.device | str = "cpu", max_len_a: float = 1.5,
               max_len_b: float = 5.0, attention: bool = True) -> list[Hypothesis]:
    """Decode many id lists (each ≥ 1 token): sorted by length into batches, returned in input order.

    ``beam == 1`` is greedy decoding, otherwise beam search with ``length_penalty``."""
    model.eval()
    order = sorted(range(len(sources)), key=lambda i: len(sources[i]))
    out: list[Hypothesis | None] = [None] * len(sources)
    collate = PadCollator()
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        batch = collate([sources[i] for i in chunk])
        src = batch.tokens.to(device)
        if beam == 1:
            hyps = greedy(model, src, batch.lengths, max_len_a=max_len_a, max_len_b=max_len_b, attention=attention)
        else:
            hyps = beam_search(model, src, batch.lengths, beam=beam, length_penalty=length_penalty,
                               max_len_a=max_len_a, max_len_b=max_len_b, attention=attention)
        for i, h in zip(chunk, hyps, strict=True):
            out[i] = h
    return out  # type: ignore[return-value]
