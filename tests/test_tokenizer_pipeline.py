"""One tokenizer (issue 24): the Hugging Face pipeline rnnkit saves as ``tokenizer.json`` cuts every text as
rnnkit's regex tokenizer did (the oracle: ``legacy_tokenizer.py``), gives rnnkit's own ids when any program
loads it, and model directories written before (format 1) load and predict exactly as they did."""

from __future__ import annotations

import hashlib
import json
import shutil
import unicodedata
import warnings
from pathlib import Path

import pytest
from tokenizers import Regex, Tokenizer, pre_tokenizers

import legacy_tokenizer as legacy
import rnnkit
from rnnkit.data.readers.reviews import read_rt_snippets
from rnnkit.text import UNK, CharTokenizer, TextEncoder, WordTokenizer, normalize
from rnnkit.text.bpe import BPETokenizer
from rnnkit.text.normalize import WHITESPACE

FIXTURES = Path(__file__).parent / "fixtures"
FORMAT1 = FIXTURES / "format1"
HOSTILE: list[str] = json.loads((FIXTURES / "hostile_texts.json").read_text(encoding="utf-8"))
TRAIN = [ex.text for _, ex in read_rt_snippets(FIXTURES / "rotten_tomatoes_corpus_full.csv.bz2")]
# Every code point Python's Unicode database assigns (3.11: Unicode 14). Oniguruma knows a newer Unicode; the
# one assigned code point whose properties changed in between: U+1171E AHOM CONSONANT SIGN MEDIAL RA, a
# non-spacing (case-ignorable) mark in Unicode 14 and a spacing mark since, so a capital sigma next to it
# lowercases differently. Code points Python does not know yet are outside what the old tokenizer defined.
KNOWN = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF and unicodedata.category(chr(c)) != "Cn"]
UNICODE_CHANGED = {"\U0001171e"}
# Letters of the large scripts (Lo: CJK, Hangul, …) and private-use code points behave alike: the fast test
# takes every 97th of them and every other code point; the slow test takes all.
SAMPLE = [c for i, c in enumerate(KNOWN) if unicodedata.category(c) not in ("Lo", "Co") or i % 97 == 0]
# Contexts around each code point: what normalisation looks at (composition, case, the final sigma, spaces) …
NORMALIZER_CONTEXTS = ["{c}", "a{c}b", "A{c}Σ", "ΑΣ{c}", "1{c}Σ", "  {c}\t", "e\u0301{c}"]
# … and what the word cut looks at (contractions, abbreviations, numbers, URLs, @/#, hyphens, quotes).
WORD_CONTEXTS = ["x {c}'s", "do{c}n't", "it'{c}", "{c}n't", "U{c}S.", "{c}.{c}.", "1{c}2.5", "@{c} #{c}",
                 "http://{c} www.{c}", "3.5-{c}", "_{c}'s", "{c}{c}--{c}''"]


def joined(context: str, chars: list[str]) -> str:
    """``context`` around every code point, the copies separated by " / " (neither cased nor case-ignorable)."""
    return " / ".join(context.format(c=c) for c in chars if c not in UNICODE_CHANGED)


