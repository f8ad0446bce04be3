"""A trained ``speech-ctc`` model directory in use: transcribe audio files, evaluate on its corpus."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from rnnkit.data.audio import FeatureConfig, compute_features, load_audio
from rnnkit.data.speech import ALPHABET
from rnnkit.decode.ctc import CharBigramLM, greedy_decode, prefix_beam_search
from rnnkit.models import build_model
from rnnkit.tasks.speech_ctc import SpeechCTCOptions, corpus_folder, decode_text, load_features, make_task
from rnnkit.train.checkpoint import ModelDirError, load_weights, read_config


class SpeechRecognizer:
    """A trained ``speech-ctc`` model directory that transcribes audio files (any WAV, resampled as needed)."""

    def __init__(self, directory: Path, device: str = "cpu") -> None:
        self.directory = Path(directory)
        self.config = read_config(self.directory, task="speech-ctc")
        if self.config.get("alphabet") != ALPHABET:
            raise ModelDirError(f"{directory} was trained on another character set; retrain it with this rnnkit")
        self.features = FeatureConfig(**self.config["features"])
        self.options = SpeechCTCOptions(**self.config["options"])
        self.lm = CharBigramLM.from_dict(self.config["lm"])
        self.model = build_model(self.config["model"])
        load_weights(self.model, self.directory)
        self.device = torch.device(device)
        self.model.to(self.device).eval()

    @torch.no_grad()
    def transcribe(self, paths: list[str | Path], *, beam: int = 1, lm_weight: float = 0.0,
                   insertion_bonus: float = 0.0) -> list[dict[str, Any]]:
        """``{"path", "text", "seconds"}`` per file: greedy decoding with ``beam=1``, else prefix beam search."""
        results = []
        for path in paths:
            samples = load_audio(path, self.features.sample_rate)
            feats = torch.from_numpy(compute_features(samples, self.features)).unsqueeze(0).to(self.device)
            log_probs, _ = self.model(feats, torch.tensor([feats.shape[1]]))
            lp = log_probs[0].cpu().numpy()
            labels = (greedy_decode(lp) if beam <= 1 else
                      prefix_beam_search(lp, beam, lm=self.lm, lm_weight=lm_weight, insertion_bonus=insertion_bonus))
            results.append({"path": str(path), "text": decode_text(labels),
                            "seconds": round(samples.shape[0] / self.features.sample_rate, 3)})
        return results


def evaluate_speech_dir(directory: Path, split: str = "test", beam: int | None = None) -> dict[str, Any]:
    """CER/WER of a model directory on a split of its own corpus: greedy, and prefix beam search without and
    with the bigram LM (``beam``, default: the model's own; 1 = greedy only)."""
    recognizer = SpeechRecognizer(directory)
    opts = recognizer.options
    if beam is not None:
        opts.beam = beam
    splits = load_features(corpus_folder(opts), recognizer.features)
    task = make_task(opts, splits, recognizer.lm, 0)
    task.beam_splits = (split,)
    report = task.evaluate(recognizer.model, split, recognizer.device)
    report["synthetic"] = bool(recognizer.config.get("corpus", {}).get("synthetic"))
    return report
