"""Spoken sentences with transcripts: a **synthetic speech** corpus made with ``espeak-ng``, and real clips.

No corpus of spoken sentences is obtainable from the registries these machines reach, so the project
synthesises one: short phrases of real text (Jane Austen's novels, Shakespeare's plays — the train
phrases from each corpus's train split, the test phrases from its test split) spoken by Debian's
``espeak-ng`` formant synthesiser with many voices (8 English accents × ~100 voice variants), speeds
and pitches, with white noise added at a random SNR. **Whole voice variants are held out**: the val
and test utterances are spoken by variants (timbres) no training utterance uses. The audio is
synthetic; numbers measured on it say how well a model transcribes *espeak-ng*, not people.

    cache_dir()/speech/espeak-<key>/          key = hash of the config and the espeak-ng version
        corpus.json                           config, espeak-ng version, voices of every split
        manifest.jsonl                        one utterance a line, written last (the "done" mark)
        wav/{train,val,test}/<id>.wav         16 kHz 16-bit mono

Manifest lines: ``{"id", "split", "audio" (path relative to the folder), "text", "voice", "speed",
"pitch", "snr_db", "seconds", "source", "synthetic": true}``. Any folder holding a ``manifest.jsonl``
of this form (``audio``, ``text``, ``split`` are required) is a corpus, e.g. real recordings.

Real speech for a smoke test: five LibriVox clips (Sense and Sensibility, one reader) and five
"cards" commands from Debian ``pocketsphinx-testdata`` (:func:`load_real_clips`).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.data.catalog import REAL_CLIPS
from rnnkit.data.corpora import read_real_clips
from rnnkit.data.fetching import DataUnavailableError, Downloader, cache_dir, fetch_members
from rnnkit.data.readers.audio import read_sphinx_transcription  # noqa: F401  (rnnkit.data.speech's name)
from rnnkit.data.registry import load
from rnnkit.extras import optional_import
from rnnkit.files import loads_json

SPLITS = ("train", "val", "test")
ALPHABET = " '" + "abcdefghijklmnopqrstuvwxyz"
"""The characters a transcript may hold (CTC class k + 1 is ``ALPHABET[k]``; class 0 is the blank)."""
ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd", "en-029",
           "en-us-nyc")
"""espeak-ng's English pronunciation rule sets; every split uses all of them (a voice = accent + variant)."""
CORPUS_FORMAT = 1
"""Part of the cache key: bump it when a change to this module changes what a config synthesises."""
MISSING_ESPEAK = ("espeak-ng is not installed; the synthetic speech corpus needs it: "
                  "`sudo apt-get install espeak-ng` (Debian/Ubuntu)")

_ABBREVIATIONS = {"mr": "mister", "mrs": "missus", "dr": "doctor", "st": "saint"}
_ABBREVIATION = re.compile(r"\b(mr|mrs|dr|st)\.", re.IGNORECASE)
_BREAK = re.compile(r"[.!?;:,()\"\[\]{}]|--|\n\s*\n")
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")


class EspeakMissingError(DataUnavailableError):
    """``espeak-ng`` is not on PATH (the CLI prints the message, which names the package, on one line)."""


# ------------------------------------------------------------------------------------ transcripts
def normalize_transcript(text: str) -> str | None:
    """Lowercase words of letters and inner apostrophes, one space apart; ``None`` if ``text`` has
    anything that cannot be spelled in :data:`ALPHABET` (a digit, an accented letter, ``&``).

    Hyphens and underscores become spaces, curly quotes straight ones, and apostrophes at a word's
    edge (quotation marks) are dropped: ``"'Tis the well-born Mrs."`` → ``"tis the well born mrs"``.
    """
    t = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    words = [w.strip("'") for w in re.sub(r"[-_\s]+", " ", t).split()]
    words = [w for w in words if w]
    if not words or not all(_WORD.fullmatch(w) for w in words):
        return None
    return " ".join(words)


