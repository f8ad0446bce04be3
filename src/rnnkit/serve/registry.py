"""The models a server holds: each loaded once at start with ``rnnkit.load``, named by its folder, and the
endpoints its task offers. The adapters here turn predictor results into the API's JSON shapes."""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnkit.serve.schemas import MAX_TRACE_VALUES
from rnnkit.tasks import TASKS
from rnnkit.tasks.run import load
from rnnkit.tracing.trace import recurrent_encoder


@dataclass
class ServedModel:
    """One served model directory: its public name, task, cell, labels and the loaded predictor."""

    name: str
    task: str
    cell: str | None
    labels: list[str] | None
    predictor: Any

    @property
    def endpoints(self) -> tuple[str, ...]:
        """The endpoints its application offers over HTTP (``App.http`` in :data:`rnnkit.tasks.TASKS`)."""
        app = TASKS.get(self.task)
        return app.http if app is not None else ()

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "task": self.task, "cell": self.cell, "labels": self.labels,
                "endpoints": list(self.endpoints)}

    def warm_up(self) -> None:
        """One small call before serving, so the first request does not pay for first-use work (a backend's
        kernel build, allocator growth)."""
        if "transcribe" in self.endpoints:
            import numpy as np

            self.predictor.transcribe(np.zeros(self.predictor.features.sample_rate // 2, dtype=np.float32))
        elif "predict" in self.endpoints:
            self.predict_many(["a short warm up text"])
        elif "next_tokens" in self.endpoints:
            self.next_tokens("", 1)
        elif "translate" in self.endpoints:
            self.translate(["a"], 1, False)

    def predict_many(self, texts: list[str]) -> list[dict[str, Any]]:
        """The predictor's result per text (the keys Python and ``--json`` give), from one batched forward pass."""
        return self.predictor.predict(list(texts))

    def trace(self, text: str) -> dict[str, Any]:
        """The gates per token (``GateTrace.to_dict()``) and, for a classifier, its prediction.

        Raises:
            ValueError: the trace holds more than :data:`MAX_TRACE_VALUES` numbers (it is refused before
                it is turned into JSON, which takes ~10 bytes a number).
        """
        prediction = self.predict_many([text])[0] if "predict" in self.endpoints else None
        gates = self.predictor.trace(text)
        values = sum(layer.h.size + sum(v.size for v in layer.gates.values()) for layer in gates.layers)
        if values > MAX_TRACE_VALUES:
            arrays = sum(1 + len(layer.gates) for layer in gates.layers)
            raise ValueError(f"the trace of this text holds {values:,} numbers ({len(gates.tokens)} tokens x "
                             f"{arrays} arrays of units); the limit is {MAX_TRACE_VALUES:,}: send a shorter text")
        return {"prediction": prediction, **gates.to_dict()}

    def next_tokens(self, prompt: str, k: int) -> list[dict[str, Any]]:
        """The ``k`` most probable next tokens, ``{token, prob}`` each (``<eos>`` is a line break)."""
        return self.predictor.next_tokens(prompt, k)

    def generate(self, prompt: str, length: int, temperature: float | None, top_k: int | None, seed: int | None, *,
                 on_token: Callable[[str, float], None], stop: threading.Event) -> str:
        """Sample token by token, calling ``on_token(token, prob)`` after each (a vocabulary token; ``"\n"`` for
        ``<eos>``); stops early when ``stop`` is set. Returns the prompt and its continuation as text."""
        out: list[int] = []
        for token, piece, prob in self.predictor.pieces(prompt, length, temperature=temperature, top_k=top_k,
                                                        seed=seed):
            out.append(token)
            on_token(piece, prob)
            if stop.is_set():
                break
        return self.predictor.continuation(prompt, out)

    def translate(self, texts: list[str], beam: int, attention: bool) -> list[dict[str, Any]]:
        """The predictor's result per sentence (the keys Python and ``--json`` give): translation, subword tokens,
        the beam's candidates and, on request, the attention matrix."""
        return self.predictor.translate(list(texts), beam=beam, attention=attention)

    def transcribe(self, wav: bytes) -> str:
        """The greedy transcript of one WAV file's bytes (any rate and channel count)."""
        with tempfile.TemporaryDirectory(prefix="rnnkit-serve-") as tmp:
            path = Path(tmp) / "audio.wav"
            path.write_bytes(wav)
            try:
                return self.predictor.transcribe(path)["text"]
            except ValueError as exc:  # an unreadable file: say so without the server's temporary path
                raise ValueError(str(exc).replace(str(path), "the uploaded audio")) from None


def unique_names(dirs: Sequence[Path]) -> list[str]:
    """Folder names, the repeats numbered: ``runs/a/lstm``, ``runs/b/lstm`` -> ``lstm``, ``lstm-2``. A link is
    named as given (``runs/sentiment-lstm``, the latest run's link -> ``sentiment-lstm``), not as its target."""
    names: list[str] = []
    for directory in dirs:
        base = Path(os.path.abspath(directory)).name or "model"  # abspath: "." gets the folder's name
        name = base
        n = 2
        while name in names:
            name = f"{base}-{n}"
            n += 1
        names.append(name)
    return names


def cell_of(predictor: Any) -> str | None:
    """The recurrent cell's name (``lstm``, ``gru``, …), or None for a model without one (bag of words)."""
    try:
        return recurrent_encoder(predictor.model).cell.name
    except ValueError:
        return None


def load_models(dirs: Sequence[Path], names: Sequence[str] | None = None) -> list[ServedModel]:
    """Load every directory with ``rnnkit.load`` (a bad one stops the start with its one-line error), named
    ``names`` (default: their folder names, repeats numbered)."""
    if not dirs:
        raise ValueError("give one or more model directories to serve")
    if names is not None:
        repeated = sorted({n for n in names if list(names).count(n) > 1})
        if repeated:
            raise ValueError(f"two served models would be named '{repeated[0]}' (a directory and an --examples "
                             "model?): serve a directory under another folder name")
        if len(names) != len(dirs):
            raise ValueError(f"{len(names)} names for {len(dirs)} model directories")
    models = []
    for name, directory in zip(names or unique_names(dirs), dirs, strict=True):
        predictor = load(directory)
        config = predictor.config
        served = ServedModel(name=name, task=config["task"], cell=cell_of(predictor), labels=config.get("labels"),
                             predictor=predictor)
        served.warm_up()
        models.append(served)
    return models
