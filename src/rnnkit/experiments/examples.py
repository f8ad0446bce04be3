"""The lecture's examples, run: what trained rnnkit models answer to the sentences the lecture shows.

Four models are trained (or taken from ``--models``), each into ``out/<name>``:

* **sentiment** (LSTM) and **bow** (bag of words) on ``rt-polarity``: class probabilities of "There is
  nothing to like in this movie." and of the food pair, "The food was good, not bad at all." / "The
  food was bad, not good at all." (same words: a bag of words cannot tell them apart).
* **translate** (fr→en, the default recipe — Bahdanau attention — for its default 30 minutes): "Voulez-vous
  chanter avec moi ?", greedy and beam, with sentence chrF against "Do you want to sing with me?".
* **speech** (CTC on the espeak-ng synthetic corpus): the lecture's "The quick brown fox jumped over the lazy
  dog." synthesised by :func:`rnnkit.data.speech.synthesize_corpus` (the corpus's own code path) in a voice
  held out of training, transcribed greedy and with beam + the character bigram LM, CER/WER.

The examples are reported, not judged (one sentence of one model decides no claim): the France sentence is
judged by :mod:`rnnkit.experiments.cloze`, the food pair by :mod:`rnnkit.experiments.word_order`.

Writes ``results.json`` and ``report.md``; ``quick=True`` uses tiny data and models (seconds), built offline
from the sentiment ``data`` and phrases in :mod:`rnnkit.experiments.examples_data`.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import sacrebleu

from rnnkit.data.speech import ACCENTS, normalize_transcript, synthesize_corpus
from rnnkit.experiments.arms import QUICK_SENTIMENT, experiment_data, train_or_reuse
from rnnkit.experiments.bottleneck import QUICK as QUICK_TRANSLATE
from rnnkit.experiments.bottleneck import write_quick_corpus
from rnnkit.experiments.examples_data import quick_speech_corpus
from rnnkit.experiments.record import experiment_setup, finish, setup_line, stamp, table
from rnnkit.experiments.rules import Claim, Rule
from rnnkit.metrics.wer import error_rates
from rnnkit.tasks import run as runs
from rnnkit.tasks.sentiment import SentimentOptions
from rnnkit.tasks.speech_ctc import SpeechCTCOptions
from rnnkit.tasks.translate import TranslateOptions
from rnnkit.train.checkpoint import read_config
from rnnkit.train.config import TrainConfig

NOTHING = "There is nothing to like in this movie."
FOOD = ("The food was good, not bad at all.", "The food was bad, not good at all.")
FRENCH = "Voulez-vous chanter avec moi ?"
ENGLISH = "Do you want to sing with me?"
FOX = "The quick brown fox jumped over the lazy dog."  # the lecture's words ("jumped")
SLOTS = ("sentiment", "bow", "translate", "speech")
TRACES: tuple[str, ...] = ()
RULES: tuple[Rule, ...] = ()  # reported examples: no claim is judged here

# Budgets: epochs (no wall clock) for the classifiers and the recognizer, sized so they take ≤ 10 min at 1 torch thread
# on the shared 2-core CPU; the translation model is the default recipe for its default budget
# (``rnnkit train translate --max-minutes 30``: as many epochs as fill 30 minutes), so its answer is the one a user
# of the defaults gets. Probes (1 thread, while two other 1-thread jobs ran):
#   sentiment  LSTM (default recipe) 20 s an epoch → 4 epochs ≈ 1.5 min; bag of words ~1 s an epoch.
#   speech     espeak-ng synthesis 0.04 s an utterance (3,600: 2.5 min, cached afterwards); bi-GRU 2 × 128: 22 s an
#              epoch of 2,000 → 33 s of 3,000 → 8 epochs ≈ 5 min with evaluations.
# Patience: stop after that many epochs without a better validation score.
FULL = {"sentiment": {"epochs": 4, "patience": 2}, "bow": {"epochs": 10, "patience": 3},
        "translate": {"epochs": None, "max_minutes": 30.0, "patience": 0},
        "speech": {"train_size": 3000, "val_size": 300, "test_size": 300, "hidden_size": 128, "layers": 2,
                   "epochs": 8, "patience": 3}}
QUICK = {"sentiment": {"epochs": 1, "patience": 1, **QUICK_SENTIMENT}, "bow": {"epochs": 1, "patience": 1},
         "translate": {"epochs": 1, "patience": 1, **QUICK_TRANSLATE},
         "speech": {"train_size": 16, "val_size": 4, "test_size": 4, "hidden_size": 16, "layers": 1, "beam": 2,
                    "batch_size": 8, "epochs": 1, "patience": 1}}
TRAIN_KEYS = ("epochs", "patience", "max_minutes")


def run(out: Path, *, quick: bool = False, models: Sequence[Path] | None = None, data: str = "rt-polarity",
        seed: int = 13, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train (or take from ``models``) the four models and run the lecture's examples on them (``data``: the
    classifiers' sentiment data)."""
    given = given_models(models or [])  # a bad directory is refused before anything is written
    out, setup = experiment_setup(out, FULL, QUICK, quick)
    dirs = {slot: given.get(slot) or train_slot(slot, setup[slot], out, data=data, quick=quick, seed=seed, log=log)
            for slot in SLOTS}
    answers = {"sentiment": {slot: sentiment(dirs[slot]) for slot in ("sentiment", "bow")},
               "translation": translation(dirs["translate"]), "speech": speech(dirs["speech"], out / "fox")}
    # absolute here, so results.json records them relative to `out` (record.portable), whatever the cwd was
    results = {**stamp("examples", quick), "setup": setup, "models": {k: str(v.resolve()) for k, v in dirs.items()},
               "given": sorted(given), **answers}
    results["test_metrics"] = {slot: metrics_of(d) for slot, d in dirs.items()}
    results["claims"] = claims(results)
    results["plots"] = []
    return finish(out, results, report(results))


