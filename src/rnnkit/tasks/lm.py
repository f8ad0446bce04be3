"""Language modelling: predict the next token, trained with truncated BPTT over a long text.

Word level (Jane Austen: perplexity) or character level (Shakespeare: bits per character), next to
the lecture's previous-word (bigram) and unigram baselines evaluated on the same token streams.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

from rnnkit.data.open import open_data
from rnnkit.data.splits import TextCorpus
from rnnkit.data.tokenstream import prepare_text
from rnnkit.files import write_json
from rnnkit.models import LanguageModel, model_spec
from rnnkit.models.ngram import baseline_report
from rnnkit.nn.state import detach
from rnnkit.ranges import check
from rnnkit.tasks.base import App, Predictor, Prepared, Run, one_or_many
from rnnkit.tasks.options import RecurrentOptions, default
from rnnkit.text import EOS, SPECIALS, TextEncoder
from rnnkit.tracing import trace_ids
from rnnkit.train.task import Task

# Sampling defaults of `rnnkit generate` and LMPredictor.generate (one source for both).
LENGTH = 200  # tokens to generate (characters or words)
TEMPERATURE = 0.8  # < 1 sharpens the next-token distribution, > 1 flattens it
TOP_K: int | None = None  # sample among the k most probable tokens only (None: all)
MAX_LENGTH = 100_000  # most tokens one `generate` writes
MAX_PROMPT_TOKENS = 10_000  # longest prompt, in tokens (a longer one is an error, not a silent cut)
MAX_TEMPERATURE = 100.0  # beyond it sampling is uniform in all but name
MIN_TEMPERATURE = 0.001  # below it sampling is greedy in all but name, and logits / T overflow towards inf


@dataclass
class LMOptions(RecurrentOptions):
    """What to train (the ``rnnkit train lm`` flags); the recurrent stack's options are
    :class:`~rnnkit.tasks.options.RecurrentOptions` (a language model reads left to right only)."""

    data: str = field(default="austen", metadata={"help": "registry name (austen, shakespeare, …), a .txt file, "
                                                          "or a WikiText folder"})
    tokenizer: str = field(default="auto", metadata={"choices": ("auto", "word", "char", "bpe"),
                                                     "help": "auto: the corpus's natural level"})
    lowercase: bool = field(default=True, metadata={"help": "word level only"})
    min_freq: int = field(default=3, metadata={"help": "word level: rarer words become <unk>"})
    embed_dim: int = 256
    hidden_size: int = default("hidden_size", 512)
    embed_dropout: float = 0.1
    tie_weights: bool = field(default=False, metadata={"help": "share the embedding matrix with the output layer "
                                                               "(needs --embed-dim equal to the state size)"})
    bptt: int = field(default=64, metadata={"help": "truncated-BPTT window (steps)"})
    batch_size: int = field(default=32, metadata={"help": "parallel streams"})


def load_corpus(source: str) -> TextCorpus:
    """A registered corpus (austen, shakespeare, …), a text file or a WikiText folder
    (:func:`rnnkit.data.open_data`)."""
    return open_data(source, "lm")


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
    if encoder.tokenizer.kind == "char":
        return torch.tensor(encoder.ids([text])[0], dtype=torch.long)
    ids: list[int] = []
    for line_ids in encoder.ids([line for line in text.split("\n") if line.strip()]):
        ids.extend(line_ids)
        ids.append(EOS)
    return torch.tensor(ids, dtype=torch.long)


def _streams(ids: np.ndarray, n: int) -> np.ndarray:
    """Cut (N,) into n parallel streams (n, N // n), dropping the remainder (as word_language_model); a view,
    so a memory-mapped stream stays on disk."""
    length = len(ids) // n
    if length < 2:
        raise ValueError(f"the text is too short for {n} streams: {len(ids)} tokens")
    return ids[: n * length].reshape(n, length)


def _window(data: np.ndarray, start: int, stop: int) -> Tensor:
    """Columns [start, stop) of the streams (n, L) as an int64 tensor (n, stop - start), read from the map."""
    return torch.from_numpy(np.ascontiguousarray(data[:, start:stop], dtype=np.int64))


class Windows(Sequence[tuple[Tensor, Tensor]]):
    """The training batches of one epoch, read from the streams when asked for: batch i is
    (x, y) = columns [iT, iT + T) and [iT + 1, iT + 1 + T) of ``data`` (B, L)."""

    def __init__(self, data: np.ndarray, bptt: int) -> None:
        self.data, self.bptt = data, bptt
        self.count = len(range(0, data.shape[1] - 1 - bptt + 1, bptt))

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        if not 0 <= i < self.count:
            raise IndexError(i)
        start = i * self.bptt
        return _window(self.data, start, start + self.bptt), _window(self.data, start + 1, start + 1 + self.bptt)


def check_bptt(tokens: int, bptt: int, batch_size: int) -> None:
    """Refuse a ``--bptt`` window that the training text cannot fill: after an epoch's offset (< bptt) it is cut
    into ``batch_size`` streams, each of which must hold one window and its next token."""
    if tokens - bptt < batch_size * (bptt + 1):
        longest = (tokens - batch_size) // (batch_size + 1)
        advice = f"use --bptt {longest} or less" if longest >= 1 else "use a longer text or a smaller --batch-size"
        raise ValueError(f"--bptt {bptt} exceeds the corpus: its training text has {tokens:,} tokens, cut into "
                         f"{batch_size} streams (--batch-size) of at least --bptt + 1 tokens each; {advice}")


class LanguageModelTask(Task):
    """Cross-entropy of the next token; windows of ``bptt`` steps, state carried (detached) between them.

    Each epoch shifts the window boundaries by a seeded offset, so windows differ between epochs while
    the batches stay a function of (seed, epoch) — the loop's condition for an exact resume."""

    name = "lm"
    higher_is_better = False

    def __init__(self, streams: dict[str, np.ndarray | Tensor], *, bptt: int, batch_size: int, seed: int,
                 level: str) -> None:
        streams = {s: v.numpy() if isinstance(v, Tensor) else v for s, v in streams.items()}
        self.ids, self.bptt, self.batch_size, self.seed, self.level = streams, bptt, batch_size, seed, level
        self.metric = "bits_per_char" if level == "char" else "perplexity"
        self._state = None

    def train_batches(self, epoch: int, rank: int = 0, world: int = 1) -> Windows:
        offset = int(hashlib.sha256(f"{self.seed}:{epoch}".encode()).hexdigest(), 16) % self.bptt
        return Windows(_streams(self.ids["train"][offset:], self.batch_size * world)[rank::world], self.bptt)

    def start_epoch(self, epoch: int) -> None:
        self._state = None

    def loss(self, model, batch, device) -> tuple[Tensor, int]:
        x, y = (t.to(device) for t in batch)
        logits, state = model(x, self._state)
        self._state = detach(state)
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
        data = _streams(self.ids[split], 10)
        state, total, count = None, 0.0, 0
        for i in range(0, data.shape[1] - 1, self.bptt):
            y = _window(data, i + 1, i + 1 + self.bptt).to(device)
            x = _window(data, i, i + y.shape[1]).to(device)
            logits, state = model(x, state)
            flat = logits.float().reshape(-1, logits.shape[-1])
            total += F.cross_entropy(flat, y.reshape(-1), reduction="sum").item()
            count += y.numel()
        nll = total / count
        report = {"loss": nll, "perplexity": math.exp(nll), "bits_per_token": nll / math.log(2), "tokens": count}
        if self.metric == "bits_per_char":  # a token is a character
            report["bits_per_char"] = report["bits_per_token"]
        return report


def streams_on_disk(opts: LMOptions) -> bool:
    """A text file at word or character level is tokenised once into memory-mapped streams
    (:mod:`rnnkit.data.tokenstream`); registered corpora, WikiText folders and BPE are read whole."""
    return Path(opts.data).is_file() and opts.tokenizer != "bpe"


@dataclass
class Corpus:
    """A corpus as a language model reads it: the id stream (N,) of each split, and where they came from."""

    name: str
    level: str
    split: dict[str, Any]
    streams: dict[str, np.ndarray]
    encoder: TextEncoder
    directory: Path | None = None  # the prepared streams' folder in the cache (None: read whole)


def token_streams(opts: LMOptions, encoder: TextEncoder | None = None,
                  log: Callable[[str], None] = print) -> Corpus:
    """The splits of ``opts.data`` as id streams, with ``encoder`` (a trained model's) or a vocabulary fitted
    on the training split."""
    if streams_on_disk(opts):
        prepared = prepare_text(opts.data, tokenizer=opts.tokenizer, lowercase=opts.lowercase,
                                min_freq=opts.min_freq, encoder=encoder, log=log)
        streams = {s: prepared.ids(s) for s in ("train", "val", "test")}
        return Corpus(opts.data, prepared.meta["kind"], prepared.split, streams,
                      prepared.encoder() if encoder is None else encoder, prepared.directory)
    corpus = load_corpus(opts.data)
    encoder = build_encoder(opts, corpus) if encoder is None else encoder
    streams = {s: encode_stream(encoder, getattr(corpus, s)).numpy() for s in ("train", "val", "test")}
    return Corpus(corpus.name, level_of(opts, corpus), corpus.split, streams, encoder)


BASELINES_FILE = "baselines.json"  # beside prepared token streams: counted once, like the streams


def baselines_of(corpus: Corpus) -> dict[str, dict[str, float]]:
    """The n-gram baselines of the corpus's streams (:func:`baseline_report`); for streams prepared on disk,
    counted once and kept in their folder (they are a function of its ids)."""
    saved = corpus.directory / BASELINES_FILE if corpus.directory is not None else None
    if saved is not None and saved.is_file():
        return json.loads(saved.read_text(encoding="utf-8"))
    streams = corpus.streams
    report = baseline_report(streams["train"], streams["val"], streams["test"], len(corpus.encoder.vocab))
    if saved is not None:
        write_json(saved, report)
    return report


def prepare(run: Run) -> Prepared:
    """Corpus → tokenizer → id streams (and, on a new run, the n-gram baselines) → the LM's spec."""
    opts = run.options
    saved = run.saved
    corpus = token_streams(opts, TextEncoder.from_config(saved["text"], run.directory) if saved else None, run.log)
    encoder, streams = corpus.encoder, corpus.streams
    level = saved["level"] if saved else corpus.level
    if saved:
        baselines = saved["baselines"]
    else:
        run.log(f"{corpus.name}: {level} level, vocabulary {len(encoder.vocab):,}, tokens "
                f"{ {s: len(v) for s, v in streams.items()} }")
        baselines = baselines_of(corpus)
        for name, b in baselines.items():
            run.log(f"  baseline {name}: test perplexity {b['test_perplexity']:.1f}, "
                    f"{b['test_bits_per_token']:.3f} bits/token")
    spec = model_spec(LanguageModel, vocab_size=len(encoder.vocab), tie_weights=opts.tie_weights,
                      **opts.encoder_kwargs())
    check_bptt(len(streams["train"]), opts.bptt, opts.batch_size)
    task = LanguageModelTask(streams, bptt=opts.bptt, batch_size=opts.batch_size, seed=run.train.seed, level=level)
    return Prepared(
        spec=spec, task=task,
        artifacts=lambda directory: {"text": encoder.save(directory), "level": level, "baselines": baselines},
        metadata={"data": corpus.name, "level": level, "split": corpus.split, "cell": opts.cell,
                  "baselines": baselines},
        summary=lambda model: f"model: {opts.cell} LM, {sum(p.numel() for p in model.parameters()):,} parameters")


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


class LMPredictor(Predictor):
    """A trained language model directory that writes text and shows its next-token distribution."""

    def load_artifacts(self) -> None:
        self.encoder = TextEncoder.from_config(self.config["text"], self.directory)

    def _prompt_ids(self, prompt: str) -> Tensor:
        """The prompt as ids (1, N): its last line continues (no ``<eos>`` after it); empty: ``<eos>`` alone."""
        check("prompt", prompt, "str")
        ids = encode_stream(self.encoder, prompt) if prompt else torch.tensor([EOS])
        if self.config["level"] != "char" and ids.numel() and not prompt.endswith("\n") and ids[-1] == EOS:
            ids = ids[:-1]
        if ids.numel() == 0:
            ids = torch.tensor([EOS])
        if ids.numel() > MAX_PROMPT_TOKENS:
            raise ValueError(f"the prompt has {ids.numel()} tokens; a language model takes at most "
                             f"{MAX_PROMPT_TOKENS}: give its last part")
        return ids.view(1, -1).to(self.device)

    @staticmethod
    def _sampled(scores: Tensor) -> Tensor:
        """Scores (V,) with the special tokens the model never writes (all but ``<eos>``) at -inf."""
        specials = torch.arange(len(SPECIALS))
        keep = torch.where(specials == EOS, scores[: len(SPECIALS)], torch.full((len(SPECIALS),), float("-inf")))
        return torch.cat([keep, scores[len(SPECIALS):]])

    def trace(self, prompt: str | Sequence[str]) -> Any:
        """The gates of every layer per token of ``prompt``, as :meth:`next_tokens` reads it
        (:class:`rnnkit.tracing.GateTrace`; a list for a list of prompts)."""
        prompts, single = one_or_many(prompt, "prompt")
        traces = [trace_ids(self.model, self.encoder.vocab, self._prompt_ids(text)) for text in prompts]
        return traces[0] if single else traces

    def next_tokens(self, prompt: str | Sequence[str], k: int = 10) -> list[dict[str, Any]] | list[list[dict]]:
        """The ``k`` most probable next tokens after ``prompt``, ``{"token", "prob"}`` each, most probable first,
        from the distribution :meth:`generate` samples at temperature 1 (``<eos>`` is a line break): the shape
        ``POST /api/next_tokens`` and ``rnnkit inspect --json`` give too. A list of prompts → one such list per
        prompt, from one batched forward pass."""
        check("k", k, "int", (1, None))
        return self.pipeline(prompt, "prompt", k=k)

    def preprocess(self, prompts: list[str], **_: Any) -> list[Tensor]:
        """Prompts → their ids (N_i,) each (:meth:`_prompt_ids`)."""
        return [self._prompt_ids(prompt)[0] for prompt in prompts]

    @torch.no_grad()
    def forward(self, ids: list[Tensor], **_: Any) -> Tensor:
        """The next-token distribution (B, V) after each prompt, the specials the model never writes at 0: the
        prompts padded at the end into one batch (B, T), read at each one's last step (a causal model's earlier
        steps do not see the padding)."""
        lengths = torch.tensor([len(x) for x in ids])
        padded = torch.zeros(len(ids), int(lengths.max()), dtype=torch.long, device=self.device)
        for b, x in enumerate(ids):
            padded[b, : len(x)] = x
        logits, _ = self.model(padded)
        last = logits[torch.arange(len(ids)), lengths - 1].float().cpu()  # (B, V)
        return torch.stack([self._sampled(row).softmax(0) for row in last])

    def postprocess(self, ids: list[Tensor], probs: Tensor, *, k: int = 10, **_: Any) -> list[list[dict[str, Any]]]:
        """Each prompt's ``k`` most probable tokens (the masked specials are never among them)."""
        results = []
        for row in probs:
            top = row.topk(min(k, row.numel() - len(SPECIALS) + 1))
            tokens = [self.encoder.vocab.id_to_token(int(i)) for i in top.indices]
            results.append([{"token": token, "prob": float(p)} for token, p in zip(tokens, top.values, strict=True)])
        return results

    @torch.no_grad()
    def sample(self, prompt: str = "", length: int = LENGTH, *, temperature: float | None = TEMPERATURE,
               top_k: int | None = TOP_K, seed: int | None = None) -> Iterator[tuple[int, float]]:
        """Sample ``length`` tokens after ``prompt`` one at a time: yields (token id, its probability under the
        distribution it was drawn from: softmax(logits / temperature), cut to the top k; ``temperature`` None:
        :data:`TEMPERATURE`, ``top_k`` None: all tokens). :meth:`generate` joins them into text."""
        temperature = TEMPERATURE if temperature is None else temperature
        check("length", length, "int", (1, MAX_LENGTH))
        check("temperature", temperature, "float")
        if not MIN_TEMPERATURE <= temperature <= MAX_TEMPERATURE:
            raise ValueError(f"temperature must be in [{MIN_TEMPERATURE:g}, {MAX_TEMPERATURE:g}], got {temperature}")
        check("top_k", top_k, "int", (1, None), optional=True)
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        logits, state = self.model(self._prompt_ids(prompt))
        for _ in range(length):
            scores = logits[0, -1].float().cpu() / temperature
            if top_k:
                kth = scores.topk(min(top_k, scores.numel())).values[-1]
                scores = scores.masked_fill(scores < kth, float("-inf"))
            probs = self._sampled(scores).softmax(0)
            nxt = int(torch.multinomial(probs, 1, generator=gen))
            yield nxt, float(probs[nxt])
            logits, state = self.model(torch.tensor([[nxt]], device=self.device), state)

    def pieces(self, prompt: str = "", length: int = LENGTH, **sampling: Any) -> Iterator[tuple[int, str, float]]:
        """:meth:`sample` with each token written as text: yields (token id, its text, its probability); ``<eos>``
        is a line break. ``rnnkit serve`` streams these."""
        char_level = self.config["level"] == "char"
        for token, prob in self.sample(prompt, length, **sampling):
            if token == EOS:
                piece = "\n"
            elif char_level:
                piece = self.encoder.decode([token])
            else:
                piece = self.encoder.vocab.id_to_token(token)
            yield token, piece, prob

    def generate(self, prompt: str | Sequence[str] = "", length: int = LENGTH, *,
                 temperature: float | None = TEMPERATURE, top_k: int | None = TOP_K,
                 seed: int | None = None) -> str | list[str]:
        """Continue ``prompt`` by ``length`` sampled tokens (temperature, optional top-k): one prompt → one text,
        a list of prompts → a list of texts."""
        prompts, single = one_or_many(prompt, "prompt")
        texts = []
        for text in prompts:
            out = [i for i, _ in self.sample(text, length, temperature=temperature, top_k=top_k, seed=seed)]
            texts.append(self.continuation(text, out))
        return texts[0] if single else texts

    def continuation(self, prompt: str, out: list[int]) -> str:
        """``prompt`` continued by the sampled ids ``out``, written as text (``<eos>`` is a line break)."""
        level = self.config["level"]
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


def evaluate(predictor: LMPredictor, *, data: str | None = None, split: str = "test",
             beam: int | None = None) -> dict[str, Any]:
    """Perplexity / bits per token of a language model on a split of its corpus."""
    if data is not None:
        raise ValueError("a language model is evaluated on its own corpus (--split train|val|test); drop --data")
    opts = LMOptions(**predictor.config["options"])
    corpus = token_streams(opts, predictor.encoder)
    task = LanguageModelTask({split: corpus.streams[split]}, bptt=opts.bptt,
                             batch_size=opts.batch_size, seed=0, level=predictor.config["level"])
    return task.evaluate(predictor.model, split, predictor.device)


def show(report: dict[str, Any], split: str) -> str:
    return (f"{split}: perplexity {report['perplexity']:.2f}, {report['bits_per_token']:.3f} bits per token "
            f"on {report['tokens']:,} tokens")


APPS = (App(name="lm", config_keys=("text",), http=("generate", "next_tokens", "trace"),
            options=LMOptions, prepare=prepare, predictor=LMPredictor, evaluate=evaluate,
            describe=describe, show=show,
            help="next-token language model (default: Jane Austen, word level) with n-gram baselines"),)

__all__ = ["APPS", "LENGTH", "TEMPERATURE", "TOP_K", "LMOptions", "LMPredictor", "LanguageModelTask", "load_corpus"]
