"""Language modelling: predict the next token, trained with truncated BPTT over a long text.

Word level (Jane Austen: perplexity) or character level (Shakespeare: bits per character), next to
the lecture's previous-word (bigram) and unigram baselines evaluated on the same token streams.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.nn import functional as F

from rnnkit.data.corpora import TextCorpus, read_text_file, read_wikitext
from rnnkit.data.registry import get_spec, load
from rnnkit.models import LanguageModel, build_model, model_spec
from rnnkit.models.ngram import baseline_report
from rnnkit.nn import CELLS
from rnnkit.tasks.base import Task
from rnnkit.text import EOS, TextEncoder
from rnnkit.train.checkpoint import CONFIG, load_weights, new_config, read_config, write_json
from rnnkit.train.loop import TrainConfig, fit, new_run, resumed_run


@dataclass
class LMOptions:
    """What to train (the ``rnnkit train lm`` flags)."""

    data: str = field(default="austen", metadata={"help": "registry name (austen, shakespeare, …), a .txt file, "
                                                          "or a WikiText folder"})
    tokenizer: str = field(default="auto", metadata={"choices": ("auto", "word", "char", "bpe"),
                                                     "help": "auto: the corpus's natural level"})
    lowercase: bool = field(default=True, metadata={"help": "word level only"})
    min_freq: int = field(default=3, metadata={"help": "word level: rarer words become <unk>"})
    cell: str = field(default="lstm", metadata={"choices": tuple(CELLS)})
    embed_dim: int = 256
    hidden_size: int = 512
    layers: int = 1
    dropout: float = 0.3
    embed_dropout: float = 0.1
    tie_weights: bool = False
    bptt: int = field(default=64, metadata={"help": "truncated-BPTT window (steps)"})
    batch_size: int = field(default=32, metadata={"help": "parallel streams"})


def load_corpus(source: str) -> TextCorpus:
    path = Path(source)
    if path.is_dir():
        return read_wikitext(path)
    if path.suffix in (".txt", ".tokens") or path.exists():
        return read_text_file(path)
    spec = get_spec(source)
    if spec.task != "lm":
        raise ValueError(f"{source!r} is a {spec.task} dataset, not running text for a language model")
    return load(source)


def level_of(opts: LMOptions, corpus: TextCorpus) -> str:
    return corpus.level if opts.tokenizer == "auto" else opts.tokenizer


def build_encoder(opts: LMOptions, corpus: TextCorpus) -> TextEncoder:
    kind = level_of(opts, corpus)
    if kind == "char":
        return TextEncoder.build([corpus.train], tokenizer="char", lowercase=False, min_freq=1)
    lines = [line for line in corpus.train.split("\n") if line.strip()]
    return TextEncoder.build(lines, tokenizer=kind, lowercase=opts.lowercase, min_freq=opts.min_freq)


def encode_stream(encoder: TextEncoder, text: str) -> Tensor:
    """A whole split as one id stream (N,): characters as they are (newlines included), or words with
    ``<eos>`` closing every line."""
    vocab, tok = encoder.vocab, encoder.tokenizer
    if getattr(tok, "kind", "") == "char":
        return torch.tensor(vocab.encode(tok.tokenize(text)), dtype=torch.long)
    ids: list[int] = []
    for line in text.split("\n"):
        if line.strip():
            ids.extend(vocab.encode(tok.tokenize(line)))
            ids.append(EOS)
    return torch.tensor(ids, dtype=torch.long)


def _streams(ids: Tensor, n: int) -> Tensor:
    """Cut (N,) into n parallel streams (n, N // n), dropping the remainder (as word_language_model)."""
    length = ids.numel() // n
    if length < 2:
        raise ValueError(f"the text is too short for {n} streams: {ids.numel()} tokens")
    return ids[: n * length].view(n, length)


def _detach(state):
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


class LanguageModelTask(Task):
    """Cross-entropy of the next token; windows of ``bptt`` steps, state carried (detached) between them.

    Each epoch shifts the window boundaries by a seeded offset, so windows differ between epochs while
    the batches stay a function of (seed, epoch) — the loop's condition for an exact resume."""

    name = "lm"
    higher_is_better = False

    def __init__(self, streams: dict[str, Tensor], *, bptt: int, batch_size: int, seed: int, level: str) -> None:
        self.ids, self.bptt, self.batch_size, self.seed, self.level = streams, bptt, batch_size, seed, level
        self.metric = "bits_per_char" if level == "char" else "perplexity"
        self._state = None

    def train_batches(self, epoch: int, rank: int = 0, world: int = 1) -> list[tuple[Tensor, Tensor]]:
        offset = int(hashlib.sha256(f"{self.seed}:{epoch}".encode()).hexdigest(), 16) % self.bptt
        data = _streams(self.ids["train"][offset:], self.batch_size * world)[rank::world]
        T = self.bptt
        return [(data[:, i:i + T], data[:, i + 1:i + 1 + T]) for i in range(0, data.shape[1] - 1 - T + 1, T)]

    def start_epoch(self, epoch: int) -> None:
        self._state = None

    def loss(self, model, batch, device) -> tuple[Tensor, int]:
        x, y = (t.to(device) for t in batch)
        logits, state = model(x, self._state)
        self._state = _detach(state)
        return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1)), y.numel()

    def state_dict(self) -> dict[str, Tensor]:
        if self._state is None:
            return {}
        parts = self._state if isinstance(self._state, tuple) else (self._state,)
        return {f"state{i}": p.cpu() for i, p in enumerate(parts)}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        parts = [state[k] for k in sorted(state)]
        self._state = None if not parts else (tuple(parts) if len(parts) == 2 else parts[0])

    @torch.no_grad()
    def evaluate(self, model, split: str, device) -> dict[str, Any]:
        model.eval()
        data = _streams(self.ids[split], 10).to(device)
        state, total, count = None, 0.0, 0
        for i in range(0, data.shape[1] - 1, self.bptt):
            x, y = data[:, i:i + self.bptt], data[:, i + 1:i + 1 + self.bptt]
            x = x[:, : y.shape[1]]
            logits, state = model(x, state)
            flat = logits.float().reshape(-1, logits.shape[-1])
            total += F.cross_entropy(flat, y.reshape(-1), reduction="sum").item()
            count += y.numel()
        nll = total / count
        report = {"loss": nll, "perplexity": math.exp(nll), "bits_per_token": nll / math.log(2), "tokens": count}
        if self.metric == "bits_per_char":  # a token is a character
            report["bits_per_char"] = report["bits_per_token"]
        return report


