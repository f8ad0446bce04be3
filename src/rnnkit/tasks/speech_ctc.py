"""Sentence transcription with CTC on **synthetic speech**: audio frames → characters, no alignment given.

The corpus (:mod:`rnnkit.data.speech`) is espeak-ng speaking real phrases of Austen and Shakespeare;
val and test are spoken by voices held out of training. The model (:class:`CTCRecognizer`) emits
per-frame character log-probabilities and is trained with ``torch.nn.CTCLoss``, which sums over every
alignment of the transcript to the frames. Val CER (greedy decoding) selects the best epoch; the
test report adds prefix beam search, with and without a character bigram LM fitted on the training
transcripts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from rnnkit.data.readers.audio import load_audio
from rnnkit.data.speech import ALPHABET, SPLITS, SpeechCorpusConfig, build_speech_corpus, read_manifest
from rnnkit.decode.ctc import BLANK, CharBigramLM, greedy_decode, prefix_beam_search
from rnnkit.extras import require
from rnnkit.features.audio import FEATURE_KINDS, FeatureConfig, compute_features
from rnnkit.features.cache import cached_features
from rnnkit.metrics.wer import error_rates
from rnnkit.models import model_spec
from rnnkit.models.ctc import FRONTENDS, CTCRecognizer, spec_augment
from rnnkit.ranges import check_value
from rnnkit.tasks.base import App, Predictor, Prepared, Run
from rnnkit.tasks.options import EncoderOptions, default
from rnnkit.text import BucketBatchSampler
from rnnkit.train.checkpoint import ModelDirError
from rnnkit.train.task import Task

NUM_CLASSES = 1 + len(ALPHABET)
BEAM = 1  # decoding of `rnnkit transcribe` and SpeechRecognizer.transcribe: 1 = greedy


@dataclass
class SpeechCTCOptions(EncoderOptions):
    """What to train (the ``rnnkit train speech-ctc`` flags; the encoder's are
    :class:`~rnnkit.tasks.options.EncoderOptions`). The corpus is synthetic speech (espeak-ng)."""

    data: str = field(default="espeak", metadata={"help": "espeak (synthesise the corpus below) or a corpus folder "
                                                          "holding manifest.jsonl"})
    train_size: int = field(default=3000, metadata={"help": "espeak: training utterances"})
    val_size: int = field(default=300, metadata={"help": "espeak: validation utterances"})
    test_size: int = field(default=300, metadata={"help": "espeak: test utterances"})
    val_voices: int = field(default=10, metadata={"help": "espeak: voice variants held out for val"})
    test_voices: int = field(default=15, metadata={"help": "espeak: voice variants held out for test"})
    corpus_seed: int = field(default=0, metadata={"help": "espeak: seed of phrases, voices, speeds, noise"})
    features: str = field(default="logmel", metadata={"choices": FEATURE_KINDS,
                                                      "help": "input features per 10 ms frame"})
    n_mels: int = field(default=40, metadata={"help": "mel bands of the features"})
    cell: str = default("cell", "gru")
    hidden_size: int = default("hidden_size", 192)
    layers: int = default("layers", 3)
    bidirectional: bool = default("bidirectional", True)
    subsample: int = field(default=3, metadata={"help": "front-end stride (frames of 10 ms per step)"})
    frontend: str = field(default="stack", metadata={"choices": FRONTENDS, "help": (
        "stack: concatenate --subsample frames; conv: a 1-D convolution of stride --subsample")})
    dropout: float = default("dropout", 0.2)
    spec_augment: bool = field(default=False, metadata={"help": "mask random frequency bands and time spans in "
                                                                "training (SpecAugment; pays off in long runs)"})
    batch_size: int = 32
    beam: int = field(default=8, metadata={"help": "prefix beam width for the test report (1: greedy only)"})
    lm_weight: float = field(default=0.2, metadata={"help": "weight α of the character bigram LM in the beam search "
                                                            "(0.2: best on val in the benchmark)"})
    insertion_bonus: float = field(default=0.0, metadata={"help": "per-character bonus β with the LM"})

    def corpus_config(self) -> SpeechCorpusConfig:
        return SpeechCorpusConfig(train_size=self.train_size, val_size=self.val_size, test_size=self.test_size,
                                  seed=self.corpus_seed, val_voices=self.val_voices, test_voices=self.test_voices)

    def feature_config(self) -> FeatureConfig:
        return FeatureConfig(kind=self.features, n_mels=self.n_mels)


def encode_text(text: str) -> list[int]:
    """Transcript → CTC classes (1 + position in :data:`ALPHABET`); other characters are an error."""
    try:
        return [ALPHABET.index(ch) + 1 for ch in text]
    except ValueError:
        bad = sorted({ch for ch in text if ch not in ALPHABET})
        raise ValueError(f"transcript {text!r} has characters outside a-z, space and ': {bad}") from None


def decode_text(labels: list[int]) -> str:
    """CTC classes → text, with runs of spaces collapsed and the ends trimmed (as transcripts are written)."""
    return " ".join("".join(ALPHABET[k - 1] for k in labels).split())


def corpus_folder(opts: SpeechCTCOptions, log=print) -> Path:
    return build_speech_corpus(opts.corpus_config(), log=log) if opts.data == "espeak" else Path(opts.data)


def load_features(folder: Path, feature_cfg: FeatureConfig, log=print) -> dict[str, list[tuple[Tensor, str, str]]]:
    """split → (features (T, F), transcript, voice) per utterance, cached as float16 npz under the cache."""
    splits = read_manifest(folder)
    items = [u for s in SPLITS for u in splits[s]]
    # keyed by each WAV's content and verified on load (rnnkit.features.cache): a damaged file is rebuilt
    frames, offsets = cached_features([u["audio"] for u in items], feature_cfg, log=log)
    out: dict[str, list[tuple[Tensor, str, str]]] = {s: [] for s in SPLITS}
    for i, u in enumerate(items):
        feats = torch.from_numpy(frames[offsets[i]:offsets[i + 1]].astype(np.float32))
        out[u["split"]].append((feats, u["text"], str(u.get("voice", ""))))
    return out


@dataclass
class SpeechBatch:
    """features (B, T, F) zero-padded, lengths (B,), targets (sum of target lengths,), target_lengths (B,)."""

    features: Tensor
    lengths: Tensor
    targets: Tensor
    target_lengths: Tensor

    def to(self, device: torch.device) -> SpeechBatch:
        """Features to ``device``; lengths and targets stay on the CPU (CTCLoss moves targets itself, cuDNN
        wants them there)."""
        return SpeechBatch(self.features.to(device), self.lengths, self.targets, self.target_lengths)


def collate(items: list[tuple[Tensor, str, str]]) -> SpeechBatch:
    feats = torch.nn.utils.rnn.pad_sequence([f for f, _, _ in items], batch_first=True)
    labels = [encode_text(t) for _, t, _ in items]
    return SpeechBatch(feats, torch.tensor([f.shape[0] for f, _, _ in items]),
                       torch.tensor([k for seq in labels for k in seq], dtype=torch.long),
                       torch.tensor([len(seq) for seq in labels]))


class SpeechCTCTask(Task):
    """CTC loss on characters; val CER of greedy decoding selects the best epoch."""

    name = "speech-ctc"
    metric = "cer"
    higher_is_better = False

    def __init__(self, splits: dict[str, list[tuple[Tensor, str, str]]], *, batch_size: int, seed: int,
                 beam: int = 1, lm: CharBigramLM | None = None, lm_weight: float = 0.0,
                 insertion_bonus: float = 0.0, augment: bool = False) -> None:
        self.splits, self.batch_size, self.seed, self.augment = splits, batch_size, seed, augment
        self.beam, self.lm, self.lm_weight, self.insertion_bonus = beam, lm, lm_weight, insertion_bonus
        self.ctc = torch.nn.CTCLoss(blank=BLANK, zero_infinity=True)
        self.beam_splits: tuple[str, ...] = ("test",)  # beam search is slow: not on every validation
        self._epoch_cache: tuple[tuple[int, int, int], list[SpeechBatch]] | None = None

    def train_batches(self, epoch: int, rank: int = 0, world: int = 1) -> list[SpeechBatch]:
        key = (epoch, rank, world)
        if self._epoch_cache is None or self._epoch_cache[0] != key:
            data = self.splits["train"]
            sampler = BucketBatchSampler([f.shape[0] for f, _, _ in data], self.batch_size, shuffle=True,
                                         seed=self.seed, num_replicas=world, rank=rank)
            sampler.set_epoch(epoch)
            self._epoch_cache = (key, [collate([data[i] for i in b]) for b in sampler])
        return self._epoch_cache[1]

    def loss(self, model: torch.nn.Module, batch: SpeechBatch, device: torch.device) -> tuple[Tensor, int]:
        b = batch.to(device)
        features = spec_augment(b.features, b.lengths) if self.augment else b.features
        log_probs, out_lengths = model(features, b.lengths)
        loss = self.ctc(log_probs.transpose(0, 1), b.targets, out_lengths, b.target_lengths)
        return loss, int(b.target_lengths.sum())

    @torch.no_grad()
    def evaluate(self, model: torch.nn.Module, split: str, device: torch.device) -> dict[str, Any]:
        data = self.splits[split]
        log_probs, loss = utterance_log_probs(model, data, device)
        refs = [text for _, text, _ in data]
        searches = {"beam": (self.beam, 0.0, 0.0)} if split in self.beam_splits and self.beam > 1 else {}
        if searches and self.lm is not None and self.lm_weight:
            searches["beam_lm"] = (self.beam, self.lm_weight, self.insertion_bonus)
        hyps = {"greedy": [decode_text(greedy_decode(lp)) for lp in log_probs]}
        for name, (beam, alpha, bonus) in searches.items():
            hyps[name] = [decode_text(prefix_beam_search(lp, beam, lm=self.lm, lm_weight=alpha,
                                                         insertion_bonus=bonus)) for lp in log_probs]
        report: dict[str, Any] = {**error_rates(refs, hyps["greedy"]), "loss": loss}
        for name in searches:
            rates = error_rates(refs, hyps[name])
            report[f"{name}_cer"], report[f"{name}_wer"] = rates["cer"], rates["wer"]
        report["examples"] = [{"ref": r, **{k: v[j] for k, v in hyps.items()}}
                              for j, r in list(enumerate(refs))[:: max(1, len(refs) // 5)][:5]]
        if split == "test":
            report["by_voice"] = _by_voice([voice for _, _, voice in data], refs, hyps["greedy"])
        return report


@torch.no_grad()
def utterance_log_probs(model: torch.nn.Module, data: list[tuple[Tensor, str, str]],
                        device: torch.device) -> tuple[list[np.ndarray], float]:
    """Per utterance, in ``data``'s order, the model's (T', C) log-probabilities; and the CTC loss per character.

    Utterances run in batches of similar length (64 at a time) so little work goes to padding."""
    model.eval()
    order = sorted(range(len(data)), key=lambda i: data[i][0].shape[0])
    out: list[np.ndarray] = [np.empty(0)] * len(data)
    loss, count = 0.0, 0
    for start in range(0, len(order), 64):
        chunk = order[start:start + 64]
        batch = collate([data[i] for i in chunk]).to(device)
        log_probs, out_lengths = model(batch.features, batch.lengths)
        loss += torch.nn.functional.ctc_loss(log_probs.transpose(0, 1), batch.targets, out_lengths,
                                             batch.target_lengths, blank=BLANK, reduction="sum",
                                             zero_infinity=True).item()
        count += int(batch.target_lengths.sum())
        for i, lp, n in zip(chunk, log_probs.cpu().numpy(), out_lengths.tolist(), strict=True):
            out[i] = lp[:n]
    return out, loss / max(1, count)


def _by_voice(voices: list[str], refs: list[str], hyps: list[str]) -> dict[str, float]:
    """Greedy CER per voice variant (the part after ``+``), worst first."""
    groups: dict[str, tuple[list[str], list[str]]] = {}
    for voice, r, h in zip(voices, refs, hyps, strict=True):
        g = groups.setdefault(voice.rsplit("+", 1)[-1], ([], []))
        g[0].append(r)
        g[1].append(h)
    rates = {v: round(float(error_rates(*g)["cer"]), 4) for v, g in groups.items()}
    return dict(sorted(rates.items(), key=lambda kv: -kv[1]))


def make_task(opts: SpeechCTCOptions, splits, lm: CharBigramLM | None, seed: int) -> SpeechCTCTask:
    return SpeechCTCTask(splits, batch_size=opts.batch_size, seed=seed, beam=opts.beam, lm=lm,
                         lm_weight=opts.lm_weight, insertion_bonus=opts.insertion_bonus, augment=opts.spec_augment)


def prepare(run: Run) -> Prepared:
    """The corpus (synthesised and cached once, by the main process) → features per split → the recognizer."""
    require("speech", "speech recognition (speech-ctc)")  # before minutes of synthesis and training, not after
    opts, log = run.options, run.log
    saved = run.saved
    feature_cfg = FeatureConfig(**saved["features"]) if saved else opts.feature_config()
    if saved is None:
        if run.is_main:  # synthesise and cache once; the other ranks then read the cache
            load_features(corpus_folder(opts, log), feature_cfg, log)
        run.barrier()
    folder = corpus_folder(opts, log)
    splits = load_features(folder, feature_cfg, log)
    sizes = {s: len(v) for s, v in splits.items()}
    if saved is not None:
        lm, corpus_meta = CharBigramLM.from_dict(saved["lm"]), saved["corpus"]
    else:
        if not all(sizes.values()):
            raise ValueError(f"{folder} needs train, val and test utterances, got {sizes}")
        labels = {s: [encode_text(t) for _, t, _ in v] for s, v in splits.items()}  # every transcript checked
        lm = CharBigramLM.fit(labels["train"], NUM_CLASSES)
        corpus_meta = json.loads((folder / "corpus.json").read_text()) if (folder / "corpus.json").is_file() else {}
    spec = model_spec(CTCRecognizer, num_features=feature_cfg.dim, num_classes=NUM_CLASSES, subsample=opts.subsample,
                      frontend=opts.frontend, **opts.encoder_kwargs())
    kind = "synthetic speech (espeak-ng)" if corpus_meta.get("synthetic") else str(folder)
    return Prepared(
        spec=spec, task=make_task(opts, splits, lm, run.train.seed),
        artifacts=lambda directory: {"features": feature_cfg.to_dict(), "alphabet": ALPHABET, "lm": lm.to_dict(),
                                     "corpus": corpus_meta},
        metadata={"data": kind, "synthetic": bool(corpus_meta.get("synthetic")), "corpus": str(folder),
                  "sizes": sizes, "voices": corpus_meta.get("voices", {}), "cell": opts.cell},
        summary=lambda model: (f"{kind}: {sizes} utterances; model {opts.cell} CTC, "
                               f"{sum(p.numel() for p in model.parameters()):,} parameters"))


def describe(result: dict[str, Any]) -> str:
    """Test CER/WER per decoder, the training summary and a few transcripts."""
    test = {**result["test"], "synthetic": bool(result.get("synthetic"))}
    lines = [show(test, "test"),
             f"({result['train_seconds']:.0f} s training, {result['steps']} updates; best val CER "
             f"{result['best_val']['cer']:.3f} at epoch {result['best_val']['epoch']})"]
    lines += [f"  ref: {ex['ref']}\n  hyp: {ex['greedy']}" for ex in test["examples"][:3]]
    return "\n".join(lines)


def show(report: dict[str, Any], split: str) -> str:
    """CER/WER of an evaluation, per decoder (greedy; beam; beam + bigram LM)."""
    kind = "synthetic speech, held-out voices" if report["synthetic"] and split != "train" else split
    lines = [f"{split} ({kind}, {report['n']} utterances): greedy CER {report['cer']:.4f}, WER {report['wer']:.4f}"]
    for name in ("beam", "beam_lm"):
        if f"{name}_cer" in report:
            lines.append(f"  {name.replace('_', ' + ')}: CER {report[name + '_cer']:.4f}, "
                         f"WER {report[name + '_wer']:.4f}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ use
MAX_SECONDS = 60  # longest recording `transcribe` takes (the recurrent pass and the beam grow with it)


class SpeechRecognizer(Predictor):
    """A trained ``speech-ctc`` model directory that transcribes audio files (any WAV, resampled as needed)."""

    def load_artifacts(self) -> None:
        if self.config.get("alphabet") != ALPHABET:
            raise ModelDirError(f"{self.directory} was trained on another character set; retrain it with this rnnkit")
        self.features = FeatureConfig(**self.config["features"])
        self.options = SpeechCTCOptions(**self.config["options"])
        self.lm = CharBigramLM.from_dict(self.config["lm"])

    def transcribe(self, audio: Any, *, beam: int = BEAM, lm_weight: float | None = None,
                   insertion_bonus: float | None = None) -> dict[str, Any] | list[dict[str, Any]]:
        """``{"path", "text", "seconds"}`` of one recording (a list of them for a list): a WAV path (any rate and
        channel count, resampled as needed) or mono samples (N,) at the model's rate (``.features.sample_rate``).
        ``beam=1``: greedy decoding; more: prefix beam search with the character bigram LM at ``lm_weight`` and a
        per-character ``insertion_bonus`` (defaults: the model's own)."""
        check_value(SpeechCTCOptions, "beam", beam)
        if lm_weight is not None:
            check_value(SpeechCTCOptions, "lm_weight", lm_weight)
        if isinstance(audio, (list, tuple)):
            return [self.transcribe(one, beam=beam, lm_weight=lm_weight, insertion_bonus=insertion_bonus)
                    for one in audio]
        if not isinstance(audio, (str, Path, np.ndarray)):
            raise TypeError(f"give a WAV path, mono samples (numpy array) or a list of them, got "
                            f"{type(audio).__name__}")
        return self._transcribe_one(audio, beam, lm_weight, insertion_bonus)

    @torch.no_grad()
    def _transcribe_one(self, audio: str | Path | np.ndarray, beam: int, lm_weight: float | None,
                        insertion_bonus: float | None) -> dict[str, Any]:
        is_path = isinstance(audio, (str, Path))
        if is_path:  # refused by its header's length before decoding or resampling
            samples = load_audio(audio, self.features.sample_rate, max_seconds=MAX_SECONDS)
        else:
            samples = np.asarray(audio, dtype=np.float32)
        name = str(audio) if is_path else "the samples"
        if samples.ndim != 1 or samples.size == 0:
            raise ValueError(f"{name}: expected mono samples of shape (N,), got shape {samples.shape}")
        if not np.isfinite(samples).all():
            raise ValueError(f"{name} holds samples that are not finite (NaN or inf): it is not a recording")
        seconds = samples.shape[0] / self.features.sample_rate
        if seconds > MAX_SECONDS:
            raise ValueError(f"{name} lasts {seconds:.1f} s; `transcribe` takes at most {MAX_SECONDS} s per file: "
                             f"cut it into parts")
        feats = torch.from_numpy(compute_features(samples, self.features)).unsqueeze(0).to(self.device)
        log_probs, _ = self.model(feats, torch.tensor([feats.shape[1]]))
        lp = log_probs[0].cpu().numpy()
        weight = self.options.lm_weight if lm_weight is None else lm_weight
        bonus = self.options.insertion_bonus if insertion_bonus is None else insertion_bonus
        labels = (greedy_decode(lp) if beam <= 1 else
                  prefix_beam_search(lp, beam, lm=self.lm, lm_weight=weight, insertion_bonus=bonus))
        return {"path": str(audio) if is_path else "<array>", "text": decode_text(labels),
                "seconds": round(samples.shape[0] / self.features.sample_rate, 3)}

    def predict(self, inputs: Any) -> dict[str, Any] | list[dict[str, Any]]:
        """Greedy :meth:`transcribe` of one recording (→ one result) or a list (→ a list) (what ``rnnkit
        predict`` prints)."""
        return self.transcribe(inputs)


def evaluate(recognizer: SpeechRecognizer, *, data: str | None = None, split: str = "test",
             beam: int | None = None) -> dict[str, Any]:
    """CER/WER of a model on a split of its own corpus: greedy, and prefix beam search without and with the
    bigram LM (``beam``, default: the model's own; 1 = greedy only)."""
    if data is not None:
        raise ValueError("a speech-ctc model is evaluated on its own corpus (--split train|val|test); to score other "
                         "recordings, transcribe them with `rnnkit transcribe`")
    opts = recognizer.options
    if beam is not None:
        opts.beam = check_value(SpeechCTCOptions, "beam", beam)
    splits = load_features(corpus_folder(opts), recognizer.features)
    task = make_task(opts, splits, recognizer.lm, 0)
    task.beam_splits = (split,)
    report = task.evaluate(recognizer.model, split, recognizer.device)
    report["synthetic"] = bool(recognizer.config.get("corpus", {}).get("synthetic"))
    return report


APPS = (App(name="speech-ctc", config_keys=("features",), http=("transcribe",),
            options=SpeechCTCOptions, prepare=prepare, predictor=SpeechRecognizer,
            evaluate=evaluate, describe=describe, show=show, show_prediction=lambda r: f"{r['path']}\t{r['text']}",
            inputs="audio files (WAV, any sample rate and channel count)",
            help="sentence transcription with CTC on SYNTHETIC speech (espeak-ng voices; val/test voices held out)"),)