def given_models(paths: Sequence[Path]) -> dict[str, Path]:
    """slot → model directory, by the task in each directory's config.json (a bag of words is ``bow``)."""
    found: dict[str, Path] = {}
    for path in paths:
        config = read_config(Path(path))
        task = config["task"]
        slot = {"translate": "translate", "speech-ctc": "speech", "sentiment": "sentiment"}.get(task)
        if slot == "sentiment" and config["options"].get("model") == "bow":
            slot = "bow"
        if slot is None:
            raise ValueError(f"{path} holds a {task} model; the examples take sentiment, translate and speech-ctc "
                             "models")
        if slot in found:
            raise ValueError(f"two {slot} models given ({found[slot]}, {path}): give one of each")
        found[slot] = Path(path)
    return found


def options_of(slot: str, s: dict[str, Any], out: Path, *, data: str, quick: bool) -> Any:
    """The training options of one slot (``s``: its FULL/QUICK entry)."""
    model = {k: v for k, v in s.items() if k not in TRAIN_KEYS}
    if slot in ("sentiment", "bow"):
        kind = {"model": "bow"} if slot == "bow" else {}
        return SentimentOptions(data=experiment_data(data, out, quick), **kind, **model)
    if slot == "translate":
        pairs = str(write_quick_corpus(out / "data" / "fra.txt")) if quick else "fr-en"
        return TranslateOptions(data=pairs, **model)
    if quick:  # espeak-ng speaking this module's phrases, not the Austen/Shakespeare corpus (a download)
        model["data"] = str(quick_speech_corpus(out, s["train_size"], s["val_size"], s["test_size"]))
    return SpeechCTCOptions(**model)


def train_slot(slot: str, s: dict[str, Any], out: Path, *, data: str, quick: bool, seed: int,
               log: Callable[[str], None]) -> Path:
    """Train one slot's model into ``out/<slot>`` (a finished one with the same settings there is reused)."""
    opts = options_of(slot, s, out, data=data, quick=quick)
    cfg = TrainConfig(epochs=s["epochs"], patience=s["patience"], max_minutes=s.get("max_minutes"), seed=seed,
                      progress=False)
    log(f"{slot}: {_budget(s)}")
    train_or_reuse(opts, cfg, out / slot, log=log)
    return out / slot


def metrics_of(directory: Path) -> dict[str, Any]:
    """The test numbers of a model directory that say how far it trained (its main metric, epochs, time)."""
    metrics = json.loads((Path(directory) / "metrics.json").read_text(encoding="utf-8"))
    test = metrics["test"]
    keep = ("accuracy", "macro_f1", "n", "perplexity", "bleu", "chrf", "cer", "wer", "beam_lm_cer", "beam_lm_wer")
    found = {k: test[k] for k in keep if k in test}
    found.update(steps=metrics.get("steps"), train_seconds=metrics.get("train_seconds"))
    if "baselines" in metrics:
        found["bigram_perplexity"] = metrics["baselines"]["bigram"]["test_perplexity"]
    return found


# --------------------------------------------------------------------------------- the other examples
def sentiment(directory: Path) -> list[dict[str, Any]]:
    """Label and class probabilities of "nothing to like" and of the food pair."""
    predictions = runs.load(directory).predict([NOTHING, *FOOD])
    return [{"text": p["text"], "label": p["label"], "probs": p["probs"], "unknown_tokens": p["unknown_tokens"]}
            for p in predictions]