def train_lm(opts: LMOptions, cfg: TrainConfig, out: Path, *, log=print) -> dict[str, Any]:
    out, ctx, log = new_run(out, cfg, log)
    corpus = load_corpus(opts.data)
    encoder = build_encoder(opts, corpus)
    streams = {s: encode_stream(encoder, getattr(corpus, s)) for s in ("train", "val", "test")}
    level = level_of(opts, corpus)
    log(f"{corpus.name}: {level} level, vocabulary {len(encoder.vocab):,}, tokens "
        f"{ {s: int(v.numel()) for s, v in streams.items()} }")
    baselines = baseline_report(streams["train"], streams["val"], streams["test"], len(encoder.vocab))
    for name, b in baselines.items():
        log(f"  baseline {name}: test perplexity {b['test_perplexity']:.1f}, "
            f"{b['test_bits_per_token']:.3f} bits/token")
    torch.manual_seed(cfg.seed)
    spec = model_spec(LanguageModel, vocab_size=len(encoder.vocab), cell=opts.cell, embed_dim=opts.embed_dim,
                      hidden_size=opts.hidden_size, num_layers=opts.layers, dropout=opts.dropout,
                      embed_dropout=opts.embed_dropout, tie_weights=opts.tie_weights)
    model = build_model(spec)
    if ctx.is_main:
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / CONFIG, new_config("lm", model=spec, text=encoder.save(out), level=level,
                                            options=asdict(opts), train=asdict(cfg), baselines=baselines))
    log(f"model: {opts.cell} LM, {sum(p.numel() for p in model.parameters()):,} parameters")
    return _fit(model, corpus, streams, level, opts, cfg, out, baselines, resume=False, log=log)


def resume_lm(out: Path, *, log=print, **overrides: Any) -> dict[str, Any]:
    out = Path(out)
    config = read_config(out, task="lm")
    opts, cfg, log = resumed_run(config, LMOptions, overrides, log)
    corpus = load_corpus(opts.data)
    encoder = TextEncoder.from_config(config["text"], out)
    streams = {s: encode_stream(encoder, getattr(corpus, s)) for s in ("train", "val", "test")}
    return _fit(build_model(config["model"]), corpus, streams, config["level"], opts, cfg, out,
                config["baselines"], resume=True, log=log)


