"""A trained translation model directory, ready to translate sentences and show where it attended.

Input handling: an empty line is a ``ValueError`` naming it; a line longer (in subword tokens) than any
source the model was trained on is still translated, with a ``UserWarning`` (quality drops beyond the
trained lengths, the bottleneck model's first); characters never seen in training cannot fail — the
byte-level BPE spells them as bytes, and bytes absent from the training vocabulary map to ``<unk>``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from rnnkit.decode.seq2seq import decode_all
from rnnkit.models import build_model
from rnnkit.tasks.translate import TranslateOptions, TranslationTask, load_data
from rnnkit.text import UNK, TextEncoder
from rnnkit.train.checkpoint import load_weights, read_config


class Translator:
    """Load ``directory`` (written by ``rnnkit train translate``) and translate with greedy or beam search."""

    def __init__(self, directory: Path, device: str = "cpu") -> None:
        self.directory = Path(directory)
        self.config = read_config(self.directory, task="translate")
        self.src, self.tgt = (TextEncoder.from_config(self.config["text"][s], self.directory / s)
                              for s in ("src", "tgt"))
        self.options = TranslateOptions(**self.config["options"])
        self.model = build_model(self.config["model"])
        load_weights(self.model, self.directory)
        self.device = torch.device(device)
        self.model.to(self.device).eval()

    def pieces(self, ids: Sequence[int], encoder: TextEncoder) -> list[str]:
        """Readable subword labels of ``ids`` (for the attention plot's axes): a lone space is ``␣``,
        a special token its name (``<unk>``)."""
        labels = []
        for i in ids:
            text = encoder.decode([i])
            labels.append(text.strip() or ("␣" if text else encoder.vocab.id_to_token(i)))
        return labels

    def translate(self, texts: Sequence[str], *, beam: int | None = None) -> list[dict[str, Any]]:
        """Translate each text. Returns dicts with ``text``, ``translation``, ``score``, the subword
        ``source_tokens``/``target_tokens`` (target with its ``<eos>`` unless cut at the length limit),
        ``attention`` (one row per target token, (T, S) list of lists, or ``None`` without attention),
        ``ended`` and ``unknown_tokens``.

        Raises:
            ValueError: a text is empty (names its position).
        """
        beam = self.options.beam if beam is None else beam
        longest = int(self.config["max_source_tokens"])
        ids = []
        for i, text in enumerate(texts):
            if not text.strip():
                raise ValueError(f"input {i + 1} is empty: give a sentence to translate")
            ids.append(self.src.encode(text))
            if len(ids[-1]) > longest:
                warnings.warn(f"input {i + 1} has {len(ids[-1])} subword tokens, more than the longest training "
                              f"source ({longest}); translating anyway, expect a worse translation",
                              UserWarning, stacklevel=2)
        hyps = decode_all(self.model, ids, beam=beam, length_penalty=self.options.length_penalty,
                          device=self.device)
        return [{"text": text, "translation": self.tgt.decode(h.tokens), "score": h.score,
                 "source_tokens": self.pieces(x, self.src),
                 "target_tokens": self.pieces(h.tokens, self.tgt) + (["<eos>"] if h.ended else []),
                 "attention": None if h.attention is None else h.attention.tolist(), "ended": h.ended,
                 "unknown_tokens": sum(t == UNK for t in x)}
                for text, x, h in zip(texts, ids, hyps, strict=True)]

    def evaluate(self, split: str = "test", beam: int | None = None) -> dict[str, Any]:
        """sacreBLEU/chrF report on a split of the model's own data (overall, per domain, per bucket)."""
        opts = self.options if beam is None else TranslateOptions(**{**self.config["options"], "beam": beam})
        task = TranslationTask(load_data(opts), self.src, self.tgt, opts, seed=0, splits=(split,))
        report, _ = task.score(self.model, task.sources[split], self.device, beam=opts.beam)
        report["decoding"] = f"beam {opts.beam}" if opts.beam > 1 else "greedy"
        report["split"], report["data"] = split, opts.data
        return report


def plot_attention(result: dict[str, Any], path: Path) -> Path:
    """Draw a translation's attention as a heatmap (rows: target subwords, columns: source subwords)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if result["attention"] is None:
        raise ValueError("this model has no attention (--attention none): there are no weights to plot")
    weights = result["attention"]
    src, tgt = result["source_tokens"], result["target_tokens"]
    fig, ax = plt.subplots(figsize=(max(4.0, 0.45 * len(src) + 2), max(3.0, 0.4 * len(tgt) + 1.5)))
    image = ax.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(src)), src, rotation=60, ha="right")
    ax.set_yticks(range(len(tgt)), tgt)
    ax.set_xlabel("source subwords")
    ax.set_ylabel("target subwords")
    ax.set_title(result["translation"][:80], fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.04)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)
