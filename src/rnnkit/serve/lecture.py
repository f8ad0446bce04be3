"""The lecture view of the page: every example the lecture shows, as a card that runs on the served models,
next to the baseline the lecture names — and the ``--examples`` folders that bring those models in.

The sentences are read from the experiments that run them (one source): "There is nothing to like in this
movie." and the food pair, "Voulez-vous chanter avec moi ?" and the fox sentence from
:mod:`rnnkit.experiments.examples`, the France sentence from :mod:`rnnkit.experiments.cloze_data`. Each card
names a *role* (a recurrent sentiment model, a bag of words, a language model, …) and takes the served
model that fills it; a card whose model is not served says which command trains it.

    GET  /api/lecture                the cards, resolved against the served models
    GET  /api/lecture/audio/fox      the spoken fox sentence `rnnkit experiment examples` synthesised (WAV)
    POST /api/previous_word          the previous-word (bigram) model of a served language model's training text

``rnnkit serve --examples DIR …`` takes the folders of ``rnnkit experiment examples`` (its models
``sentiment``, ``bow``, ``translate``, ``speech`` and the spoken sentence ``fox/``) and of ``rnnkit experiment
cloze`` (one language model per cell, at the learning rate it chose: served as ``cloze-rnn``, ``cloze-lstm``,
``cloze-gru``).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse

from rnnkit.experiments.cloze import CELLS, bigram_next, previous_word_model, prompt_ids
from rnnkit.experiments.cloze_data import LECTURE
from rnnkit.experiments.examples import ENGLISH, FOOD, FOX, FRENCH, NOTHING, SLOTS
from rnnkit.serve.errors import ApiError
from rnnkit.serve.registry import ServedModel
from rnnkit.serve.schemas import MAX_CHARS, NextTokensResponse, PreviousWordRequest

EXAMPLES = "rnnkit experiment examples --quick --out runs/examples"
CLOZE = "rnnkit experiment cloze --quick --out runs/cloze"
FOX_WAV = Path("fox") / "wav" / "test" / "fox.wav"  # where `experiment examples` writes the spoken sentence


@dataclass(frozen=True)
class Card:
    """One example of the lecture: what it runs, on which role's model, next to which baseline."""

    id: str
    title: str
    inputs: tuple[str, ...]
    role: str
    baseline: str | None
    look: tuple[str, ...]
    train: str


CARDS = (
    Card("nothing", "“Nothing to like”: a negation the words alone miss", (NOTHING,), "sentiment", "bow",
         ("“like” is a positive word; the review is negative.",
          "The bag of words adds up its words' weights; the recurrent network reads them in order.",
          "Look at which model puts more probability on negative."), EXAMPLES),
    Card("food", "The food pair: same words, opposite meaning", FOOD, "sentiment", "bow",
         ("Both sentences hold exactly the same words.",
          "A bag of words must give them the same probabilities; a recurrent network reads the order and can "
          "tell them apart.", "Compare the two rows of each model."), EXAMPLES),
    Card("france", "“I speak fluent ___”: memory over a sentence", (LECTURE["text"],), "lm", "previous-word",
         (f"The answer, “{LECTURE['answer']}”, depends on “France”, at the start of the text; “Boston”, closer, "
          "points to another language.",
          "The previous-word model sees only “fluent”: its ranking is the same after any sentence.",
          f"Look for “{LECTURE['answer']}” in each ranking."), CLOZE),
    Card("french", "“Voulez-vous chanter avec moi ?”: attention", (FRENCH,), "translate", None,
         (f"The reference translation is “{ENGLISH}”.",
          "Each row of the matrix is one English word the decoder wrote; its colours show which French words it "
          "looked at while writing it.", "A good model's bright cells run roughly along the diagonal."), EXAMPLES),
    Card("fox", "The fox sentence, spoken", (FOX,), "speech", None,
         ("A synthetic voice the recognizer never heard in training speaks the sentence.",
          "The recognizer (CTC) writes letters from 10-ms audio frames; the transcript is what it heard.",
          "Compare the transcript with the sentence, letter by letter."), EXAMPLES),
)

