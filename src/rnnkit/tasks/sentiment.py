"""Sentiment classification (many-to-one): text → label, with a recurrent classifier or bag-of-words.

The recurrent model reads the words in order; the bag-of-words baseline (the lecture's Idea 2) sees
only their counts. Both are trained and evaluated by the same loop on the same split.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch.nn import functional as F

from rnnkit.data import TextClassificationData, load_text_classification
from rnnkit.metrics.classification import evaluate_classifier
from rnnkit.models import BagOfWordsClassifier, RecurrentClassifier, build_model, model_spec
from rnnkit.nn import CELLS
from rnnkit.tasks.base import Task
from rnnkit.text import Batch, BucketBatchSampler, EncodedDataset, PadCollator, TextEncoder
from rnnkit.train.checkpoint import CONFIG, WEIGHTS, ModelDirError, load_weights, new_config, read_config, write_json
from rnnkit.train.loop import TrainConfig, fit, new_run, resumed_run

MODEL_CHOICES = (*CELLS, "bow")


@dataclass
class SentimentOptions:
    """What to train: data, text processing and model (the ``rnnkit train sentiment`` flags)."""

    data: str = field(default="rt-polarity", metadata={"help": "registry name (see `rnnkit data list`) or a "
                                                               "CSV/TSV/JSONL file, aclImdb or SST-2 folder"})
    text_col: str | None = field(default=None, metadata={"help": "text column of a CSV/TSV/JSONL file"})
    label_col: str | None = field(default=None, metadata={"help": "label column of a CSV/TSV/JSONL file"})
    model: str = field(default="lstm", metadata={"choices": MODEL_CHOICES,
                                                 "help": "a recurrent cell, or bow (bag-of-words logistic regression)"})
    tokenizer: str = field(default="word", metadata={"choices": ("word", "char", "bpe")})
    lowercase: bool = True
    min_freq: int = field(default=2, metadata={"help": "rarer words become <unk>"})
    max_len: int | None = field(default=None, metadata={"help": "truncate longer texts (with a warning)"})
    embed_dim: int = 128
    hidden_size: int = 256
    layers: int = 1
    bidirectional: bool = False
    pooling: str = field(default="max", metadata={"choices": ("last", "mean", "max", "concat")})
    dropout: float = 0.5
    embed_dropout: float = 0.3
    bigrams: bool = field(default=False, metadata={"help": "bow only: add bigram features"})
    batch_size: int = 32
    split_seed: int = field(default=13, metadata={"help": "seed of the train/val/test split"})
    init_from: str | None = field(default=None, metadata={
        "help": "a language-model directory (rnnkit train lm) whose embedding and encoder initialise the "
                "classifier; its vocabulary, cell and sizes are used"})


class TextClassificationTask(Task):
    """Cross-entropy on class logits; accuracy selects the best epoch."""

    name = "sentiment"
    metric = "accuracy"

    def __init__(self, splits: dict[str, EncodedDataset], labels: Sequence[str], *, batch_size: int, seed: int) -> None:
        self.splits, self.labels = splits, list(labels)
        self.batch_size, self.seed = batch_size, seed
        self.collate = PadCollator()
        self._epoch_cache: tuple[tuple[int, int, int], list[Batch]] | None = None
        self._eval_cache: dict[str, list[Batch]] = {}

    def train_batches(self, epoch: int, rank: int = 0, world: int = 1) -> list[Batch]:
        key = (epoch, rank, world)
        if self._epoch_cache is None or self._epoch_cache[0] != key:
            data = self.splits["train"]
            sampler = BucketBatchSampler(data.lengths, self.batch_size, shuffle=True, seed=self.seed,
                                         num_replicas=world, rank=rank)
            sampler.set_epoch(epoch)
            self._epoch_cache = (key, [self.collate([data[i] for i in b]) for b in sampler])
        return self._epoch_cache[1]

    def loss(self, model: torch.nn.Module, batch: Batch, device: torch.device) -> tuple[torch.Tensor, int]:
        b = batch.to(device)
        return F.cross_entropy(model(b.tokens, b.lengths).float(), b.labels), int(b.lengths.sum())

    def eval_batches(self, split: str) -> list[Batch]:
        if split not in self._eval_cache:
            data = self.splits[split]
            sampler = BucketBatchSampler(data.lengths, 256, shuffle=False)
            self._eval_cache[split] = [self.collate([data[i] for i in b]) for b in sampler]
        return self._eval_cache[split]

    def evaluate(self, model: torch.nn.Module, split: str, device: torch.device) -> dict[str, Any]:
        return evaluate_classifier(model, self.eval_batches(split), self.labels, device,
                                   lambda b: (b.tokens, b.lengths))


def build_classifier(opts: SentimentOptions, vocab_size: int, num_classes: int) -> dict[str, Any]:
    """The model spec (class + kwargs) the options describe."""
    if opts.model == "bow":
        return model_spec(BagOfWordsClassifier, vocab_size=vocab_size, num_classes=num_classes)
    return model_spec(RecurrentClassifier, vocab_size=vocab_size, num_classes=num_classes, cell=opts.model,
                      embed_dim=opts.embed_dim, hidden_size=opts.hidden_size, num_layers=opts.layers,
                      bidirectional=opts.bidirectional, pooling=opts.pooling, dropout=opts.dropout,
                      embed_dropout=opts.embed_dropout)


def bigram_keys(train: EncodedDataset, vocab_size: int, min_freq: int = 2) -> torch.Tensor:
    """Keys a*V+b of the word bigrams seen at least ``min_freq`` times in the training split."""
    counts = Counter(a * vocab_size + b for ids in train.ids for a, b in zip(ids[:-1], ids[1:], strict=True))
    return torch.tensor(sorted(k for k, n in counts.items() if n >= min_freq), dtype=torch.long)


def load_data(opts: SentimentOptions) -> TextClassificationData:
    return load_text_classification(opts.data, text_col=opts.text_col, label_col=opts.label_col, seed=opts.split_seed)


def encode_splits(encoder: TextEncoder, data: TextClassificationData) -> dict[str, EncodedDataset]:
    return {split: encoder.encode_dataset(getattr(data, split)) for split in ("train", "val", "test")}


def train_sentiment(opts: SentimentOptions, cfg: TrainConfig, out: Path, *, log=print) -> dict[str, Any]:
    """Train a new model into ``out`` (a model directory) and return its metrics."""
    out, ctx, log = new_run(out, cfg, log)
    data = load_data(opts)
    log(f"{data.name}: {data.sizes()} examples, labels {data.labels}, split {data.split.get('method')}")
    if not data.train or not data.val or not data.test:
        raise ValueError(f"{data.name} needs non-empty train, val and test splits, got {data.sizes()}")
    if opts.init_from:
        encoder, opts = pretrained_encoder(opts, log)
    else:
        encoder = TextEncoder.build([ex.text for ex in data.train], tokenizer=opts.tokenizer,
                                    lowercase=opts.lowercase, min_freq=opts.min_freq, max_len=opts.max_len)
    splits = encode_splits(encoder, data)
    torch.manual_seed(cfg.seed)
    spec = build_classifier(opts, len(encoder.vocab), data.num_labels)
    if opts.model == "bow" and opts.bigrams:
        keys = bigram_keys(splits["train"], len(encoder.vocab))
        spec["kwargs"]["num_bigrams"] = int(keys.numel())
        model = build_model(spec)
        if keys.numel():
            model.set_bigrams(keys)
        else:
            log("no word pair occurs twice in the training split: training without bigram features")
    else:
        model = build_model(spec)
    if opts.init_from:
        loaded = transfer_pretrained(model, Path(opts.init_from))
        log(f"initialised {len(loaded)} tensors ({', '.join(sorted({k.split('.')[0] for k in loaded}))}) from "
            f"the language model in {opts.init_from}")
    if ctx.is_main:
        out.mkdir(parents=True, exist_ok=True)
        config = new_config("sentiment", model=spec, text=encoder.save(out), labels=data.labels,
                            options=asdict(opts), train=asdict(cfg))
        write_json(out / CONFIG, config)
    params = sum(p.numel() for p in model.parameters())
    log(f"model: {opts.model}, {params:,} parameters, vocabulary {len(encoder.vocab):,}")
    return _fit(model, data, splits, opts, cfg, out, resume=False, log=log)


def pretrained_encoder(opts: SentimentOptions, log) -> tuple[TextEncoder, SentimentOptions]:
    """The vocabulary and model sizes of the language model in ``opts.init_from``."""
    if opts.model == "bow":
        raise ValueError("--init-from initialises a recurrent classifier; it does not apply to --model bow")
    directory = Path(opts.init_from)
    config = read_config(directory, task="lm")
    kw = config["model"]["kwargs"]
    pretrained = replace(opts, model=kw["cell"], embed_dim=kw["embed_dim"], hidden_size=kw["hidden_size"],
                         layers=kw["num_layers"])
    if pretrained != opts:
        log(f"using the language model's cell {kw['cell']}, embedding {kw['embed_dim']}, hidden {kw['hidden_size']}, "
            f"{kw['num_layers']} layer(s)")
    return TextEncoder.from_config(config["text"], directory), pretrained


def transfer_pretrained(model: torch.nn.Module, lm_directory: Path) -> list[str]:
    """Copy the language model's ``embedding.*`` and ``encoder.*`` tensors into ``model`` where names and
    shapes match (a bidirectional classifier gets the forward direction; the reverse one stays random)."""
    from safetensors.torch import load_file

    lm_state = load_file(str(Path(lm_directory) / WEIGHTS))
    own = model.state_dict()
    loaded = [k for k, v in own.items() if k.split(".")[0] in ("embedding", "encoder") and k in lm_state
              and lm_state[k].shape == v.shape]
    if not loaded:
        raise ModelDirError(f"{lm_directory} shares no embedding/encoder tensors with this classifier")
    model.load_state_dict({**own, **{k: lm_state[k] for k in loaded}})
    return loaded


def resume_sentiment(out: Path, *, log=print, **overrides: Any) -> dict[str, Any]:
    """Continue a killed ``train_sentiment`` run from its directory, with the settings it was started with."""
    out = Path(out)
    config = read_config(out, task="sentiment")
    opts, cfg, log = resumed_run(config, SentimentOptions, overrides, log)
    encoder = TextEncoder.from_config(config["text"], out)
    data = load_data(opts)
    model = build_model(config["model"])
    return _fit(model, data, encode_splits(encoder, data), opts, cfg, out, resume=True, log=log)


def _fit(model, data, splits, opts, cfg, out, *, resume, log) -> dict[str, Any]:
    task = TextClassificationTask(splits, data.labels, batch_size=opts.batch_size, seed=cfg.seed)
    started = time.time()
    result = fit(model, task, cfg, out, resume=resume, log=log,
                 metadata={"data": data.name, "sizes": data.sizes(), "split": data.split, "model": opts.model,
                           "parameters": sum(p.numel() for p in model.parameters()),
                           "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    result.setdefault("wall_seconds", round(time.time() - started, 1))
    return result


class SentimentPredictor:
    """A trained sentiment model directory, ready to label texts."""

    def __init__(self, directory: Path, device: str = "cpu") -> None:
        self.directory = Path(directory)
        self.config = read_config(self.directory, task="sentiment")
        self.encoder = TextEncoder.from_config(self.config["text"], self.directory)
        self.labels: list[str] = self.config["labels"]
        self.model = build_model(self.config["model"])
        load_weights(self.model, self.directory)
        self.device = torch.device(device)
        self.model.to(self.device).eval()

    @torch.no_grad()
    def predict(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        """Label and probabilities for each text; an empty text raises ValueError naming its position."""
        encoded = []
        for i, text in enumerate(texts):
            try:
                encoded.append(self.encoder.encode(text))
            except ValueError:
                raise ValueError(f"input {i + 1} is empty: give a text with at least one word") from None
        results = []
        for start in range(0, len(encoded), 256):
            batch = PadCollator()(encoded[start:start + 256]).to(self.device)
            probs = torch.softmax(self.model(batch.tokens, batch.lengths).float(), dim=1).cpu()
            for j, p in enumerate(probs):
                k = int(p.argmax())
                ids = encoded[start + j]
                unknown = sum(1 for t in ids if t == self.encoder.vocab.token_to_id("<unk>"))
                results.append({"text": texts[start + j], "label": self.labels[k], "probability": float(p[k]),
                                "probabilities": dict(zip(self.labels, map(float, p), strict=True)),
                                "tokens": len(ids), "unknown_tokens": unknown})
        return results

    def evaluate(self, data: TextClassificationData, split: str = "test") -> dict[str, Any]:
        """Metrics on one split of ``data`` (labels must be the model's labels)."""
        examples = split_examples(data, split, self.labels)
        task = TextClassificationTask({split: self.encoder.encode_dataset(examples)}, self.labels,
                                      batch_size=256, seed=0)
        return task.evaluate(self.model, split, self.device)


def split_examples(data: TextClassificationData, split: str, labels: Sequence[str]) -> list:
    """The examples of one split, refusing a dataset whose labels are not the model's, or an empty split."""
    if list(data.labels) != list(labels):
        raise ValueError(f"{data.name} has labels {data.labels}, the model predicts {list(labels)}")
    examples = getattr(data, split)
    if not examples:
        raise ValueError(f"{data.name} has no {split} examples")
    return examples


def evaluate_dir(directory: Path, data_name: str | None = None, split: str = "test") -> dict[str, Any]:
    """Evaluate a model directory on its own test split, or on another dataset's."""
    predictor = SentimentPredictor(directory)
    opts = SentimentOptions(**predictor.config["options"])
    if data_name is not None:
        opts.data = data_name
    report = predictor.evaluate(load_data(opts), split)
    report["data"] = opts.data
    return report


def describe(result: dict[str, Any]) -> str:
    """One-paragraph summary of a run's metrics for the terminal."""
    test = result["test"]
    cm = test["confusion"]
    lines = [f"test accuracy {test['accuracy']:.4f}, macro-F1 {test['macro_f1']:.4f} on {test['n']} examples "
             f"(best val accuracy {result['best_val']['accuracy']:.4f} at epoch {result['best_val']['epoch']}, "
             f"{result['train_seconds']:.0f} s training)"]
    width = max(len(n) for n in cm["labels"])
    lines.append("confusion (rows: true, columns: predicted):")
    lines.append(" " * (width + 2) + "  ".join(f"{n:>{width}}" for n in cm["labels"]))
    for name, row in zip(cm["labels"], cm["matrix"], strict=True):
        lines.append(f"  {name:>{width}}" + "".join(f"  {v:>{width}}" for v in row))
    return "\n".join(lines)


__all__ = ["SentimentOptions", "SentimentPredictor", "TextClassificationTask", "describe", "evaluate_dir",
           "resume_sentiment", "train_sentiment"]
