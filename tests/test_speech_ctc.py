"""Sentence transcription with CTC: decoding, error rates, audio I/O and features, the synthetic-speech
corpus, the recognizer, and `rnnkit train speech-ctc` / `transcribe` / `evaluate` on a tiny espeak corpus."""

from __future__ import annotations

import json
import math
import os
import random
import shutil

import numpy as np
import pytest
import soundfile as sf
import torch

import rnnkit
from rnnkit.cli import main
from rnnkit.data.readers.audio import load_audio, read_audio, read_sphinx_transcription
from rnnkit.data.speech import (
    ALPHABET,
    MISSING_ESPEAK,
    EspeakMissingError,
    SpeechCorpusConfig,
    espeak_binary,
    normalize_transcript,
    plan_corpus,
    read_manifest,
    sentence_pool,
    split_voices,
    synthesize_corpus,
    voice_family,
)
from rnnkit.decode.ctc import CharBigramLM, greedy_decode, prefix_beam_search
from rnnkit.features.audio import FeatureConfig, compute_features, wav_features
from rnnkit.metrics.wer import cer, error_rates, wer
from rnnkit.models.ctc import CTCRecognizer, spec_augment
from rnnkit.tasks.speech_ctc import NUM_CLASSES, SpeechCTCTask, collate, decode_text, encode_text

A, B, C = (ALPHABET.index(ch) + 1 for ch in "abc")


def _log_probs(rows: list[dict[int, float]], num_classes: int = NUM_CLASSES) -> np.ndarray:
    """(T, C) log-probabilities: each row's given class probabilities, the rest spread evenly (or ~0)."""
    out = np.zeros((len(rows), num_classes))
    for t, row in enumerate(rows):
        out[t] = max(1e-9, (1.0 - sum(row.values())) / (num_classes - len(row)))
        for k, p in row.items():
            out[t, k] = p
    return np.log(out)


# ------------------------------------------------------------------------------------- decoding
def test_greedy_collapses_repeats_then_drops_blanks():
    # frames: a a - a b b - → "aab"
    path = [A, A, 0, A, B, B, 0]
    lp = _log_probs([{k: 0.9} for k in path])
    assert greedy_decode(lp) == [A, A, B]
    assert decode_text(greedy_decode(lp)) == "aab"
    assert greedy_decode(_log_probs([{0: 0.9}] * 4)) == []
    assert decode_text([1, A, 1, 1, B, 1]) == "a b"  # spaces collapsed and trimmed, as transcripts are written


def test_beam_equals_greedy_on_peaked_outputs():
    rng = random.Random(0)
    for _ in range(20):
        path = [rng.choice([0, 0, A, B, C]) for _ in range(rng.randint(1, 15))]
        lp = _log_probs([{k: 0.97} for k in path])
        assert prefix_beam_search(lp, beam=8) == greedy_decode(lp)
        assert prefix_beam_search(lp, beam=1) == greedy_decode(lp)


def test_beam_beats_greedy_by_summing_paths():
    # Two frames, P(blank) = 0.6, P(a) = 0.4: the best path is "--" (0.36, empty output), but the paths
    # yielding "a" (aa, a-, -a) sum to 0.64.
    lp = _log_probs([{0: 0.6, A: 0.4}] * 2, num_classes=6)
    assert greedy_decode(lp) == []
    assert prefix_beam_search(lp, beam=4) == [A]
    assert math.isclose(0.16 + 0.24 + 0.24, 0.64)


def test_repeated_character_needs_a_blank():
    lp = _log_probs([{A: 0.9}, {0: 0.9}, {A: 0.9}])
    assert prefix_beam_search(lp, beam=4) == [A, A]
    lp = _log_probs([{A: 0.9}, {A: 0.9}, {A: 0.9}])
    assert prefix_beam_search(lp, beam=4) == [A]


def test_bigram_lm_is_normalised_and_steers_the_beam():
    lm = CharBigramLM.fit([[A, B], [A, B], [A, B], [A, C]], num_classes=6)
    probs = np.exp(lm.log_probs)
    assert np.allclose(probs.sum(axis=1), 1.0) and np.all(probs[:, 0] == 0)
    assert lm(A, B) > lm(A, C)
    # acoustically "ac" is slightly more likely than "ab"; the LM (trained on "ab") flips it
    lp = _log_probs([{A: 0.9}, {C: 0.5, B: 0.45}], num_classes=6)
    assert prefix_beam_search(lp, beam=4) == [A, C]
    assert prefix_beam_search(lp, beam=4, lm=lm, lm_weight=1.0) == [A, B]
    assert CharBigramLM.from_dict(json.loads(json.dumps(lm.to_dict())))(A, B) == pytest.approx(lm(A, B), abs=1e-4)


