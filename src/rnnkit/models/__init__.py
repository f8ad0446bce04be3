"""Task heads built on the recurrent layers, and the lecture's baselines.

Models are rebuilt from ``config.json`` as ``{"class": name, "kwargs": {...}}`` through :data:`MODELS`."""

from __future__ import annotations

from typing import Any

from torch import nn

from rnnkit.models.baselines import BagOfWordsClassifier
from rnnkit.models.classifier import RecurrentClassifier
from rnnkit.models.ctc import CTCRecognizer
from rnnkit.models.lm import LanguageModel
from rnnkit.models.seq2seq import Seq2Seq
from rnnkit.models.sequence_classifier import SequenceClassifier
from rnnkit.models.video import VideoClassifier

MODELS: dict[str, type[nn.Module]] = {}


def register_model(cls: type[nn.Module]) -> type[nn.Module]:
    if cls.__name__ in MODELS:
        raise ValueError(f"a model class named {cls.__name__!r} is already registered")
    MODELS[cls.__name__] = cls
    return cls


for _cls in (RecurrentClassifier, BagOfWordsClassifier, LanguageModel, Seq2Seq, CTCRecognizer, SequenceClassifier,
             VideoClassifier):
    register_model(_cls)


def model_spec(cls: type[nn.Module], **kwargs: Any) -> dict[str, Any]:
    return {"class": cls.__name__, "kwargs": kwargs}


def build_model(spec: dict[str, Any]) -> nn.Module:
    """The model a config's ``{"class", "kwargs"}`` describes (weights not loaded)."""
    try:
        cls = MODELS[spec["class"]]
    except KeyError:
        raise ValueError(f"unknown model class {spec.get('class')!r}; known: {', '.join(MODELS)}") from None
    return cls(**spec.get("kwargs", {}))


__all__ = ["MODELS", "BagOfWordsClassifier", "CTCRecognizer", "LanguageModel", "RecurrentClassifier", "Seq2Seq",
           "SequenceClassifier", "VideoClassifier", "build_model", "model_spec", "register_model"]