def sentence_pool(text: str, *, min_words: int = 3, max_words: int = 9, max_chars: int = 60) -> list[str]:
    """Distinct speakable phrases of running text, in order: the text is cut at sentence and clause
    punctuation (``. ! ? ; : ,`` quotes, brackets, ``--``, blank lines), titles are spelled out
    (``Mr.`` → ``mister``) and pieces of ``min_words``–``max_words`` words, at most ``max_chars``
    characters and nothing unspeakable are kept (normalised by :func:`normalize_transcript`)."""
    text = _ABBREVIATION.sub(lambda m: _ABBREVIATIONS[m.group(1).lower()], text)
    seen: dict[str, None] = {}
    for piece in _BREAK.split(text):
        s = normalize_transcript(piece)
        if s and min_words <= s.count(" ") + 1 <= max_words and len(s) <= max_chars:
            seen.setdefault(s, None)
    return list(seen)


# ------------------------------------------------------------------------------------- espeak-ng
def espeak_binary() -> str:
    """Path of ``espeak-ng``; :class:`EspeakMissingError` naming the package if it is absent."""
    found = shutil.which("espeak-ng")
    if found is None:
        raise EspeakMissingError(MISSING_ESPEAK)
    return found


def espeak_version() -> str:
    out = subprocess.run([espeak_binary(), "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"text-to-speech:\s*(\S+)", out)
    return match.group(1) if match else out.strip()


def espeak_variants() -> list[str]:
    """The voice variants (``m3``, ``klatt``, ``whisper``, …) this espeak-ng has, sorted."""
    out = subprocess.run([espeak_binary(), "--voices=variant"], capture_output=True, text=True, check=True).stdout
    names = {m.group(1) for m in re.finditer(r"!v/(.+?)(?:\s{2,}|\s*$)", out, re.MULTILINE)}
    return sorted(n for n in names if " " not in n)


def synthesize(text: str, voice: str, *, speed: int = 175, pitch: int = 50) -> tuple[np.ndarray, int]:
    """``text`` spoken by espeak-ng ``voice`` (``en-us+m3``): float32 samples (N,) and their rate (22,050 Hz).

    ``speed`` is in words per minute (80–450), ``pitch`` 0–99. The text goes in on stdin, so it is never
    parsed as an option."""
    sf = optional_import("soundfile", "synthesising speech")
    cmd = [espeak_binary(), "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout"]
    result = subprocess.run(cmd, input=text.encode(), capture_output=True, check=False)
    if result.returncode != 0 or len(result.stdout) <= 44:
        raise RuntimeError(f"espeak-ng failed for voice {voice!r}: {result.stderr.decode(errors='replace').strip()}")
    samples, rate = sf.read(io.BytesIO(result.stdout), dtype="float32")
    return samples, int(rate)


# --------------------------------------------------------------------------------------- corpus
@dataclass(frozen=True)
class SpeechCorpusConfig:
    """What to synthesise. ``val_voices``/``test_voices`` variants are drawn (seeded) from all variants
    and spoken only in their split; speed, pitch and noise are drawn per utterance."""

    train_size: int = 3000
    val_size: int = 300
    test_size: int = 300
    seed: int = 0
    val_voices: int = 10
    test_voices: int = 15
    sources: tuple[str, ...] = ("austen", "shakespeare")
    min_words: int = 3
    max_words: int = 9
    max_chars: int = 60
    speed: tuple[int, int] = (140, 210)
    pitch: tuple[int, int] = (25, 75)
    snr_db: tuple[float, float] = (15.0, 40.0)
    sample_rate: int = 16_000

    def sizes(self) -> dict[str, int]:
        return {"train": self.train_size, "val": self.val_size, "test": self.test_size}


def voice_family(variant: str) -> str:
    """Variants that differ only by a trailing number (``klatt``, ``klatt2`` … ``klatt6``) are one family."""
    return re.sub(r"\d+$", "", variant.lower())


def split_voices(variants: Sequence[str], n_val: int, n_test: int, seed: int) -> dict[str, list[str]]:
    """Disjoint variant lists per split, the held-out voices: whole families, drawn in a seeded order,
    go to test until it has ``n_test`` variants, then to val until ``n_val``; the rest train."""
    families: dict[str, list[str]] = {}
    for v in sorted(variants):
        families.setdefault(voice_family(v), []).append(v)
    names = sorted(families)
    order = [names[i] for i in np.random.default_rng(seed).permutation(len(names))]
    out: dict[str, list[str]] = {"test": [], "val": [], "train": []}
    for name in order:
        split = "test" if len(out["test"]) < n_test else "val" if len(out["val"]) < n_val else "train"
        out[split].extend(families[name])
    if not all(out.values()):
        raise ValueError(f"cannot hold out {n_val} + {n_test} of {len(variants)} voice variants and keep some "
                         "for training")
    return {split: sorted(v) for split, v in out.items()}


def source_sentences(cfg: SpeechCorpusConfig) -> dict[str, dict[str, list[str]]]:
    """source → split → phrases of that split's text; train phrases that also occur in val/test are dropped."""
    sources = ("austen", "shakespeare")
    pools: dict[str, dict[str, list[str]]] = {}
    for name in cfg.sources:
        if name not in sources:
            raise ValueError(f"unknown sentence source {name!r}; valid: {', '.join(sources)}")
        corpus = load(name)
        pools[name] = {split: sentence_pool(getattr(corpus, split), min_words=cfg.min_words,
                                            max_words=cfg.max_words, max_chars=cfg.max_chars) for split in SPLITS}
        held = set(pools[name]["val"]) | set(pools[name]["test"])
        pools[name]["train"] = [s for s in pools[name]["train"] if s not in held]
    return pools


def plan_corpus(cfg: SpeechCorpusConfig, pools: dict[str, dict[str, list[str]]],
                voices: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Every utterance to synthesise (text, voice, speed, pitch, SNR), a function of ``cfg.seed`` only.

    Utterance i of a split takes its phrase from source ``i mod #sources``; phrases are drawn without
    replacement while a pool lasts."""
    plan = []
    for s_index, split in enumerate(SPLITS):
        rng = np.random.default_rng([cfg.seed, s_index])
        n = cfg.sizes()[split]
        order = {src: rng.permutation(len(pool[split])) for src, pool in pools.items()}
        for i in range(n):
            src = list(pools)[i % len(pools)]
            pool = pools[src][split]
            if not pool:
                raise ValueError(f"no {split} phrase of {src} fits {cfg.min_words}-{cfg.max_words} words")
            k = i // len(pools)
            text = pool[int(order[src][k % len(pool)])]
            plan.append({"id": f"{split}-{i:05d}", "split": split, "audio": f"wav/{split}/{split}-{i:05d}.wav",
                         "text": text, "source": src,
                         "voice": f"{ACCENTS[int(rng.integers(len(ACCENTS)))]}+"
                                  f"{voices[split][int(rng.integers(len(voices[split])))]}",
                         "speed": int(rng.integers(cfg.speed[0], cfg.speed[1] + 1)),
                         "pitch": int(rng.integers(cfg.pitch[0], cfg.pitch[1] + 1)),
                         "snr_db": round(float(rng.uniform(*cfg.snr_db)), 2), "synthetic": True})
    return plan


def add_noise(samples: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """``samples`` plus white Gaussian noise ``snr_db`` below the signal's mean power, clipped to [-1, 1]."""
    power = float(np.mean(samples.astype(np.float64) ** 2)) or 1e-8
    noise = rng.standard_normal(samples.shape[0]) * np.sqrt(power / 10 ** (snr_db / 10))
    return np.clip(samples + noise, -1.0, 1.0).astype(np.float32)


def synthesize_corpus(folder: Path, plan: Sequence[dict[str, Any]], *, seed: int = 0, sample_rate: int = 16_000,
                      meta: dict[str, Any] | None = None, log: Callable[[str], None] = print) -> Path:
    """Speak every utterance of ``plan`` into ``folder`` (built in a temporary folder, moved into place)."""
    from rnnkit.data.readers.audio import resample

    sf = optional_import("soundfile", "synthesising speech")

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        lines = []
        for n, item in enumerate(plan):
            samples, rate = synthesize(item["text"], item["voice"], speed=item["speed"], pitch=item["pitch"])
            samples = resample(samples, rate, sample_rate)
            digest = int(hashlib.sha256(item["id"].encode()).hexdigest()[:8], 16)
            samples = add_noise(samples, item["snr_db"], np.random.default_rng([seed, digest]))
            (tmp / item["audio"]).parent.mkdir(parents=True, exist_ok=True)
            sf.write(str(tmp / item["audio"]), samples, sample_rate, subtype="PCM_16")
            lines.append(json.dumps({**item, "seconds": round(samples.shape[0] / sample_rate, 3)}))
            if (n + 1) % 500 == 0:
                log(f"  synthesised {n + 1}/{len(plan)} utterances")
        (tmp / "corpus.json").write_text(json.dumps(meta or {}, indent=1) + "\n")
        (tmp / "manifest.jsonl").write_text("\n".join(lines) + "\n")
        if (folder / "manifest.jsonl").exists():  # another process finished first: keep its copy
            shutil.rmtree(tmp)
        else:
            shutil.rmtree(folder, ignore_errors=True)
            os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def build_speech_corpus(cfg: SpeechCorpusConfig = SpeechCorpusConfig(), *, root: Path | None = None,
                        log: Callable[[str], None] = print) -> Path:
    """The cached corpus folder of ``cfg``, synthesised on first use (a few minutes for 3,600 utterances)."""
    version, variants = espeak_version(), espeak_variants()
    key = hashlib.sha256(json.dumps([CORPUS_FORMAT, asdict(cfg), version, variants]).encode()).hexdigest()[:12]
    folder = (Path(root) if root is not None else cache_dir()) / "speech" / f"espeak-{key}"
    if (folder / "manifest.jsonl").is_file():
        return folder
    voices = split_voices(variants, cfg.val_voices, cfg.test_voices, cfg.seed)
    plan = plan_corpus(cfg, source_sentences(cfg), voices)
    log(f"synthesising {len(plan)} utterances (synthetic speech, espeak-ng {version}) into {folder}")
    meta = {"name": "espeak-synthetic-speech", "synthetic": True, "espeak_ng": version, "config": asdict(cfg),
            "accents": list(ACCENTS), "voices": voices}
    return synthesize_corpus(folder, plan, seed=cfg.seed, sample_rate=cfg.sample_rate, meta=meta, log=log)


def read_manifest(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """split → utterances of a corpus folder, each with ``audio`` made an absolute path."""
    folder = Path(folder)
    path = folder / "manifest.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{folder} is not a speech corpus (no manifest.jsonl)")
    splits: dict[str, list[dict[str, Any]]] = {s: [] for s in SPLITS}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = loads_json(line, f"{path}:{n}")
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{n}: not a JSON object ({exc.msg})") from None
        if not isinstance(item, dict) or not {"audio", "text", "split"} <= set(item) or \
                not isinstance(item["audio"], str) or item["split"] not in SPLITS:
            raise ValueError(f"{path}:{n}: an utterance needs audio, text and split (train/val/test)")
        splits[item["split"]].append({**item, "audio": str(folder / item["audio"])})
    return splits


# ------------------------------------------------------------------------------------ real clips
def load_real_clips(name: str = "librivox", *, root: Path | None = None,
                    downloader: Downloader | None = None) -> list[tuple[Path, str]]:
    """(wav path, transcript) of the real recordings in pocketsphinx-testdata (16 kHz mono)."""
    if name not in REAL_CLIPS:
        raise ValueError(f"unknown clip set {name!r}; valid: {', '.join(REAL_CLIPS)}")
    members, transcription = REAL_CLIPS[name]
    return read_real_clips(fetch_members(members, root=root, downloader=downloader), transcription=transcription)