# which served model fills a role: the task, whether it has a recurrent cell, the names preferred
ROLES = {"sentiment": ("sentiment", True, ("sentiment",)), "bow": ("sentiment", False, ("bow",)),
         "lm": ("lm", True, tuple(f"cloze-{c}" for c in reversed(CELLS))),
         "translate": ("translate", True, ("translate",)), "speech": ("speech-ctc", True, ("speech",))}


def role_model(models: Sequence[ServedModel], role: str) -> ServedModel | None:
    """The served model that fills ``role``: the preferred name if served, else the first of the task."""
    task, recurrent, preferred = ROLES[role]
    fits = [m for m in models if m.task == task and (m.cell is not None) == recurrent]
    for name in preferred:
        for m in fits:
            if m.name == name:
                return m
    return fits[0] if fits else None


def card_json(card: Card, models: Sequence[ServedModel], audio: Path | None) -> dict[str, Any]:
    """A card as the page reads it: the served model names (null: not served, ``missing`` says the command)."""
    model = role_model(models, card.role)
    baseline = None
    if card.baseline == "previous-word":
        baseline = model.name if model is not None else None
    elif card.baseline is not None:
        found = role_model(models, card.baseline)
        baseline = found.name if found is not None else None
    missing = None
    if model is None or (card.baseline is not None and baseline is None) or (card.id == "fox" and audio is None):
        missing = f"not served: train the models with `{card.train}` and start `rnnkit serve --examples` on its folder"
    data = {"id": card.id, "title": card.title, "inputs": list(card.inputs), "look": list(card.look),
            "model": model.name if model else None, "baseline": baseline, "baseline_kind": card.baseline,
            "missing": missing}
    if card.id == "france":
        data["answer"] = LECTURE["answer"]
        if {"cloze-rnn", "cloze-lstm"} <= {m.name for m in models}:
            data["compare"] = {"a": "cloze-rnn", "b": "cloze-lstm"}  # Elman vs LSTM gates on the sentence
    if card.id == "french":
        data["reference"] = ENGLISH
    if card.id == "fox":
        data["audio"] = "/api/lecture/audio/fox" if audio is not None else None
    return data


def example_dirs(folders: Sequence[Path]) -> tuple[list[tuple[str, Path]], Path | None]:
    """The (name, model directory) pairs of ``--examples`` folders, and the spoken fox sentence if one holds it.

    A folder is the ``--out`` of ``rnnkit experiment examples`` (the models its ``results.json`` names —
    ``sentiment``, ``bow``, ``translate``, ``speech``, trained there or given with ``--models`` — and the
    spoken sentence it synthesised) or of ``rnnkit experiment cloze`` (``models/<cell>/lr<lr>-seed0``, the
    learning rate its ``results.json`` chose, served as ``cloze-<cell>``)."""
    found: list[tuple[str, Path]] = []
    audio = None
    for folder in folders:
        results = Path(folder) / "results.json"
        if not results.is_file():
            raise ValueError(f"--examples {folder}: no results.json there; give the --out folder of `{EXAMPLES}` "
                             f"or `{CLOZE}`")
        data = json.loads(results.read_text(encoding="utf-8"))
        experiment = data.get("experiment")
        if experiment == "examples":
            # where results.json says, else where the experiment writes them (runs before examples.py recorded
            # absolute paths wrote a relative --out as given, relative to their working directory)
            models = data.get("models", {})
            for slot in (s for s in SLOTS if s in models):
                recorded = _resolved(folder, models[slot])
                found.append((slot, _first([recorded, Path(folder) / slot], "config.json") or recorded))
            wav = data.get("speech", {}).get("wav")
            if wav is not None:
                audio = _first([_resolved(folder, wav), Path(folder) / FOX_WAV]) or audio
        elif experiment == "cloze":
            for cell, result in data["cells"].items():
                found.append((f"cloze-{cell}", Path(folder) / "models" / cell / f"lr{result['lr']:g}-seed0"))
        else:
            raise ValueError(f"--examples {folder}: it holds the {experiment!r} experiment; give the --out folder of "
                             f"`{EXAMPLES}` or `{CLOZE}`")
    return found, audio