def _fit(model, corpus, streams, level, opts, cfg, out, baselines, *, resume, log) -> dict[str, Any]:
    task = LanguageModelTask(streams, bptt=opts.bptt, batch_size=opts.batch_size, seed=cfg.seed, level=level)
    return fit(model, task, cfg, out, resume=resume, log=log,
               metadata={"data": corpus.name, "level": level, "split": corpus.split, "cell": opts.cell,
                         "parameters": sum(p.numel() for p in model.parameters()), "baselines": baselines,
                         "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")})


def describe(result: dict[str, Any]) -> str:
    test, level = result["test"], result["level"]
    main = (f"test bits/char {test['bits_per_char']:.3f}" if level == "char"
            else f"test perplexity {test['perplexity']:.1f}")
    lines = [f"{main} on {test['tokens']:,} tokens ({result['train_seconds']:.0f} s training, "
             f"{result['steps']} updates)"]
    for name, b in result["baselines"].items():
        other = (f"{b['test_bits_per_token']:.3f} bits/char" if level == "char"
                 else f"perplexity {b['test_perplexity']:.1f}")
        lines.append(f"  {name} baseline: {other}")
    return "\n".join(lines)


class LMGenerator:
    """A trained language model directory that writes text."""

    def __init__(self, directory: Path, device: str = "cpu") -> None:
        self.config = read_config(directory, task="lm")
        self.encoder = TextEncoder.from_config(self.config["text"], directory)
        self.model = build_model(self.config["model"])
        load_weights(self.model, directory)
        self.device = torch.device(device)
        self.model.to(self.device).eval()

    @torch.no_grad()
    def generate(self, prompt: str, length: int, *, temperature: float = 1.0, top_k: int | None = None,
                 seed: int | None = None) -> str:
        """Continue ``prompt`` by ``length`` sampled tokens (temperature, optional top-k)."""
        if length < 1 or length > 100_000:
            raise ValueError(f"--length must be in [1, 100000], got {length}")
        if not temperature > 0:
            raise ValueError(f"--temperature must be > 0, got {temperature}")
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        level = self.config["level"]
        ids = encode_stream(self.encoder, prompt) if prompt else torch.tensor([EOS])
        if level != "char" and ids.numel() and not prompt.endswith("\n") and ids[-1] == EOS:
            ids = ids[:-1]  # the prompt's last line continues
        if ids.numel() == 0:
            ids = torch.tensor([EOS])
        logits, state = self.model(ids.view(1, -1).to(self.device))
        out: list[int] = []
        for _ in range(length):
            scores = logits[0, -1].float().cpu() / temperature
            if top_k:
                kth = scores.topk(min(top_k, scores.numel())).values[-1]
                scores = scores.masked_fill(scores < kth, float("-inf"))
            scores[:4] = torch.where(torch.arange(4) == EOS, scores[:4], torch.full((4,), float("-inf")))
            nxt = int(torch.multinomial(scores.softmax(0), 1, generator=gen))
            out.append(nxt)
            logits, state = self.model(torch.tensor([[nxt]], device=self.device), state)
        if level == "char":
            return prompt + self.encoder.decode(out)
        lines: list[list[int]] = [[]]
        for t in out:
            lines.append([]) if t == EOS else lines[-1].append(t)
        text = "\n".join(self.encoder.decode(line) for line in lines)  # "it 's a truth ." -> "it's a truth."
        if not prompt or prompt.endswith("\n") or not lines[0]:
            return prompt + text
        first = self.encoder.vocab.id_to_token(lines[0][0])
        glued = self.encoder.tokenizer.detokenize(["a", first]) == "a" + first  # no space before "." or "n't"
        return prompt + ("" if glued else " ") + text


def evaluate_lm_dir(directory: Path, split: str = "test") -> dict[str, Any]:
    """Perplexity / bits per token of a language-model directory on a split of its corpus."""
    generator = LMGenerator(directory)
    opts = LMOptions(**generator.config["options"])
    corpus = load_corpus(opts.data)
    task = LanguageModelTask({split: encode_stream(generator.encoder, getattr(corpus, split))}, bptt=opts.bptt,
                             batch_size=opts.batch_size, seed=0, level=generator.config["level"])
    return task.evaluate(generator.model, split, generator.device)
