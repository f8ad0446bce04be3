"""Machine translation (many-to-many, different lengths): the encoder–decoder, with or without attention.

Subword BPE per side (trained on the training split only), cross-entropy with teacher forcing and
optional label smoothing, greedy BLEU on the validation set to pick the best epoch, and sacreBLEU
BLEU/chrF on the test set — overall, per domain and per source length — with beam search.

The validation metric is BLEU itself (greedy, on a seeded subset of at most ``val_sentences`` source
sentences), not the loss: it is what the model is judged by, and greedy decoding of ~500 sentences
costs seconds on a CPU, next to minutes for an epoch. The val loss is recorded alongside it.

A trained directory in use (:class:`Translator`): an empty line is a ``ValueError`` naming it; a line longer
(in subword tokens) than any source the model was trained on is still translated, with a ``UserWarning``
(quality drops beyond the trained lengths, the bottleneck model's first); characters never seen in training
cannot fail — the byte-level BPE spells them as bytes, and bytes absent from the training vocabulary map to
``<unk>``.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from rnnkit.data.open import load_parallel
from rnnkit.data.pairstream import EncodedPairs, load_pairs, streams_pairs
from rnnkit.data.splits import Pair, ParallelData
from rnnkit.decode.seq2seq import decode_all
from rnnkit.extras import pyplot
from rnnkit.metrics.bleu import bleu_report
from rnnkit.models import Seq2Seq, model_spec
from rnnkit.models.attention import ATTENTION_CHOICES
from rnnkit.models.seq2seq import sequence_loss
from rnnkit.ranges import check_value
from rnnkit.tasks.base import App, EncodedTexts, Predictor, Prepared, Run
from rnnkit.tasks.classify import Collated
from rnnkit.tasks.options import EncoderOptions, default
from rnnkit.text import UNK, BucketBatchSampler, PadCollator, TextEncoder
from rnnkit.train.task import Task

MAX_BEAM = 16  # hypotheses kept per sentence, wherever a beam is asked for (CLI, Python, HTTP); more costs memory
# (B·K rows decoded together) and, in a seq2seq model, rarely helps


def check_beam(beam: Any) -> int:
    """``beam`` if it is a whole number in [1, :data:`MAX_BEAM`] (the range of ``TranslateOptions.beam``)."""
    return check_value(TranslateOptions, "beam", beam)


@dataclass
class TranslateOptions(EncoderOptions):
    """What to train (the ``rnnkit train translate`` flags; the encoder's are
    :class:`~rnnkit.tasks.options.EncoderOptions`). Defaults are sized for a 2-core CPU."""

    data: str | None = field(default="fr-en", metadata={"help": "registry name (fr-en, bible-fr-en, libreoffice-fr-en, "
                                                                "bible-ru-en, bible-de-en), an Anki fra.txt file or a "
                                                                "source<TAB>target .tsv"})
    src: str | None = field(default=None, metadata={"help": "your own source-language file, one sentence a line "
                                                            "(with --tgt; its suffix names the language: train.de)"})
    tgt: str | None = field(default=None, metadata={"help": "the target-language file, line-aligned with --src"})
    reverse: bool = field(default=False, metadata={"help": "translate the other way (English → source language)"})
    max_words: int = field(default=25, metadata={"help": "keep pairs with both sides at most this many words"})
    src_bpe: int = field(default=4000, metadata={"help": "BPE vocabulary size of the source side"})
    tgt_bpe: int = field(default=4000, metadata={"help": "BPE vocabulary size of the target side"})
    max_tokens: int = field(default=80, metadata={"help": "skip training pairs longer than this in subword "
                                                          "tokens (val/test are never filtered)"})
    cell: str = default("cell", "gru")
    embed_dim: int = 256
    hidden_size: int = default("hidden_size", 256, help="decoder state; a bidirectional encoder has half per "
                                                        "direction")
    bidirectional: bool = default("bidirectional", True)
    # bahdanau: the best measured recipe on the 2-core CPU (test BLEU 25.7 with --max-minutes 30, docs/translation.md)
    attention: str = field(default="bahdanau", metadata={"choices": ATTENTION_CHOICES,
                                                          "help": "none: the bottleneck model"})
    dropout: float = default("dropout", 0.1)
    teacher_forcing: float = field(default=1.0, metadata={"help": "probability of feeding the gold previous "
                                                                  "token (< 1: scheduled sampling, step by step)"})
    label_smoothing: float = field(default=0.1, metadata={"help": "label smoothing ε of the cross-entropy "
                                                                  "(0: plain cross-entropy)"})
    batch_size: int = 64
    val_sentences: int = field(default=500, metadata={"help": "greedy val BLEU on a seeded subset of this many "
                                                              "sources (0: all)"})
    beam: int = field(default=5, metadata={"help": "beam size of the test evaluation (1: greedy)",
                                           "range": (1, MAX_BEAM)})
    length_penalty: float = field(default=1.0, metadata={"help": "beam score = log p / length^this"})
    split_seed: int = field(default=13, metadata={"help": "seed of the train/val/test split"})

    def __post_init__(self) -> None:
        if (self.src is not None or self.tgt is not None) and self.data == "fr-en":  # --src/--tgt replace it
            self.data = None
        super().__post_init__()


@dataclass
class Sources:
    """An evaluation set grouped by source sentence: one hypothesis each, scored against all its references."""

    text: list[str]
    ids: list[list[int]]
    references: list[list[str]]
    domains: list[str]

    @classmethod
    def group(cls, pairs: Sequence[Pair], encoder: TextEncoder) -> Sources:
        refs: dict[str, list[str]] = {}
        domains: dict[str, str] = {}
        for p in pairs:
            refs.setdefault(p.src, []).append(p.tgt)
            domains.setdefault(p.src, p.domain)
        texts = list(refs)
        return cls(texts, [encoder.encode(t) for t in texts], [refs[t] for t in texts], [domains[t] for t in texts])

    def subset(self, n: int, seed: int) -> Sources:
        if not n or n >= len(self.text):
            return self
        keep = sorted(random.Random(seed).sample(range(len(self.text)), n))
        return Sources(*([getattr(self, f)[i] for i in keep] for f in ("text", "ids", "references", "domains")))


class TranslationTask(Task):
    """Teacher-forced cross-entropy for training; BLEU of decoded sentences for evaluation.

    ``encoded``: the splits already as ids (pairs on disk, :mod:`rnnkit.data.pairstream`); without it the
    pairs of ``data`` are encoded here."""

    name = "translate"
    metric = "bleu"

    def __init__(self, data: ParallelData, src: TextEncoder, tgt: TextEncoder, opts: TranslateOptions, *,
                 seed: int, splits: Sequence[str] = ("train", "val", "test"),
                 encoded: dict[str, EncodedPairs] | None = None) -> None:
        self.src, self.tgt, self.opts, self.seed = src, tgt, opts, seed
        self.collate = PadCollator()
        self.train: Sequence[tuple[list[int], list[int]]] = []
        self.skipped = 0
        if "train" in splits and encoded is not None:
            self.train = encoded["train"].within(opts.max_tokens)
            self.skipped = len(encoded["train"]) - len(self.train)
        elif "train" in splits:
            self.train = [(x, y) for x, y in ((src.encode(p.src), tgt.encode(p.tgt)) for p in data.train)
                          if len(x) <= opts.max_tokens and len(y) <= opts.max_tokens]
            self.skipped = len(data.train) - len(self.train)
        self.data = data
        self._sources: dict[str, Sources] = {}
        if encoded is not None:
            self.pairs: dict[str, Sequence[tuple[list[int], list[int]]]] = {s: encoded[s] for s in splits
                                                                            if s != "train"}
        else:
            self.pairs = {s: [(src.encode(p.src), tgt.encode(p.tgt)) for p in getattr(data, s)]
                          for s in splits if s != "train"}
        self._epoch: tuple[tuple[int, int, int], Collated] | None = None

    def _batch(self, pairs: Sequence[tuple[list[int], list[int]]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        src = self.collate([x for x, _ in pairs])
        return src.tokens, src.lengths, self.collate([y for _, y in pairs]).tokens

    def sources(self, split: str) -> Sources:
        """``split`` (val or test) grouped by source sentence, built when first asked for (the text of pairs on
        disk is read then, not while training on the pairs before it)."""
        if split not in self._sources:
            self._sources[split] = Sources.group(getattr(self.data, split), self.src)
        return self._sources[split]

    def longest_source(self) -> int:
        """The most source tokens of a training pair."""
        if isinstance(self.train, EncodedPairs):
            return int(self.train.src_lengths.max())
        return max(len(x) for x, _ in self.train)

    def train_batches(self, epoch: int, rank: int = 0, world: int = 1) -> Collated:
        """The epoch's batches, each padded when the loop asks for it: (source (B, S), lengths (B,),
        target (B, T)), bucketed by max(S, T)."""
        key = (epoch, rank, world)
        if self._epoch is None or self._epoch[0] != key:
            lengths = _pair_lengths(self.train)
            sampler = BucketBatchSampler(lengths, self.opts.batch_size, shuffle=True, seed=self.seed,
                                         num_replicas=world, rank=rank)
            sampler.set_epoch(epoch)
            self._epoch = (key, Collated(self.train, list(sampler), self._batch))
        return self._epoch[1]

    def loss(self, model, batch, device) -> tuple[torch.Tensor, int]:
        src, lengths, tgt = batch
        src, tgt = src.to(device), tgt.to(device)
        logits, _ = model(src, lengths, tgt[:, :-1], teacher_forcing=self.opts.teacher_forcing)
        return sequence_loss(logits, tgt[:, 1:], label_smoothing=self.opts.label_smoothing)

    @torch.no_grad()
    def val_loss(self, model, split: str, device) -> float:
        """Mean per-token cross-entropy (no smoothing, gold inputs) over every pair of ``split``."""
        model.eval()
        total, count = 0.0, 0
        pairs = self.pairs[split]
        known = getattr(pairs, "src_lengths", None)  # pairs on disk know their lengths without reading them
        source_lengths = known.tolist() if known is not None else [len(x) for x, _ in pairs]
        order = sorted(range(len(pairs)), key=source_lengths.__getitem__)
        for i in range(0, len(order), 128):
            src, lengths, tgt = self._batch([pairs[j] for j in order[i:i + 128]])
            logits, _ = model(src.to(device), lengths, tgt[:, :-1].to(device))
            loss, n = sequence_loss(logits, tgt[:, 1:].to(device))
            total, count = total + loss.item() * n, count + n
        return total / max(1, count)

    def score(self, model, sources: Sources, device, beam: int) -> tuple[dict[str, Any], list[str]]:
        hyps = decode_all(model, sources.ids, beam=beam, length_penalty=self.opts.length_penalty, device=device,
                          attention=False)  # BLEU needs the tokens only
        text = [self.tgt.decode(h.tokens) for h in hyps]
        report = bleu_report(text, sources.references, sources.domains, [len(s.split()) for s in sources.text])
        return report, text

    def evaluate(self, model, split: str, device) -> dict[str, Any]:
        if split == "val":
            sources = self.sources(split).subset(self.opts.val_sentences, self.seed)
            report, _ = self.score(model, sources, device, beam=1)
            report.update(decoding="greedy", loss=self.val_loss(model, split, device))
            return report
        report, text = self.score(model, self.sources(split), device, beam=self.opts.beam)
        report["decoding"] = f"beam {self.opts.beam}" if self.opts.beam > 1 else "greedy"
        if self.opts.beam > 1:
            greedy, _ = self.score(model, self.sources(split), device, beam=1)
            report["greedy"] = {k: greedy[k] for k in ("bleu", "chrf", "per_domain", "per_bucket")}
        report["samples"] = [{"src": s, "hyp": h, "ref": r[0], "domain": d} for s, h, r, d in
                             list(zip(self.sources(split).text, text, self.sources(split).references,
                                      self.sources(split).domains, strict=True))[:: max(1, len(text) // 20)]]
        return report


def _pair_lengths(pairs: Sequence[tuple[list[int], list[int]]]) -> list[int]:
    """max(S, T) of every pair (the bucketing length), from stored lengths where the pairs have them."""
    known = getattr(pairs, "lengths", None)
    return known.tolist() if known is not None else [max(len(x), len(y)) for x, y in pairs]


# ---------------------------------------------------------------------------------------------- train
def load_data(opts: TranslateOptions) -> ParallelData:
    return load_parallel(opts.data, max_words=opts.max_words, reverse=opts.reverse, seed=opts.split_seed,
                         src=opts.src, tgt=opts.tgt)


def streamed(opts: TranslateOptions) -> bool:
    """A ``.tsv`` file, or ``--src`` + ``--tgt``, of 64 MiB or more is tokenised once into a map on disk and
    read from there (:mod:`rnnkit.data.pairstream`); smaller files and registry names are read whole."""
    return streams_pairs(opts.data, opts.src, opts.tgt)


def load_streamed(opts: TranslateOptions, encoders: tuple[TextEncoder, TextEncoder] | None,
                  log) -> tuple[ParallelData, dict[str, EncodedPairs], tuple[TextEncoder, TextEncoder]]:
    """The pairs on disk of a large parallel text, with ``encoders`` or BPE fitted on its training pairs."""
    return load_pairs(opts.data, src=opts.src, tgt=opts.tgt, max_words=opts.max_words, reverse=opts.reverse,
                      seed=opts.split_seed, src_bpe=opts.src_bpe, tgt_bpe=opts.tgt_bpe, encoders=encoders,
                      log=log)


def build_encoders(opts: TranslateOptions, data: ParallelData) -> tuple[TextEncoder, TextEncoder]:
    """Byte-level BPE per side, trained on the training split; the target side adds <bos>/<eos>."""
    src = TextEncoder.build([p.src for p in data.train], tokenizer="bpe", bpe_vocab_size=opts.src_bpe)
    tgt = TextEncoder.build([p.tgt for p in data.train], tokenizer="bpe", bpe_vocab_size=opts.tgt_bpe,
                            add_bos=True, add_eos=True)
    return src, tgt


def build_translator(opts: TranslateOptions, src_vocab: int, tgt_vocab: int) -> dict[str, Any]:
    """The model spec (class + kwargs) the options describe."""
    return model_spec(Seq2Seq, src_vocab_size=src_vocab, tgt_vocab_size=tgt_vocab, attention=opts.attention,
                      **opts.encoder_kwargs())


def prepare(run: Run) -> Prepared:
    """Parallel data → BPE per side (trained on the training split, or the saved ones) → the seq2seq spec."""
    opts = run.options
    saved = None
    if run.saved is not None:
        saved = tuple(TextEncoder.from_config(run.saved["text"][s], run.directory / s) for s in ("src", "tgt"))
    encoded = None
    if streamed(opts):
        data, encoded, (src, tgt) = load_streamed(opts, saved, run.log)
    else:
        data = load_data(opts)
    if saved is not None:
        src, tgt = saved
    else:
        run.log(f"{data.name} ({data.src_lang}→{data.tgt_lang}): {data.sizes()} pairs, "
                f"domains {data.domains()['train']}")
        if not len(data.train) or not len(data.val) or not len(data.test):
            raise ValueError(f"{data.name} needs non-empty train, val and test splits, got {data.sizes()}")
        if encoded is None:
            src, tgt = build_encoders(opts, data)
    task = TranslationTask(data, src, tgt, opts, seed=run.train.seed, encoded=encoded)

    def artifacts(directory: Path) -> dict[str, Any]:
        return {"text": {"src": src.save(directory / "src"), "tgt": tgt.save(directory / "tgt")},
                "languages": [data.src_lang, data.tgt_lang],
                "max_source_tokens": task.longest_source()}

    def summary(model: torch.nn.Module) -> str:
        return (f"model: {opts.cell} encoder–decoder, attention {opts.attention}, "
                f"{sum(p.numel() for p in model.parameters()):,} parameters, BPE {len(src.vocab)}/{len(tgt.vocab)}; "
                f"{len(task.train):,} training pairs ({task.skipped} longer than {opts.max_tokens} tokens skipped)")

    return Prepared(spec=build_translator(opts, len(src.vocab), len(tgt.vocab)), task=task, artifacts=artifacts,
                    metadata={"data": data.summary(), "split": data.split, "attention": opts.attention,
                              "cell": opts.cell},
                    summary=summary)


def format_report(report: dict[str, Any]) -> str:
    """BLEU/chrF overall, per domain and per source-length bucket, with the sacreBLEU signature."""
    lines = [f"BLEU {report['bleu']:.1f}, chrF {report['chrf']:.1f} on {report['n']} sentences "
             f"({report.get('decoding', 'greedy')})"]
    if "greedy" in report:
        lines.append(f"  greedy: BLEU {report['greedy']['bleu']:.1f}, chrF {report['greedy']['chrf']:.1f}")
    for key, title in (("per_domain", "domain"), ("per_bucket", "source words")):
        for name, s in report[key].items():
            lines.append(f"  {title} {name:>12}: BLEU {s['bleu']:5.1f}  chrF {s['chrf']:5.1f}  ({s['n']} sentences)")
    lines.append(f"  {report['signature']['bleu']}")
    lines.append(f"  {report['signature']['chrf']}")
    return "\n".join(lines)


def describe(result: dict[str, Any]) -> str:
    """Summary of a run for the terminal."""
    best = result["best_val"]
    return (f"test {format_report(result['test'])}\n(best greedy val BLEU {best['bleu']:.1f} at epoch "
            f"{best['epoch']}, {result['train_seconds']:.0f} s training, {result['steps']} updates)")


# ------------------------------------------------------------------------------------------------ use
MAX_SOURCE_TOKENS = 400  # longest input `translate` accepts, in source subword tokens (decoding is O(|x|²))
MAX_SOURCE_CHARS = 100 * MAX_SOURCE_TOKENS  # checked before tokenizing: no 400-token sentence is longer

class Translator(Predictor):
    """Load ``directory`` (written by ``rnnkit train translate``) and translate with greedy or beam search."""

    max_chars = MAX_SOURCE_CHARS

    def load_artifacts(self) -> None:
        self.src, self.tgt = (TextEncoder.from_config(self.config["text"][s], self.directory / s)
                              for s in ("src", "tgt"))
        self.options = TranslateOptions(**self.config["options"])

    def pieces(self, ids: Sequence[int], encoder: TextEncoder) -> list[str]:
        """Readable subword labels of ``ids`` (for the attention plot's axes): a lone space is ``␣``,
        a special token its name (``<unk>``)."""
        labels = []
        for i in ids:
            text = encoder.decode([i])
            labels.append(text.strip() or ("␣" if text else encoder.vocab.id_to_token(i)))
        return labels

    def translate(self, texts: str | Sequence[str], *, beam: int | None = None,
                  attention: bool = False) -> dict[str, Any] | list[dict[str, Any]]:
        """Translate one text (→ one result) or a list (→ a list) (``beam``: 1 greedy, at most
        :data:`MAX_BEAM`; default the model's own). Returns dicts with ``text``, ``translation``, ``score``, the
        subword ``source_tokens``/``target_tokens`` (target with its ``<eos>`` unless cut at the length limit),
        ``ended``, ``unknown_tokens``, the beam's ``candidates`` (``{"text", "score"}``, best first; greedy: the
        translation alone) and ``attention``: with ``attention=True`` one row per target token, (T, S) list of
        lists (``None`` for a model without attention, or when not asked for).

        Raises:
            ValueError: a text is empty or longer than :data:`MAX_SOURCE_TOKENS` (names its position), or
                ``beam`` is out of range. TypeError: an input is not a text, or ``beam`` not a whole number.
        """
        beam = self.options.beam if beam is None else check_beam(beam)
        return self.pipeline(texts, "sentence", beam=beam, attention=bool(attention))

    def preprocess(self, texts: list[str], **_: Any) -> EncodedTexts:
        """Sentences → source subword ids (empty or too long: an error naming its position)."""
        longest = int(self.config["max_source_tokens"])
        ids = []
        for i, text in enumerate(texts):
            if not text.strip():
                raise ValueError(f"input {i + 1} is empty: give a sentence to translate")
            if len(text) > MAX_SOURCE_CHARS:
                raise ValueError(f"input {i + 1} has {len(text):,} characters; a translator takes at most "
                                 f"{MAX_SOURCE_CHARS:,}: split it into sentences")
            ids.append(self.src.encode(text))
            if len(ids[-1]) > MAX_SOURCE_TOKENS:
                raise ValueError(f"input {i + 1} has {len(ids[-1])} subword tokens; a translator takes at most "
                                 f"{MAX_SOURCE_TOKENS} (its memory and time grow with the square of the length): "
                                 f"split it into sentences")
            if len(ids[-1]) > longest:
                warnings.warn(f"input {i + 1} has {len(ids[-1])} subword tokens, more than the longest training "
                              f"source ({longest}); translating anyway, expect a worse translation",
                              UserWarning, stacklevel=4)
        return EncodedTexts(texts, ids)

    def forward(self, batch: EncodedTexts, *, beam: int, attention: bool = False, **_: Any) -> list[Any]:
        """Greedy or beam decoding of every sentence (batched): one hypothesis per sentence."""
        return decode_all(self.model, batch.ids, beam=beam, length_penalty=self.options.length_penalty,
                          device=self.device, attention=attention)

    def postprocess(self, batch: EncodedTexts, hyps: list[Any], *, attention: bool = False,
                    **_: Any) -> list[dict[str, Any]]:
        """Hypotheses → one result per sentence (see :meth:`translate`)."""
        results = []
        for text, x, h in zip(batch.texts, batch.ids, hyps, strict=True):
            weights = h.attention.tolist() if attention and h.attention is not None else None
            results.append({"text": text, "translation": self.tgt.decode(h.tokens), "score": h.score,
                            "source_tokens": self.pieces(x, self.src),
                            "target_tokens": self.pieces(h.tokens, self.tgt) + (["<eos>"] if h.ended else []),
                            "ended": h.ended, "unknown_tokens": sum(t == UNK for t in x),
                            "candidates": [{"text": self.tgt.decode(c.tokens), "score": c.score}
                                           for c in [h, *h.alternatives]],
                            "attention": weights})
        return results

    def evaluate(self, split: str = "test", beam: int | None = None) -> dict[str, Any]:
        """sacreBLEU/chrF report on a split of the model's own data (overall, per domain, per bucket)."""
        if split == "train":
            raise ValueError("translation models are scored on --split val or test (train sentences are not grouped "
                             "by source)")
        opts = self.options if beam is None else TranslateOptions(**{**self.config["options"], "beam": beam})
        if streamed(opts):
            data, encoded, _ = load_streamed(opts, (self.src, self.tgt), print)
            task = TranslationTask(data, self.src, self.tgt, opts, seed=0, splits=(split,), encoded=encoded)
        else:
            task = TranslationTask(load_data(opts), self.src, self.tgt, opts, seed=0, splits=(split,))
        report, _ = task.score(self.model, task.sources(split), self.device, beam=opts.beam)
        report["decoding"] = f"beam {opts.beam}" if opts.beam > 1 else "greedy"
        report["split"], report["data"] = split, opts.data if opts.data is not None else f"{opts.src} + {opts.tgt}"
        return report


def evaluate(predictor: Translator, *, data: str | None = None, split: str = "test",
             beam: int | None = None) -> dict[str, Any]:
    """BLEU/chrF of a model on a split of its own data."""
    if data is not None:
        raise ValueError("a translation model is evaluated on its own data (--split val|test); drop --data")
    return predictor.evaluate(split, beam=beam)


def plot_attention(result: dict[str, Any], path: Path) -> Path:
    """Draw a translation's attention as a heatmap (rows: target subwords, columns: source subwords)."""
    plt = pyplot()
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


APPS = (App(name="translate", config_keys=("text",), http=("translate",),
            options=TranslateOptions, prepare=prepare, predictor=Translator, evaluate=evaluate,
            describe=describe, show=lambda report, split: f"{report['data']} ({split}): {format_report(report)}",
            help="encoder–decoder translation (default: French → English, Bible + LibreOffice), with or without "
                 "attention"),)