def translation(directory: Path) -> dict[str, Any]:
    """Greedy and beam translations of the lecture's French question, with sentence chrF against ENGLISH."""
    model = runs.load(directory)
    found: dict[str, Any] = {"source": FRENCH, "reference": ENGLISH, "beam_width": model.config["options"]["beam"]}
    for name, beam in (("greedy", 1), ("beam", None)):
        with warnings.catch_warnings(record=True) as caught:  # e.g. a source longer than any seen in training
            warnings.simplefilter("always")
            result = model.translate([FRENCH], beam=beam)[0]
        found[name] = {"translation": result["translation"], "warnings": sorted({str(w.message) for w in caught}),
                       "chrf": sacrebleu.sentence_chrf(result["translation"], [ENGLISH]).score,
                       "candidates": result["candidates"][:3], "unknown_tokens": result["unknown_tokens"]}
    return found


def speech(directory: Path, folder: Path) -> dict[str, Any]:
    """Synthesise FOX in a held-out (test) voice of the model's corpus, through the corpus's own code path
    (espeak-ng → resample → noise → 16-bit WAV), and transcribe it greedy and with beam + bigram LM."""
    model = runs.load(directory)
    voices = model.config["corpus"]["voices"]
    voice = f"{ACCENTS[0]}+{voices['test'][0]}"
    reference = normalize_transcript(FOX.rstrip("."))
    item = {"id": "fox", "split": "test", "audio": "wav/test/fox.wav", "text": reference, "source": "lecture",
            "voice": voice, "speed": 175, "pitch": 50, "snr_db": 30.0, "synthetic": True}
    synthesize_corpus(folder, [item], sample_rate=model.features.sample_rate,
                      meta={"name": "the lecture's sentence", "synthetic": True, "voice": voice})
    wav = folder / item["audio"]
    found: dict[str, Any] = {"sentence": FOX, "reference": reference, "voice": voice,
                             "held_out": voices["test"][0] not in voices.get("train", []), "wav": str(wav.resolve()),
                             "synthesis": {k: item[k] for k in ("speed", "pitch", "snr_db")}}
    for name, beam in (("greedy", 1), ("beam_lm", max(2, model.options.beam))):
        text = model.transcribe(wav, beam=beam)["text"]
        rates = error_rates([reference], [text])
        found[name] = {"text": text, "cer": rates["cer"], "wer": rates["wer"], "beam": beam}
    return found


# ------------------------------------------------------------------------------------- claims, report
def claims(results: dict[str, Any]) -> list[Claim]:
    """No claim: the examples are reported (see the module docstring)."""
    return []


def _budget(s: dict[str, Any]) -> str:
    epochs = f"≤ {s['epochs']} epochs" if s.get("epochs") else "as many epochs as fit"
    minutes = f" in {s['max_minutes']:g} min" if s.get("max_minutes") else ""
    return f"{epochs}{minutes}, patience {s['patience']}"


def report(results: dict[str, Any]) -> str:
    tr, sp = results["translation"], results["speech"]
    lines = ["# The lecture's examples, run", "", setup_line(results),
             "Models: " + ", ".join(f"{k} `{v}`" + (" (given)" if k in results["given"] else "")
                                    for k, v in results["models"].items()) + ".",
             "Budgets: " + "; ".join(f"{k} {_budget(s)}" for k, s in results["setup"].items()) + ".",
             "Reported examples, not verdicts: the France sentence is judged in the cloze experiment, the food "
             "pair in word-order.", "",
             "## Sentiment: “nothing to like” and the food pair", "",
             *table(["model", "text", "label", "probabilities"],
                    [[m, p["text"], p["label"], ", ".join(f"{k} {v:.3f}" for k, v in p["probs"].items())]
                     for m, ps in results["sentiment"].items() for p in ps]),
             "", f"## Translation: “{FRENCH}” (reference “{ENGLISH}”)", "",
             *table(["decoding", "translation", "sentence chrF"],
                    [[n if n == "greedy" else f"beam {tr['beam_width']}", tr[n]["translation"],
                      f"{tr[n]['chrf']:.1f}"] for n in ("greedy", "beam")]),
             *(f"Warning: {w}" for w in tr["greedy"]["warnings"]),
             "", f"## Speech: “{FOX}” (voice {sp['voice']}, held out of training: {sp['held_out']})", "",
             *table(["decoding", "transcript", "CER", "WER"],
                    [[n, sp[n]["text"] or "(empty)", f"{sp[n]['cer']:.3f}", f"{sp[n]['wer']:.3f}"]
                     for n in ("greedy", "beam_lm")]),
             "", "## How far each model trained (test split)", "",
             *table(["model", "test numbers"], [[k, ", ".join(f"{n} {_num(v)}" for n, v in m.items())]
                                                for k, m in results["test_metrics"].items()]), ""]
    return "\n".join(lines)


def _num(v: Any) -> str:
    return f"{v:.3f}" if isinstance(v, float) else str(v)