def first_difference(a: list[str] | str, b: list[str] | str) -> str:
    i = next((k for k, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return f"at {i}: {a[max(0, i - 3):i + 3]!r} vs {b[max(0, i - 3):i + 3]!r}"


def _matches_the_regex_tokenizer(chars: list[str], *, together: bool) -> None:
    """Normaliser, word cut and character cut against the old code on ``chars`` in every context (one long
    text per context, or — ``together`` — all contexts of a code point in one text)."""
    def texts(contexts: list[str]) -> list[str]:
        return [joined(" ".join(contexts), chars)] if together else [joined(c, chars) for c in contexts]

    for lowercase in (False, True):
        for text in texts(NORMALIZER_CONTEXTS):
            for collapse in (True, False):
                got = normalize(text, lowercase=lowercase, collapse_whitespace=collapse)
                want = legacy.normalize(text, lowercase=lowercase, collapse_whitespace=collapse)
                assert got == want, f"normalize, lowercase={lowercase}: {first_difference(got, want)}"
            got, want = CharTokenizer(lowercase=lowercase).tokenize(text), legacy.char_tokens(text, lowercase=lowercase)
            assert got == want, f"char, lowercase={lowercase}: {first_difference(got, want)}"
        for text in texts(NORMALIZER_CONTEXTS + WORD_CONTEXTS):
            got, want = WordTokenizer(lowercase=lowercase).tokenize(text), legacy.word_tokens(text, lowercase=lowercase)
            assert got == want, f"word, lowercase={lowercase}: {first_difference(got, want)}"


# ------------------------------------------------------------------------------------------ the cut
def test_whitespace_is_pythons_on_every_code_point():
    split = pre_tokenizers.Split(Regex(f"[{WHITESPACE}]"), behavior="removed", invert=True)
    found = {piece for piece, _ in split.pre_tokenize_str("".join(KNOWN))}
    assert found == {c for c in KNOWN if c.isspace()}


def test_normaliser_and_cuts_match_the_regex_tokenizer_on_code_points_in_context():
    _matches_the_regex_tokenizer(SAMPLE, together=True)


@pytest.mark.slow
def test_normaliser_and_cuts_match_the_regex_tokenizer_on_every_code_point():
    _matches_the_regex_tokenizer(KNOWN, together=False)


def test_hostile_texts_cut_like_the_regex_tokenizer():
    for lowercase in (False, True):
        for text in HOSTILE:
            assert WordTokenizer(lowercase=lowercase).tokenize(text) == legacy.word_tokens(text, lowercase=lowercase)
            assert CharTokenizer(lowercase=lowercase).tokenize(text) == legacy.char_tokens(text, lowercase=lowercase)


# ---------------------------------------------------------------------------------- tokenizer.json
@pytest.mark.parametrize(("kind", "options"), [
    ("word", {}), ("word", {"lowercase": True, "max_len": 6}), ("char", {"add_bos": True, "add_eos": True}),
    ("bpe", {}), ("bpe", {"bpe_fallback": "unk", "lowercase": True, "add_eos": True})])
def test_tokenizer_json_gives_rnnkit_ids(tmp_path, kind, options):
    encoder = TextEncoder.build(TRAIN, tokenizer=kind, bpe_vocab_size=300, min_freq=2, **options)
    config = json.loads(json.dumps(encoder.save(tmp_path)))
    hf = Tokenizer.from_file(str(tmp_path / config["tokenizer_file"]))  # what any program that reads it sees
    loaded = TextEncoder.from_config(config, tmp_path)
    n = len(encoder.vocab)
    specials = [2] * encoder.add_bos + [3] * encoder.add_eos
    for text in HOSTILE:
        ids = hf.encode(text).ids
        if not text.strip():
            assert sorted(ids) == specials or kind == "char"  # a char model keeps the spaces: rnnkit refuses
            with pytest.raises(ValueError, match="empty text"):
                encoder.encode(text)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # max_len cuts some: one warning each
            want = encoder.encode(text)
            assert loaded.encode(text) == want
        assert [i if i < n else UNK for i in ids] == want  # ids past the vocabulary: BPE pieces never trained
        if kind != "bpe":
            assert ids == want
        tokens = encoder.tokenizer.tokenize(text)
        before = encoder.vocab.encode(tokens, add_bos=encoder.add_bos, add_eos=encoder.add_eos)  # rnnkit's old path
        assert want == before[: encoder.max_len] if not encoder.add_eos else want == before
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        texts = [text for text in HOSTILE if text.strip()]
        assert encoder.encode_batch(texts) == [encoder.encode(text) for text in texts]  # batched: the same ids
    if kind == "bpe":
        assert encoder.num_ids > n  # merges the vocabulary never saw follow its ids


@pytest.mark.parametrize("fallback", ["byte", "unk"])
def test_re_indexed_bpe_cuts_the_same_tokens(fallback):
    tok = BPETokenizer.train(TRAIN, vocab_size=300, fallback=fallback)  # type: ignore[arg-type]
    encoder = TextEncoder(tok, rnnkit.text.Vocab.build([tok.tokenize(t) for t in TRAIN[:20]]))
    for text in HOSTILE + ["<unk> <UNK> literal specials <pad>"]:
        assert encoder.hf.encode(text, add_special_tokens=False).tokens == tok.tokenize(text)


def test_a_tokenizer_json_with_other_ids_is_refused(tmp_path):
    encoder = TextEncoder.build(TRAIN, min_freq=2)
    config = encoder.save(tmp_path)
    data = json.loads((tmp_path / "tokenizer.json").read_text())
    vocab = data["model"]["vocab"]
    data["model"]["vocab"] = {token: (i + 1) % len(vocab) for token, i in vocab.items()}  # every id moved by one
    (tmp_path / "tokenizer.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match="does not give rnnkit's ids"):
        TextEncoder.from_config(config, tmp_path)
    (tmp_path / "tokenizer.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a Hugging Face tokenizer file"):
        TextEncoder.from_config(config, tmp_path)


def test_a_lone_surrogate_is_one_line():
    with pytest.raises(ValueError, match="lone surrogate"):
        TextEncoder.build(TRAIN).encode("bad \ud800 text")


# ----------------------------------------------------------------------- format-1 directories
def snapshot(directory: Path) -> dict[str, str]:
    return {p.relative_to(directory).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture()
def expected() -> dict:
    return json.loads((FORMAT1 / "expected.json").read_text(encoding="utf-8"))


def copy_of(name: str, tmp_path: Path) -> Path:
    shutil.copytree(FORMAT1 / name, tmp_path / name)
    return tmp_path / name


@pytest.mark.parametrize("name", ["sentiment-word", "sentiment-char", "sentiment-bpe"])
def test_format1_classifiers_predict_as_before_and_loading_writes_nothing(tmp_path, expected, name):
    d = copy_of(name, tmp_path)
    before = snapshot(d)
    predictor = rnnkit.load(d)
    for text, probs in expected[name].items():
        if probs is None:
            with pytest.raises(ValueError, match="empty"):
                predictor.predict([text])
            continue
        got = predictor.predict([text])[0]["probs"]
        assert got == pytest.approx(probs, abs=1e-6), text
    assert snapshot(d) == before


def test_format1_language_model_and_translator_as_before(tmp_path, expected):
    lm = rnnkit.load(copy_of("lm-word", tmp_path))
    for text, ranked in expected["lm-word"].items():
        got = [(r["token"], r["prob"]) for r in lm.next_tokens(text, 5)]
        assert [t for t, _ in got] == [t for t, _ in ranked] and [p for _, p in got] == pytest.approx(
            [p for _, p in ranked], abs=1e-6)
    mt = rnnkit.load(copy_of("translate", tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sources longer than the training ones: a warning each
        for text, translation in expected["translate"].items():
            assert mt.translate([text], beam=1)[0]["translation"] == translation, text


def test_a_long_text_normalises_in_linear_time():
    import time

    text = "1Σ 'Σ ΑΣ'Σ " * 40_000  # sigmas that are not final, each after a character that is not cased
    started = time.perf_counter()
    assert normalize(text, lowercase=True) == legacy.normalize(text, lowercase=True)
    assert time.perf_counter() - started < 10  # quadratic work (a look-behind scanning back) takes many minutes