# --------------------------------------------------------------------------------------- metrics
def test_error_rates_on_known_strings():
    assert cer("kitten", "sitting") == pytest.approx(3 / 6)
    assert cer("abc", "abc") == 0.0
    assert cer(" ab", "ab") == pytest.approx(1 / 3)  # every character counts, spaces at the ends too
    assert wer("the cat sat", "the cat sat down") == pytest.approx(1 / 3)
    assert wer("the cat sat", "a cat") == pytest.approx(2 / 3)
    assert wer("the\tcat  sat\n", " the cat sat") == 0.0  # words are str.split()'s
    report = error_rates(["ab cd", "ef"], ["ab", "xf"])
    assert report["char_errors"] == 4 and report["chars"] == 7 and report["wer"] == pytest.approx(2 / 3)
    assert error_rates(["ab", ""], ["ab", "x"])["char_errors"] == 1  # an empty reference among others
    with pytest.raises(ValueError, match="references are empty"):
        cer([""], ["x"])
    with pytest.raises(ValueError, match="2 references but 1 hypotheses"):
        wer(["a", "b"], ["a"])


def _levenshtein(ref: list[str] | str, hyp: list[str] | str) -> int:
    """The textbook dynamic programme: fewest substitutions + deletions + insertions (the test's oracle)."""
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        diagonal, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (r != h))
    return row[-1]


def test_error_rates_match_the_edit_distance():
    rng = random.Random(1)
    pieces = ["the", "a", "cat", "sat", "on", "mat", "dog", " ", "  ", "\t", "\u00a0", "é"]
    refs = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 12))) for _ in range(40)]
    hyps = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 12))) for _ in range(40)]
    report = error_rates(refs, hyps)
    char_errors = sum(_levenshtein(r, h) for r, h in zip(refs, hyps, strict=True))
    word_errors = sum(_levenshtein(r.split(), h.split()) for r, h in zip(refs, hyps, strict=True))
    assert (report["char_errors"], report["chars"]) == (char_errors, sum(map(len, refs)))
    assert (report["word_errors"], report["words"]) == (word_errors, sum(len(r.split()) for r in refs))
    assert report["cer"] == pytest.approx(char_errors / report["chars"])


