"""Sentiment classification (many-to-one): text → label, with a recurrent classifier or bag-of-words.

The recurrent model (``--model recurrent``, its cell chosen by ``--cell``) reads the words in order; the
bag-of-words baseline (``--model bow``, the lecture's Idea 2) sees only their counts. Both are trained and
evaluated by the same loop on the same split, with the one
:class:`~rnnkit.tasks.classify.ClassificationTask`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from rnnkit.data import TextClassificationData, load_text_classification
from rnnkit.data.own import align_labels, parse_label_map
from rnnkit.data.rowstream import STREAM_BYTES, load_rows, streams_rows
from rnnkit.metrics.classification import classification_report
from rnnkit.models import BagOfWordsClassifier, RecurrentClassifier, model_spec
from rnnkit.models.classifier import POOLINGS
from rnnkit.nn import CELLS
from rnnkit.tasks.base import App, EncodedTexts, Predictor, Prepared, Run, one_or_many
from rnnkit.tasks.classify import ClassificationTask, check_split, describe, labelled, show, show_label
from rnnkit.tasks.options import EncoderOptions, default
from rnnkit.text import UNK, Batch, BigramVocab, EmptyTextError, EncodedDataset, PadCollator, TextEncoder
from rnnkit.tracing import trace_texts
from rnnkit.train.checkpoint import WEIGHTS, ModelDirError, read_config

MODEL_CHOICES = ("recurrent", "bow")
DEFAULT_DATA = "rt-polarity"


@dataclass
class SentimentOptions(EncoderOptions):
    """What to train: data, text processing and model (the ``rnnkit train sentiment`` flags); the recurrent
    encoder's options are :class:`~rnnkit.tasks.options.EncoderOptions`.

    Model directories written before ``--cell`` existed saved ``"model": "lstm"`` (a cell name); such a
    value is read as ``model="recurrent", cell="lstm"``."""

    data: str | None = field(default="rt-polarity", metadata={"help": "registry name (see `rnnkit data list`) or "
                                                                      "a CSV/TSV/JSONL file, aclImdb or SST-2 folder"})
    train: str | None = field(default=None, metadata={"help": "your own training file (CSV/TSV/JSONL, SST-2 TSV, "
                                                              "aclImdb split folder) instead of --data"})
    val: str | None = field(default=None, metadata={"help": "validation file (None: 1/10 of --train, seeded, "
                                                            "stratified)"})
    test: str | None = field(default=None, metadata={"help": "test file (None: 1/10 of --train, seeded, "
                                                             "stratified)"})
    text_col: str | None = field(default=None, metadata={"help": "text column of a CSV/TSV/JSONL file "
                                                                 "(None: the column named text)"})
    label_col: str | None = field(default=None, metadata={"help": "label column of a CSV/TSV/JSONL file "
                                                                  "(None: the column named label)"})
    model: str = field(default="recurrent", metadata={
        "choices": MODEL_CHOICES, "help": "recurrent: embedding + the --cell RNN + pooling; bow: bag-of-words "
                                          "logistic regression (the lecture's Idea 2)",
        "deprecated": (tuple(CELLS), "--model {value} is deprecated: it means --model recurrent --cell {value}")})
    tokenizer: str = field(default="word", metadata={"choices": ("word", "char", "bpe")})
    lowercase: bool = True
    min_freq: int = field(default=2, metadata={"help": "rarer words become <unk>"})
    max_len: int | None = field(default=None, metadata={"help": "truncate longer texts (with a warning)"})
    embed_dim: int = 128
    pooling: str = field(default="max", metadata={"choices": POOLINGS})
    dropout: float = default("dropout", 0.5)
    embed_dropout: float = 0.3
    bigrams: bool = field(default=False, metadata={"help": "bow only: add bigram features"})
    batch_size: int = 32
    split_seed: int = field(default=13, metadata={"help": "seed of the train/val/test split"})
    init_from: str | None = field(default=None, metadata={
        "help": "a language-model directory (rnnkit train lm) whose embedding and encoder initialise the "
                "classifier; its vocabulary, cell and sizes are used"})

    def __post_init__(self) -> None:
        if self.train is not None and self.data == DEFAULT_DATA:  # --train replaces the default dataset
            self.data = None
        if self.model in CELLS:  # the old `--model CELL` (format of model directories before --cell)
            self.cell, self.model = self.model, "recurrent"
        if self.model not in MODEL_CHOICES:
            raise ValueError(f"model must be one of {', '.join(MODEL_CHOICES)} (the cell is --cell), "
                             f"got {self.model!r}")
        super().__post_init__()

    @property
    def kind(self) -> str:
        """``bow`` or the recurrent cell's name (for run names and logs)."""
        return "bow" if self.model == "bow" else self.cell


