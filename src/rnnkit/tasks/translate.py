"""Machine translation (many-to-many, different lengths): the encoder–decoder, with or without attention.

Subword BPE per side (trained on the training split only), cross-entropy with teacher forcing and
optional label smoothing, greedy BLEU on the validation set to pick the best epoch, and sacreBLEU
BLEU/chrF on the test set — overall, per domain and per source length — with beam search.

The validation metric is BLEU itself (greedy, on a seeded subset of at most ``val_sentences`` source
sentences), not the loss: it is what the model is judged by, and greedy decoding of ~500 sentences
costs seconds on a CPU, next to minutes for an epoch. The val loss is recorded alongside it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from rnnkit.data.translation import Pair, ParallelData, load_parallel
from rnnkit.decode.seq2seq import decode_all
from rnnkit.metrics.bleu import bleu_report
from rnnkit.models import Seq2Seq, build_model, model_spec
from rnnkit.models.attention import ATTENTION_CHOICES
from rnnkit.models.seq2seq import sequence_loss
from rnnkit.nn import CELLS
from rnnkit.tasks.base import Task
from rnnkit.text import BucketBatchSampler, PadCollator, TextEncoder
from rnnkit.train.checkpoint import CONFIG, new_config, read_config, write_json
from rnnkit.train.loop import TrainConfig, fit, new_run, resumed_run


@dataclass
class TranslateOptions:
    """What to train (the ``rnnkit train translate`` flags). Defaults are sized for a 2-core CPU."""

    data: str = field(default="fr-en", metadata={"help": "registry name (fr-en, bible-fr-en, libreoffice-fr-en, "
                                                         "bible-ru-en, bible-de-en) or an Anki fra.txt file"})
    reverse: bool = field(default=False, metadata={"help": "translate the other way (English → source language)"})
    max_words: int = field(default=25, metadata={"help": "keep pairs with both sides at most this many words"})
    src_bpe: int = field(default=4000, metadata={"help": "BPE vocabulary size of the source side"})
    tgt_bpe: int = field(default=4000, metadata={"help": "BPE vocabulary size of the target side"})
    max_tokens: int = field(default=80, metadata={"help": "skip training pairs longer than this in subword "
                                                          "tokens (val/test are never filtered)"})
    cell: str = field(default="gru", metadata={"choices": tuple(CELLS)})
    embed_dim: int = 256
    hidden_size: int = field(default=256, metadata={"help": "decoder state; a bidirectional encoder has half "
                                                            "per direction"})
    layers: int = 1
    bidirectional: bool = True
    attention: str = field(default="luong-general", metadata={"choices": ATTENTION_CHOICES,
                                                               "help": "none: the bottleneck model"})
    dropout: float = 0.1
    teacher_forcing: float = field(default=1.0, metadata={"help": "probability of feeding the gold previous "
                                                                  "token (< 1: scheduled sampling, step by step)"})
    label_smoothing: float = 0.1
    batch_size: int = 64
    val_sentences: int = field(default=500, metadata={"help": "greedy val BLEU on a seeded subset of this many "
                                                              "sources (0: all)"})
    beam: int = field(default=5, metadata={"help": "beam size of the test evaluation (1: greedy)"})
    length_penalty: float = field(default=1.0, metadata={"help": "beam score = log p / length^this"})
    split_seed: int = field(default=13, metadata={"help": "seed of the train/val/test split"})

    def __post_init__(self) -> None:
        if not 0.0 <= self.teacher_forcing <= 1.0:
            raise ValueError(f"teacher_forcing must be in [0, 1], got {self.teacher_forcing}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        if self.beam < 1:
            raise ValueError(f"beam must be >= 1, got {self.beam}")


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
    """Teacher-forced cross-entropy for training; BLEU of decoded sentences for evaluation."""

    name = "translate"
    metric = "bleu"

    def __init__(self, data: ParallelData, src: TextEncoder, tgt: TextEncoder, opts: TranslateOptions, *,
                 seed: int, splits: Sequence[str] = ("train", "val", "test")) -> None:
        self.src, self.tgt, self.opts, self.seed = src, tgt, opts, seed
        self.collate = PadCollator()
        self.train: list[tuple[list[int], list[int]]] = []
        self.skipped = 0
        if "train" in splits:
            for p in data.train:
                x, y = src.encode(p.src), tgt.encode(p.tgt)
                if len(x) <= opts.max_tokens and len(y) <= opts.max_tokens:
                    self.train.append((x, y))
            self.skipped = len(data.train) - len(self.train)
        self.sources = {s: Sources.group(getattr(data, s), src) for s in splits if s != "train"}
        self.pairs = {s: [(src.encode(p.src), tgt.encode(p.tgt)) for p in getattr(data, s)]
                      for s in splits if s != "train"}
        self._epoch: tuple[tuple[int, int, int], list] | None = None

    def _batch(self, pairs: Sequence[tuple[list[int], list[int]]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        src = self.collate([x for x, _ in pairs])
        return src.tokens, src.lengths, self.collate([y for _, y in pairs]).tokens

    def train_batches(self, epoch: int, rank: int = 0, world: int = 1) -> list:
        key = (epoch, rank, world)
        if self._epoch is None or self._epoch[0] != key:
            lengths = [max(len(x), len(y)) for x, y in self.train]
            sampler = BucketBatchSampler(lengths, self.opts.batch_size, shuffle=True, seed=self.seed,
                                         num_replicas=world, rank=rank)
            sampler.set_epoch(epoch)
            self._epoch = (key, [self._batch([self.train[i] for i in b]) for b in sampler])
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
        pairs = sorted(self.pairs[split], key=lambda p: len(p[0]))
        for i in range(0, len(pairs), 128):
            src, lengths, tgt = self._batch(pairs[i:i + 128])
            logits, _ = model(src.to(device), lengths, tgt[:, :-1].to(device))
            loss, n = sequence_loss(logits, tgt[:, 1:].to(device))
            total, count = total + loss.item() * n, count + n
        return total / max(1, count)

    def score(self, model, sources: Sources, device, beam: int) -> tuple[dict[str, Any], list[str]]:
        hyps = decode_all(model, sources.ids, beam=beam, length_penalty=self.opts.length_penalty, device=device)
        text = [self.tgt.decode(h.tokens) for h in hyps]
        report = bleu_report(text, sources.references, sources.domains, [len(s.split()) for s in sources.text])
        return report, text

    def evaluate(self, model, split: str, device) -> dict[str, Any]:
        if split == "val":
            sources = self.sources[split].subset(self.opts.val_sentences, self.seed)
            report, _ = self.score(model, sources, device, beam=1)
            report.update(decoding="greedy", loss=self.val_loss(model, split, device))
            return report
        report, text = self.score(model, self.sources[split], device, beam=self.opts.beam)
        report["decoding"] = f"beam {self.opts.beam}" if self.opts.beam > 1 else "greedy"
        if self.opts.beam > 1:
            greedy, _ = self.score(model, self.sources[split], device, beam=1)
            report["greedy"] = {k: greedy[k] for k in ("bleu", "chrf", "per_domain", "per_bucket")}
        report["samples"] = [{"src": s, "hyp": h, "ref": r[0], "domain": d} for s, h, r, d in
                             list(zip(self.sources[split].text, text, self.sources[split].references,
                                      self.sources[split].domains, strict=True))[:: max(1, len(text) // 20)]]
        return report


# ---------------------------------------------------------------------------------------------- train
def load_data(opts: TranslateOptions) -> ParallelData:
    return load_parallel(opts.data, max_words=opts.max_words, reverse=opts.reverse, seed=opts.split_seed)


def build_encoders(opts: TranslateOptions, data: ParallelData) -> tuple[TextEncoder, TextEncoder]:
    """Byte-level BPE per side, trained on the training split; the target side adds <bos>/<eos>."""
    src = TextEncoder.build([p.src for p in data.train], tokenizer="bpe", bpe_vocab_size=opts.src_bpe)
    tgt = TextEncoder.build([p.tgt for p in data.train], tokenizer="bpe", bpe_vocab_size=opts.tgt_bpe,
                            add_bos=True, add_eos=True)
    return src, tgt


def build_translator(opts: TranslateOptions, src_vocab: int, tgt_vocab: int) -> dict[str, Any]:
    """The model spec (class + kwargs) the options describe."""
    return model_spec(Seq2Seq, src_vocab_size=src_vocab, tgt_vocab_size=tgt_vocab, cell=opts.cell,
                      embed_dim=opts.embed_dim, hidden_size=opts.hidden_size, num_layers=opts.layers,
                      bidirectional=opts.bidirectional, attention=opts.attention, dropout=opts.dropout)


def train_translate(opts: TranslateOptions, cfg: TrainConfig, out: Path, *, log=print) -> dict[str, Any]:
    """Train a new translation model into ``out`` (a model directory) and return its metrics."""
    out, ctx, log = new_run(out, cfg, log)
    data = load_data(opts)
    log(f"{data.name} ({data.src_lang}→{data.tgt_lang}): {data.sizes()} pairs, domains {data.domains()['train']}")
    if not data.train or not data.val or not data.test:
        raise ValueError(f"{data.name} needs non-empty train, val and test splits, got {data.sizes()}")
    src, tgt = build_encoders(opts, data)
    task = TranslationTask(data, src, tgt, opts, seed=cfg.seed)
    torch.manual_seed(cfg.seed)
    spec = build_translator(opts, len(src.vocab), len(tgt.vocab))
    model = build_model(spec)
    if ctx.is_main:
        out.mkdir(parents=True, exist_ok=True)
        text = {"src": src.save(out / "src"), "tgt": tgt.save(out / "tgt")}
        write_json(out / CONFIG, new_config("translate", model=spec, text=text,
                                            languages=[data.src_lang, data.tgt_lang],
                                            max_source_tokens=max(len(x) for x, _ in task.train),
                                            options=asdict(opts), train=asdict(cfg)))
    log(f"model: {opts.cell} encoder–decoder, attention {opts.attention}, "
        f"{sum(p.numel() for p in model.parameters()):,} parameters, BPE {len(src.vocab)}/{len(tgt.vocab)}; "
        f"{len(task.train):,} training pairs ({task.skipped} longer than {opts.max_tokens} tokens skipped)")
    return _fit(model, data, task, cfg, out, resume=False, log=log)


def resume_translate(out: Path, *, log=print, **overrides: Any) -> dict[str, Any]:
    """Continue a killed ``train_translate`` run from its directory, with its own settings."""
    out = Path(out)
    config = read_config(out, task="translate")
    opts, cfg, log = resumed_run(config, TranslateOptions, overrides, log)
    data = load_data(opts)
    src, tgt = (TextEncoder.from_config(config["text"][s], out / s) for s in ("src", "tgt"))
    task = TranslationTask(data, src, tgt, opts, seed=cfg.seed)
    return _fit(build_model(config["model"]), data, task, cfg, out, resume=True, log=log)


def _fit(model, data: ParallelData, task: TranslationTask, cfg: TrainConfig, out: Path, *, resume, log) -> dict:
    opts = task.opts
    return fit(model, task, cfg, out, resume=resume, log=log,
               metadata={"data": data.summary(), "split": data.split, "attention": opts.attention, "cell": opts.cell,
                         "parameters": sum(p.numel() for p in model.parameters()),
                         "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")})


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