def _resolved(folder: Path, path: str) -> Path:
    """A path as results.json records it (:func:`rnnkit.experiments.record.portable`): relative to the folder,
    under ``~``, or absolute."""
    found = Path(path).expanduser()
    return found if found.is_absolute() else Path(folder) / found


def _first(candidates: Sequence[Path], wanted: str | None = None) -> Path | None:
    """The first candidate that is a file (``wanted``: that holds the file ``wanted``)."""
    for candidate in candidates:
        if (candidate / wanted if wanted else candidate).is_file():
            return candidate
    return None


class PreviousWord:
    """The previous-word (add-k bigram) model of each served language model, counted once on first use from the
    model's own training text (k as its run tuned it on validation: the lecture's baseline for the France
    sentence, exactly as the cloze experiment scores it)."""

    def __init__(self) -> None:
        self._counts: dict[str, Any] = {}
        self._lock = threading.Lock()

    def next_words(self, served: ServedModel, prompt: str, k: int) -> list[dict[str, Any]]:
        """The ``k`` most probable words after the prompt's last word, ``{token, prob}`` each."""
        lm = served.predictor
        with self._lock:
            if served.name not in self._counts:
                try:
                    self._counts[served.name] = previous_word_model(lm)
                except (OSError, ValueError) as exc:
                    raise ValueError(f"the previous-word model of '{served.name}' counts its training text, which "
                                     f"cannot be read here ({str(exc).splitlines()[0]})") from None
            counts, add_k = self._counts[served.name]
        last = prompt_ids(lm, prompt)[-1]
        probs = bigram_next(counts, add_k, [last])[0]  # (V,)
        top = probs.topk(min(k, probs.numel()))
        vocab = lm.encoder.vocab
        return [{"token": vocab.id_to_token(int(i)), "prob": float(p)}
                for i, p in zip(top.indices, top.values, strict=True)]


def lecture_router(models: Sequence[ServedModel], audio: Path | None = None) -> APIRouter:
    """The lecture view's endpoints over ``models`` (``audio``: the spoken fox sentence, if a folder held it)."""
    router = APIRouter()
    by_name = {m.name: m for m in models}
    previous = PreviousWord()

    @router.get("/api/lecture")
    async def cards() -> dict:
        """The lecture's examples as cards: inputs, what to look at, the served model and baseline of each."""
        return {"cards": [card_json(card, models, audio) for card in CARDS]}

    @router.get("/api/lecture/audio/fox", response_class=FileResponse)
    async def fox() -> FileResponse:
        """The lecture's fox sentence as `rnnkit experiment examples` spoke it (a voice held out of training)."""
        if audio is None:
            raise ApiError(404, f"no spoken sentence is served: run `{EXAMPLES}` and serve with --examples on it")
        return FileResponse(audio, media_type="audio/wav")

    @router.post("/api/previous_word", response_model=NextTokensResponse)
    async def previous_word(req: PreviousWordRequest) -> dict:
        """The previous-word model's k most likely next words (the lecture's baseline for the France sentence)."""
        served = by_name.get(req.model)
        if served is None:
            raise ApiError(404, f"no model named '{req.model}'; served: {', '.join(sorted(by_name))}")
        if served.task != "lm":
            raise ApiError(400, f"model '{req.model}' is a {served.task} model; the previous-word model is counted "
                                "on a language model's training text")
        if not req.prompt.strip():  # its length and k are the schema's (422)
            raise ApiError(400, f"prompt must have 1 to {MAX_CHARS:,} characters with at least one word")
        try:
            tokens = await asyncio.to_thread(previous.next_words, served, req.prompt, req.k)
        except ValueError as exc:
            raise ApiError(400, str(exc).splitlines()[0]) from None
        return {"tokens": tokens}

    return router
