"""The training data of :mod:`rnnkit.experiments.examples` in quick runs: tiny speech, built offline.

Speech, full: the espeak-ng corpus of Austen and Shakespeare phrases (the task's own ``espeak`` data); quick:
:data:`QUICK_PHRASES` spoken by espeak-ng (:func:`quick_speech_corpus`), test voices held out.
"""

from __future__ import annotations

from pathlib import Path

from rnnkit.data.speech import SpeechCorpusConfig, espeak_variants, plan_corpus, split_voices, synthesize_corpus

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
