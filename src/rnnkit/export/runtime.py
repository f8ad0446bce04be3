"""Decoding an exported translator with onnxruntime and NumPy only — the reference loop for deployers.

It needs the two graphs :func:`rnnkit.export.bundle.export_directory` writes for a translation model (the
encoder and one decoder step) and follows :mod:`rnnkit.decode.seq2seq` exactly: at most
⌈a·|x| + b⌉ output tokens, greedy = argmax of log p, beam search keeps K hypotheses and scores a finished
one by  log p(y | x) / |y|^α  (|y| counting <eos>). Nothing here imports torch or the rest of rnnkit, so
the file can be copied next to the .onnx files and run on its own.

A graph reads whatever int64 it is given: ONNX's Gather takes a negative id as counting from the end of the
embedding table, and a zero length encodes nothing. The loop refuses both, and ids outside the range the
export recorded in each graph (``rnnkit.token_ids``: the tokenizer's ids for the encoder, the target
vocabulary for the decoder step), with a one-line ``ValueError``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

BOS, EOS = 2, 3  # rnnkit's reserved ids (rnnkit.text.vocab)
TOKEN_IDS = "rnnkit.token_ids"  # graph metadata written by rnnkit export (rnnkit.export.bundle)


def accepted_ids(session: Any) -> int | None:
    """How many token ids a graph's token input accepts (0 … N-1), as its export recorded; None if unknown."""
    value = session.get_modelmeta().custom_metadata_map.get(TOKEN_IDS)
    return int(value) if value is not None else None


def check_ids(ids: np.ndarray, limit: int | None, what: str) -> None:
    """Refuse ids the graph would misread: negative ones, and (``limit`` known) ids ≥ ``limit``."""
    bad = ids[(ids < 0) | (ids >= limit)] if limit is not None else ids[ids < 0]
    if bad.size:
        valid = f"0 … {limit - 1}" if limit is not None else "0 or more"
        raise ValueError(f"{what} holds the token id {int(bad[0])}, which this graph cannot read: ids are {valid} "
                         "(encode the text with the exported tokenizer.json)")


class OnnxTranslator:
    """Run ``encoder.onnx`` + ``decoder.onnx`` (one step each call) on onnxruntime.

    Args:
        encoder, decoder: paths of the two graphs.
        threads: onnxruntime intra-op threads (``None``: its default).
    """

    def __init__(self, encoder: str | Path, decoder: str | Path, *, threads: int | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
        providers = ["CPUExecutionProvider"]
        self.encoder = ort.InferenceSession(str(encoder), options, providers=providers)
        self.decoder = ort.InferenceSession(str(decoder), options, providers=providers)
        self.state_names = [i.name for i in self.decoder.get_inputs() if i.name in ("h", "c")]
        self.memory_names = [i.name for i in self.decoder.get_inputs() if i.name in ("memory", "keys", "mask")]
        self.outputs = [o.name for o in self.decoder.get_outputs()]
        self.src_ids = accepted_ids(self.encoder)
        self.tgt_ids = accepted_ids(self.decoder)

    def start(self, src: list[int]) -> dict[str, np.ndarray]:
        """Encode one source sentence (ids, ≥ 1) → the decoder's inputs: state and attention memory (rows 1)."""
        if len(src) == 0:
            raise ValueError("cannot translate an empty source: give at least one token id")
        ids = np.asarray([src], dtype=np.int64)
        check_ids(ids, self.src_ids, "the source")
        feed = {"src": ids, "lengths": np.asarray([ids.shape[1]], dtype=np.int64)}
        names = [o.name for o in self.encoder.get_outputs()]
        return dict(zip(names, self.encoder.run(None, feed), strict=True))

    def step(self, y_prev: np.ndarray, state: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """One decoder step for N rows: y_prev (N,) → log-probabilities (N, V) and the new state."""
        y_prev = np.asarray(y_prev, dtype=np.int64)
        check_ids(y_prev, self.tgt_ids, "y_prev")
        feed = {"y_prev": y_prev, **{k: state[k] for k in self.state_names + self.memory_names}}
        out = dict(zip(self.outputs, self.decoder.run(None, feed), strict=True))
        new = dict(state)
        new["h"] = out["h_n"]
        if "c" in state:
            new["c"] = out["c_n"]
        return out["log_probs"].astype(np.float64), new

    @staticmethod
    def _select(state: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
        """Rows of every part: states are (L, N, H), memory/keys/mask (N, …)."""
        return {k: (v[:, rows] if k in ("h", "c") else v[rows]) for k, v in state.items()}

    def greedy(self, src: list[int], *, max_len_a: float = 1.5, max_len_b: float = 5.0) -> tuple[list[int], float]:
        """Argmax decoding of one sentence → (tokens without <bos>/<eos>, sum of log-probabilities)."""
        limit = max(1, math.ceil(len(src) * max_len_a + max_len_b))
        state = self.start(src)
        y = np.asarray([BOS])
        tokens, score = [], 0.0
        for _ in range(limit):
            logp, state = self.step(y, state)
            token = int(logp[0].argmax())
            score += float(logp[0, token])
            if token == EOS:
                break
            tokens.append(token)
            y = np.asarray([token])
        return tokens, score

    def beam(self, src: list[int], *, beam: int = 5, length_penalty: float = 1.0, max_len_a: float = 1.5,
             max_len_b: float = 5.0) -> tuple[list[int], float]:
        """Beam search on one sentence → (best tokens, score  log p / |y|^length_penalty)."""
        if beam < 1:
            raise ValueError(f"beam must be >= 1, got {beam}")
        K = beam
        limit = max(1, math.ceil(len(src) * max_len_a + max_len_b))
        state = self._select(self.start(src), np.zeros(K, dtype=np.int64))
        scores = np.full(K, -np.inf)
        scores[0] = 0.0  # the K rows start identical: only one may expand
        y = np.full(K, BOS, dtype=np.int64)
        history: list[list[int]] = [[] for _ in range(K)]
        finished: list[tuple[list[int], float]] = []
        for t in range(limit):
            logp, state = self.step(y, state)
            V = logp.shape[1]
            total = (scores[:, None] + logp).reshape(-1)  # (K·V,)
            index = np.argsort(-total, kind="stable")[: min(2 * K, K * V)]
            top, origin, token = total[index], index // V, index % V
            ended = (token == EOS) & np.isfinite(top)
            for k in np.flatnonzero(ended[:K]):  # an <eos> among the K best finishes a hypothesis
                if len(finished) < K:
                    finished.append((list(history[origin[k]]), float(top[k]) / (t + 1) ** length_penalty))
            keep = np.flatnonzero(~ended)[:K]  # the K best that did not end stay alive
            rows = origin[keep]
            scores, y = top[keep], token[keep]
            history = [history[r] + [int(tok)] for r, tok in zip(rows, y, strict=True)]
            state = self._select(state, rows)
            if t + 1 == limit and len(finished) < K:  # out of length: live hypotheses scored as they stand
                finished.extend((list(history[k]), float(scores[k]) / (t + 1) ** length_penalty)
                                for k in range(K) if np.isfinite(scores[k]))
            if len(finished) >= K or t + 1 >= limit:
                break
        return max(finished, key=lambda item: item[1])