# ------------------------------------------------------------------------------- audio, features
def _sine(seconds: float, rate: int, freq: float = 1000.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_features_shape_rate_and_content():
    cfg = FeatureConfig(cmvn=False)
    feats = compute_features(_sine(1.0, 16_000), cfg)
    assert feats.shape == (101, 40) and feats.dtype == np.float32  # 1 + N // hop frames of 10 ms
    band = int(feats.mean(0).argmax())
    import librosa

    centres = librosa.mel_frequencies(n_mels=42, fmin=20.0, fmax=8000.0)[1:-1]
    assert abs(centres[band] - 1000.0) < 120  # the energy sits in the band of the sine
    normed = compute_features(_sine(1.0, 16_000), FeatureConfig())
    assert np.allclose(normed.mean(0), 0, atol=1e-3)
    assert compute_features(_sine(0.5, 16_000), FeatureConfig(kind="mfcc", n_mfcc=13)).shape == (51, 13)
    assert compute_features(_sine(0.005, 16_000), cfg).shape == (1, 40)  # shorter than one window


@pytest.mark.parametrize(("rate", "channels", "subtype"), [(16_000, 1, "PCM_16"), (8_000, 2, "PCM_16"),
                                                           (44_100, 2, "FLOAT"), (22_050, 1, "PCM_24")])
def test_any_wav_is_read_mixed_and_resampled(tmp_path, rate, channels, subtype):
    mono = _sine(1.0, rate, 440.0)
    data = mono if channels == 1 else np.stack([mono, mono], axis=1)
    path = tmp_path / "x.wav"
    sf.write(path, data, rate, subtype=subtype)
    samples, got_rate = read_audio(path)
    assert got_rate == rate and samples.shape == data.shape
    audio = load_audio(path, 16_000)
    assert audio.ndim == 1 and abs(audio.shape[0] - 16_000) <= 2
    assert 0.3 < np.abs(audio).max() <= 0.55
    assert wav_features(path, FeatureConfig()).shape[0] in (100, 101)


def test_bad_audio_files_are_one_line_errors(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    text = tmp_path / "notes.wav"
    text.write_text("not audio at all\n")
    no_samples = tmp_path / "none.wav"
    sf.write(no_samples, np.zeros(0, dtype=np.float32), 16_000)
    with pytest.raises(ValueError, match="is empty"):
        read_audio(empty)
    with pytest.raises(ValueError, match="not a readable WAV file"):
        read_audio(text)
    with pytest.raises(ValueError, match="holds no audio samples"):
        read_audio(no_samples)
    with pytest.raises(FileNotFoundError):
        read_audio(tmp_path / "missing.wav")
    raw = tmp_path / "clip.raw"
    raw.write_bytes(np.zeros(1600, dtype=np.int16).tobytes())
    with pytest.raises(ValueError, match="headerless raw audio"):
        read_audio(raw)


# ------------------------------------------------------------------------------------ the corpus
def test_transcripts_are_normalised_to_the_alphabet():
    assert normalize_transcript("'Tis the well-born\nMrs_Smith's  HAT!'") is None  # "!" is not spoken text
    assert normalize_transcript("'Tis the well-born Smith's hat'") == "tis the well born smith's hat"
    assert normalize_transcript("in 1811") is None and normalize_transcript("café") is None
    text = "Mr. Dashwood came; he was not an ill-disposed young man.\n\nI\nsaid 7000L would do, she said."
    assert sentence_pool(text, min_words=3) == ["mister dashwood came", "he was not an ill disposed young man"]
    assert all(set(s) <= set(ALPHABET) for s in sentence_pool(text, min_words=1))


def test_voices_are_held_out_by_family():
    variants = ["m1", "m2", "m3", "f1", "f2", "klatt", "klatt2", "whisper", "croak", "Andy", "adam", "ed"]
    voices = split_voices(variants, n_val=2, n_test=2, seed=3)
    families = {s: {voice_family(v) for v in vs} for s, vs in voices.items()}
    assert not (families["train"] & families["test"]) and not (families["train"] & families["val"])
    assert sorted(sum(voices.values(), [])) == sorted(variants)
    assert voices == split_voices(variants, n_val=2, n_test=2, seed=3)


def test_plan_is_deterministic_and_uses_each_splits_voices():
    cfg = SpeechCorpusConfig(train_size=6, val_size=2, test_size=2, seed=5)
    pools = {"x": {"train": ["one two three", "four five six"], "val": ["seven eight nine"],
                   "test": ["ten eleven twelve"]}}
    voices = {"train": ["m1"], "val": ["f1"], "test": ["croak"]}
    plan = plan_corpus(cfg, pools, voices)
    assert plan == plan_corpus(cfg, pools, voices) and len(plan) == 10
    for item in plan:
        assert item["voice"].endswith("+" + voices[item["split"]][0]) and item["synthetic"] is True
        assert item["text"] in pools["x"][item["split"]]
        assert cfg.speed[0] <= item["speed"] <= cfg.speed[1]


def test_sphinx_transcription_format(tmp_path):
    path = tmp_path / "transcription"
    path.write_text("<s> he was not an ill disposed young man </s> (clip-0880)\n<s> ten of clubs  </s> (001)\n")
    assert read_sphinx_transcription(path) == {"clip-0880": "he was not an ill disposed young man",
                                               "001": "ten of clubs"}


# ------------------------------------------------------------------------------------- the model
@pytest.mark.parametrize(("frontend", "subsample"), [("stack", 3), ("conv", 2), ("stack", 1)])
def test_recognizer_shapes_and_one_step_trains_every_parameter(frontend, subsample):
    torch.manual_seed(0)
    model = CTCRecognizer(8, NUM_CLASSES, cell="lstm", hidden_size=6, num_layers=2, subsample=subsample,
                          frontend=frontend, conv_channels=5)
    items = [(torch.randn(n, 8), text, "v") for n, text in ((31, "ab c"), (20, "a"), (7, "b"))]
    batch = collate(items)
    log_probs, out_lengths = model(batch.features, batch.lengths)
    assert log_probs.shape == (3, -(-31 // subsample), NUM_CLASSES)
    assert out_lengths.tolist() == [-(-n // subsample) for n in (31, 20, 7)]
    assert torch.allclose(log_probs.exp().sum(-1), torch.ones(3, log_probs.shape[1]), atol=1e-5)
    task = SpeechCTCTask({"train": items, "val": items, "test": items}, batch_size=2, seed=0)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss, count = task.loss(model, batch, torch.device("cpu"))
    loss.backward()
    optimizer.step()
    assert count == 6 and all(not torch.equal(before[n], p) for n, p in model.named_parameters())
    assert encode_text("ab c") == [A, B, 1, C]
    with pytest.raises(ValueError, match="outside a-z"):
        encode_text("a1")


def test_spec_augment_masks_bands_and_spans_within_each_length():
    feats, lengths = torch.ones(4, 50, 40), torch.tensor([50, 30, 10, 5])
    torch.manual_seed(0)
    out = spec_augment(feats, lengths, freq_masks=1, freq_width=6, time_masks=1, time_width=15)
    torch.manual_seed(0)
    assert torch.equal(out, spec_augment(feats, lengths, freq_masks=1, freq_width=6, time_masks=1, time_width=15))
    assert torch.equal(feats, torch.ones(4, 50, 40))  # the input is not modified
    for b in range(4):
        masked_channels = (out[b] == 0).all(0).sum()
        masked_frames = (out[b] == 0).all(1)
        assert masked_channels <= 6 and masked_frames.sum() <= max(1, int(lengths[b]) // 5)
        assert not masked_frames[int(lengths[b]):].any()  # no span starts in the padding
    assert (out == 0).any()


# ------------------------------------------------------------------ espeak-ng end to end (tiny)
def _need_espeak() -> None:
    try:
        espeak_binary()
    except EspeakMissingError:
        if os.environ.get("CI"):
            raise
        pytest.skip(MISSING_ESPEAK)


def test_missing_espeak_names_the_package(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(EspeakMissingError, match="apt-get install espeak-ng"):
        espeak_binary()


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory):
    _need_espeak()
    texts = {"train": ["he was not an ill disposed young man", "she was impatient to be gone", "ten of clubs",
                       "let us return", "our hope in him is dead", "four days will quickly pass"],
             "val": ["make gold of that", "you are an alchemist"], "test": ["he is nothing", "let our drums strike"]}
    voices = {"train": ["m3", "f2"], "val": ["croak"], "test": ["klatt"]}
    pools = {"tiny": texts}
    cfg = SpeechCorpusConfig(train_size=6, val_size=2, test_size=2, seed=1)
    folder = tmp_path_factory.mktemp("speech") / "corpus"
    return synthesize_corpus(folder, plan_corpus(cfg, pools, voices), seed=1, meta={"synthetic": True},
                             log=lambda _: None)


def test_tiny_corpus_train_transcribe_evaluate(tiny_corpus, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RNNKIT_CACHE", str(tmp_path / "cache"))
    splits = read_manifest(tiny_corpus)
    assert [len(splits[s]) for s in ("train", "val", "test")] == [6, 2, 2]
    wav = splits["test"][0]["audio"]
    assert sf.info(wav).samplerate == 16_000 and 0.5 < sf.info(wav).duration < 4
    out = tmp_path / "model"
    assert main(["train", "speech-ctc", "--data", str(tiny_corpus), "--epochs", "1", "--hidden-size", "8",
                 "--layers", "1", "--batch-size", "4", "--beam", "3", "--no-progress", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"cer", "wer", "beam_cer", "beam_lm_cer", "by_voice"} <= set(metrics["test"]) and metrics["synthetic"]
    assert main(["train", "speech-ctc", "--resume", str(out), "--no-progress"]) == 0  # finished: re-evaluates
    capsys.readouterr()
    assert main(["transcribe", str(out), wav, wav, "--beam", "2", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 2 and set(lines[0]["text"]) <= set(ALPHABET)
    assert main(["evaluate", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 2
    recognizer = rnnkit.load(out)  # one recording in, one result out; a list in, a list out
    one = recognizer.transcribe(wav, beam=2)
    assert isinstance(one, dict) and recognizer.transcribe([wav, wav], beam=2) == [one, one]
    assert one["text"] == lines[0]["text"]
    with pytest.raises(TypeError, match="beam must be a whole number"):
        recognizer.transcribe(wav, beam=2.5)
    with pytest.raises(TypeError, match="give a WAV path"):
        recognizer.transcribe(None)
    bad = tmp_path / "bad.wav"
    bad.write_text("hello")
    assert main(["transcribe", str(out), str(bad)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not a readable WAV file" in err