def build_classifier(opts: SentimentOptions, vocab_size: int, num_classes: int) -> dict[str, Any]:
    """The model spec (class + kwargs) the options describe."""
    if opts.model == "bow":
        return model_spec(BagOfWordsClassifier, vocab_size=vocab_size, num_classes=num_classes)
    return model_spec(RecurrentClassifier, vocab_size=vocab_size, num_classes=num_classes, **opts.encoder_kwargs())


def text_task(splits: dict[str, EncodedDataset], labels: Sequence[str], *, batch_size: int,
              seed: int) -> ClassificationTask:
    """The classification task on token ids: ``model(tokens, lengths)``, throughput counted in tokens."""
    return ClassificationTask(splits, labels, batch_size=batch_size, seed=seed, collate=PadCollator(),
                              inputs=_token_inputs, count_steps=True)


def _token_inputs(batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    return batch.tokens, batch.lengths


def bigram_keys(train: EncodedDataset, vocab_size: int, min_freq: int = 2) -> torch.Tensor:
    """Keys a*V+b of the word bigrams seen at least ``min_freq`` times in the training split (the lecture's
    bigram features, :class:`rnnkit.text.features.BigramVocab`)."""
    return BigramVocab.build(train.ids, min_freq=min_freq).keys(vocab_size)


def streamed_file(opts: SentimentOptions) -> bool:
    """A labelled file (CSV/TSV/JSONL) of :data:`STREAM_BYTES` or more is tokenised once into a map on disk and
    read a row at a time (:mod:`rnnkit.data.rowstream`); smaller files, folders and registry names are read
    whole. An SST-2 TSV (recognised by its header) is read whole."""
    if not opts.data or opts.train or opts.val or opts.test or not streams_rows(opts.data):
        return False
    if opts.text_col is None and Path(opts.data).suffix.lower() == ".tsv":
        with open(opts.data, "rb") as f:
            return f.readline().split(b"\t")[:1] != [b"sentence"]
    return True


def load_data(opts: SentimentOptions) -> TextClassificationData:
    return load_text_classification(opts.data, text_col=opts.text_col, label_col=opts.label_col, seed=opts.split_seed,
                                    train=opts.train, val=opts.val, test=opts.test)


def encode_splits(encoder: TextEncoder, data: TextClassificationData) -> dict[str, EncodedDataset]:
    return {split: encoder.encode_dataset(getattr(data, split)) for split in ("train", "val", "test")}


def prepare(run: Run) -> Prepared:
    """Data → vocabulary → encoded splits → the classifier's spec (bigram keys, pretrained encoder)."""
    opts, log = run.options, run.log
    streamed = streamed_file(opts)
    data = None if streamed else load_data(opts)
    encoder = None
    if run.saved is not None:
        encoder = TextEncoder.from_config(run.saved["text"], run.directory)
    elif opts.init_from:
        encoder, opts = pretrained_encoder(opts, log)
    if streamed:
        if opts.model == "bow" and opts.bigrams:
            raise ValueError(f"--bigrams counts word pairs in memory: a file of {STREAM_BYTES >> 20} MiB or more "
                             "is not held there; train --model bow without --bigrams, or --model recurrent")
        data, splits, encoder = load_rows(opts.data, text_col=opts.text_col, label_col=opts.label_col,
                                          seed=opts.split_seed, tokenizer=opts.tokenizer, lowercase=opts.lowercase,
                                          min_freq=opts.min_freq, max_len=opts.max_len, encoder=encoder, log=log)
    if run.saved is None:
        log(f"{data.name}: {data.sizes()} examples, labels {data.labels}, split {data.split.get('method')}")
        if not data.train or not data.val or not data.test:
            raise ValueError(f"{data.name} needs non-empty train, val and test splits, got {data.sizes()}")
    if encoder is None:
        encoder = TextEncoder.build([ex.text for ex in data.train], tokenizer=opts.tokenizer,
                                    lowercase=opts.lowercase, min_freq=opts.min_freq, max_len=opts.max_len)
    if not streamed:
        splits = encode_splits(encoder, data)
    spec = build_classifier(opts, len(encoder.vocab), data.num_labels)
    keys = None
    if opts.model == "bow" and opts.bigrams:
        keys = bigram_keys(splits["train"], len(encoder.vocab))
        spec["kwargs"]["num_bigrams"] = int(keys.numel())

    def setup(model: torch.nn.Module) -> None:
        if keys is not None and keys.numel():
            model.set_bigrams(keys)
        elif keys is not None:
            log("no word pair occurs twice in the training split: training without bigram features")
        if opts.init_from:
            loaded = transfer_pretrained(model, Path(opts.init_from))
            log(f"initialised {len(loaded)} tensors ({', '.join(sorted({k.split('.')[0] for k in loaded}))}) "
                f"from the language model in {opts.init_from}")

    return Prepared(
        spec=spec,
        task=text_task(splits, data.labels, batch_size=opts.batch_size, seed=run.train.seed),
        artifacts=lambda directory: {"text": encoder.save(directory), "labels": data.labels},
        metadata={"data": data.name, "sizes": data.sizes(), "split": data.split, "model": opts.kind},
        summary=lambda model: (f"model: {opts.kind}, {sum(p.numel() for p in model.parameters()):,} parameters, "
                               f"vocabulary {len(encoder.vocab):,}"),
        setup=setup, options=opts)


def pretrained_encoder(opts: SentimentOptions, log) -> tuple[TextEncoder, SentimentOptions]:
    """The vocabulary and model sizes of the language model in ``opts.init_from``."""
    if opts.model == "bow":
        raise ValueError("--init-from initialises a recurrent classifier; it does not apply to --model bow")
    directory = Path(opts.init_from)
    config = read_config(directory)
    if config["model"]["class"] != "LanguageModel":
        raise ModelDirError(f"{directory} holds a {config.get('task')!r} model; --init-from needs a language "
                            "model directory (rnnkit train lm)")
    kw = config["model"]["kwargs"]
    pretrained = replace(opts, cell=kw["cell"], embed_dim=kw["embed_dim"], hidden_size=kw["hidden_size"],
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


MAX_TOKENS = 10_000  # longest text `predict` labels, in tokens (memory and time grow with it)
MAX_TEXT_CHARS = 100 * MAX_TOKENS  # checked before tokenizing: no 10,000-token text is longer


class SentimentPredictor(Predictor):
    """A trained sentiment model directory, ready to label texts: ``SentimentPredictor(directory)`` or
    ``rnnkit.load(directory)``."""

    max_chars = MAX_TEXT_CHARS

    def load_artifacts(self) -> None:
        self.encoder = TextEncoder.from_config(self.config["text"], self.directory)
        self.labels: list[str] = self.config["labels"]

    def predict(self, texts: str | Sequence[str]) -> dict[str, Any] | list[dict[str, Any]]:
        """Label one text (→ one result) or a list of texts (→ a list): ``{"text", "tokens", "unknown_tokens",
        "label", "probability", "probs"}`` per text (``probs``: label → probability). An empty text, or one of
        more than :data:`MAX_TOKENS` tokens (or :data:`MAX_TEXT_CHARS` characters, checked before tokenizing),
        raises ValueError naming its position; a non-text, TypeError."""
        return self.pipeline(texts)

    def preprocess(self, texts: list[str], **_: Any) -> EncodedTexts:
        """Texts → their token ids; a text of more than :data:`MAX_TEXT_CHARS` characters is refused before
        it is tokenized."""
        for i, text in enumerate(texts):
            if isinstance(text, str) and len(text) > MAX_TEXT_CHARS:
                raise ValueError(f"input {i + 1} has {len(text):,} characters; a sentiment model labels at most "
                                 f"{MAX_TEXT_CHARS:,} at a time: cut the text, or label its parts")
        try:
            encoded = self.encoder.encode_batch(texts)
        except EmptyTextError as err:
            raise ValueError(f"input {err.index + 1} is empty: give a text with at least one word") from None
        for i, ids in enumerate(encoded):
            if len(ids) > MAX_TOKENS:
                raise ValueError(f"input {i + 1} has {len(ids)} tokens; a sentiment model labels at most "
                                 f"{MAX_TOKENS} at a time: cut the text, or label its parts")
        return EncodedTexts(texts, encoded)

    @torch.no_grad()
    def forward(self, batch: EncodedTexts, **_: Any) -> torch.Tensor:
        """Token ids of N texts → class probabilities (N, C), in batches of 256 padded texts."""
        probs = []
        for start in range(0, len(batch.ids), 256):
            padded = PadCollator()(batch.ids[start:start + 256]).to(self.device)
            probs.append(torch.softmax(self.model(padded.tokens, padded.lengths).float(), dim=1).cpu())
        return torch.cat(probs) if probs else torch.empty(0, len(self.labels))

    def postprocess(self, batch: EncodedTexts, probs: torch.Tensor, **_: Any) -> list[dict[str, Any]]:
        """Ids and probabilities (N, C) → one result per text (see :meth:`predict`)."""
        items = [{"text": text, "tokens": len(ids), "unknown_tokens": sum(1 for t in ids if t == UNK)}
                 for text, ids in zip(batch.texts, batch.ids, strict=True)]
        return labelled(self.labels, probs, items)

    def trace(self, texts: str | Sequence[str]) -> Any:
        """The gates of every layer and direction per token (:class:`rnnkit.tracing.GateTrace`; a list for a
        list of texts)."""
        return trace_texts(self.model, self.encoder, texts)

    def evaluate(self, data: TextClassificationData, split: str = "test") -> dict[str, Any]:
        """Metrics on one split of ``data`` (labels must be the model's)."""
        examples = split_examples(data, split, self.labels)
        task = text_task({split: self.encoder.encode_dataset(examples)}, self.labels, batch_size=256, seed=0)
        return task.evaluate(self.model, split, self.device)


def split_examples(data: TextClassificationData, split: str, labels: Sequence[str]) -> list:
    """The examples of one split, refusing a dataset whose labels are not the model's, or an empty split."""
    examples = data.part(split)
    check_split(data.name, data.labels, examples, split, labels)
    return examples


def evaluate(predictor: Any, *, data: str | None = None, split: str = "test", beam: int | None = None,
             label_map: str | None = None, text_col: str | None = None, label_col: str | None = None) -> dict:
    """A model (or an ensemble) on its own data's split, or on another dataset's (``data``, its columns
    ``text_col``/``label_col``); the data's labels are renamed by ``label_map`` (``"neg=negative,…"``) and
    put in the model's order (:func:`rnnkit.data.own.align_labels`)."""
    opts = SentimentOptions(**predictor.config["options"])
    if data is not None:
        opts = replace(opts, data=data, train=None, val=None, test=None)
    if text_col is not None or label_col is not None:
        opts = replace(opts, text_col=text_col or opts.text_col, label_col=label_col or opts.label_col)
    report = predictor.evaluate(align_labels(load_data(opts), predictor.labels, label_map), split)
    report["data"] = opts.data if opts.data is not None else opts.train
    if label_map:
        report["label_map"] = parse_label_map(label_map)
    return report


# Several trained sentiment models voting together: the mean of their class probabilities. Recurrent classifiers
# trained on ~10k snippets vary by ±1 point of accuracy from one seed to the next (initialisation and batch order);
# averaging the probabilities of a few of them removes much of that variance. Each member keeps its own vocabulary
# and tokenizer, so an LM-pretrained classifier and one trained from scratch can vote together; they must predict
# the same labels.

class SentimentEnsemble:
    """Model directories whose mean class probability is the prediction.

    ``probabilities(texts)`` is (M, N, C): member × text × class; ``predict`` averages over M."""

    def __init__(self, directories: Sequence[Path], device: str = "cpu") -> None:
        if not directories:
            raise ValueError("an ensemble needs at least one model directory")
        self.members = [SentimentPredictor(Path(d), device) for d in directories]
        self.labels = self.members[0].labels
        self.config = self.members[0].config  # the first member's data and split are the ensemble's
        for member in self.members[1:]:
            if member.labels != self.labels:
                raise ModelDirError(f"{member.directory} predicts {member.labels} but {self.members[0].directory} "
                                    f"predicts {self.labels}: an ensemble needs models with the same labels")

    def _member_results(self, texts: Sequence[str]) -> list[list[dict[str, Any]]]:
        return [member.predict(texts) for member in self.members]

    def _stack(self, results: list[list[dict[str, Any]]]) -> torch.Tensor:
        return torch.stack([torch.tensor([[r["probs"][name] for name in self.labels] for r in member])
                            for member in results])

    def probabilities(self, texts: Sequence[str]) -> torch.Tensor:
        """(M, N, C) class probabilities of every member for every text."""
        return self._stack(self._member_results(texts))

    def predict(self, texts: str | Sequence[str]) -> dict[str, Any] | list[dict[str, Any]]:
        """Label and mean probabilities of one text (→ one result) or a list (→ a list), as
        :meth:`SentimentPredictor.predict` gives them; ``tokens`` and ``unknown_tokens`` are those of the member
        that knows fewest of the words."""
        batch, single = one_or_many(texts)
        results = self._member_results(batch)
        items = []
        for i, text in enumerate(batch):
            worst = max((member[i] for member in results), key=lambda r: r["unknown_tokens"])
            items.append({"text": text, "tokens": worst["tokens"], "unknown_tokens": worst["unknown_tokens"],
                          "members": len(self.members)})
        labelled_items = labelled(self.labels, self._stack(results).mean(0), items)
        return labelled_items[0] if single else labelled_items

    def trace(self, texts: str | Sequence[str]) -> Any:
        """Refused: the gates belong to one network; an ensemble averages several."""
        raise ValueError(f"an ensemble averages {len(self.members)} networks, each with its own gates: trace one "
                         "member, e.g. rnnkit.load(DIR).trace(text)")

    def evaluate(self, data: TextClassificationData, split: str = "test") -> dict[str, Any]:
        """The ensemble's accuracy, macro-F1 and confusion on one split, and each member's accuracy.

        The members must share their data and split: one member's test split must not be another's
        training data."""
        first = self.members[0]
        for member in self.members[1:]:
            mine, other = first.config["options"], member.config["options"]
            if (other["data"], other["split_seed"]) != (mine["data"], mine["split_seed"]):
                raise ModelDirError(f"{member.directory} was trained on {other['data']} split with seed "
                                    f"{other['split_seed']}, {first.directory} on {mine['data']} with seed "
                                    f"{mine['split_seed']}: evaluate an ensemble of models trained on the same split")
        examples = split_examples(data, split, self.labels)
        gold = torch.tensor([ex.label for ex in examples])
        probs = self.probabilities([ex.text for ex in examples])
        report = classification_report(gold, probs.mean(0).argmax(1), self.labels)
        report["members"] = {str(m.directory): float((p.argmax(1) == gold).double().mean())
                             for m, p in zip(self.members, probs, strict=True)}
        return report


APPS = (App(name="sentiment", config_keys=("text", "labels"), http=("predict", "trace"),
            help="classify texts (default: Rotten Tomatoes snippets) with an RNN or bag-of-words",
            options=SentimentOptions, prepare=prepare, predictor=SentimentPredictor, evaluate=evaluate,
            describe=describe, show=show,
            show_prediction=show_label, inputs="texts as arguments", stdin=True, ensemble=SentimentEnsemble,
            scores_all=True),)

__all__ = ["APPS", "SentimentEnsemble", "SentimentOptions", "SentimentPredictor", "build_classifier",
           "pretrained_encoder", "text_task", "transfer_pretrained"]
