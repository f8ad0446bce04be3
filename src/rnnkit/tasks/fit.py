"""``rnnkit.fit``: train a text classifier on a user's own data from Python, without the CLI.

Lists of texts and labels, or pandas DataFrames, go in; a complete model directory comes out — the same
one ``rnnkit train sentiment --train FILE`` writes, so ``rnnkit predict``/``evaluate``/``serve`` and
``rnnkit.load`` accept it. The data is written as CSV files into a folder beside the model directory
(``OUT.data/``), because a model directory records where its data lives (absolute path and sha256) so
that ``rnnkit evaluate`` can find it again later. A call that fails before anything was trained removes the
data folder it wrote (and the model directory it made, or the run's files from a folder that was there), so the
corrected call can run; ``overwrite=True`` replaces an earlier call's model and data (a re-run notebook cell).
"""

from __future__ import annotations

import csv
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from rnnkit.files import atomic_write
from rnnkit.tasks.run import train
from rnnkit.tasks.sentiment import SentimentOptions
from rnnkit.train.config import TrainConfig
from rnnkit.train.rundir import BUSY_NEW, acquire, is_run_directory, release, trained

TEXT, LABEL = "text", "label"
DATA_FILES = ("train.csv", "val.csv", "test.csv")  # what fit writes into OUT.data/


def _pairs(data: Any, labels: Sequence[Any] | None, text_col: str, label_col: str, name: str) -> list[tuple[str, str]]:
    """(text, label) rows of ``data``: a DataFrame with ``text_col``/``label_col``, or texts with ``labels``."""
    if hasattr(data, "columns"):  # a pandas DataFrame (pandas is never imported here)
        missing = [c for c in (text_col, label_col) if c not in data.columns]
        if missing:
            raise ValueError(f"{name}: the DataFrame has no column {missing[0]!r} (columns: {list(data.columns)}); "
                             "pass text_col=/label_col=")
        texts, labels = list(data[text_col]), list(data[label_col])
    else:
        if labels is None:
            raise ValueError(f"{name}: give the labels too (a list as long as the texts), or a DataFrame")
        texts, labels = list(data), list(labels)
    if len(texts) != len(labels):
        raise ValueError(f"{name}: {len(texts)} texts but {len(labels)} labels")
    if not texts:
        raise ValueError(f"{name}: no examples")
    for i, (text, label) in enumerate(zip(texts, labels, strict=True)):
        if not isinstance(text, str):
            raise ValueError(f"{name}: text {i} is a {type(text).__name__}, not a string")
        if not isinstance(label, (str, int)) or isinstance(label, bool):
            raise ValueError(f"{name}: label {i} is {label!r}; labels are strings or integers")
    return [(text, str(label)) for text, label in zip(texts, labels, strict=True)]


def _write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow([TEXT, LABEL])
            writer.writerows(rows)

    return atomic_write(path, write)


def fit_classifier(texts: Any, labels: Sequence[Any] | None = None, *, out: str | Path, val: Any = None,
        val_labels: Sequence[Any] | None = None, test: Any = None, test_labels: Sequence[Any] | None = None,
        text_col: str = TEXT, label_col: str = LABEL, overwrite: bool = False, log: Callable[[str], None] = print,
        **settings: Any) -> dict[str, Any]:
    """Train a sentiment-style classifier on your own examples into the model directory ``out``.

    Args:
        texts, labels: the training texts and their labels (strings or integers), or a DataFrame with
            ``text_col``/``label_col`` as ``texts``.
        val, test: validation and test data in the same form (``val_labels``/``test_labels`` with lists);
            a missing one is carved from the training data (seeded, stratified, 10 % each).
        overwrite: replace a model an earlier ``rnnkit.fit`` wrote into ``out`` (and its ``OUT.data/``), e.g.
            when a notebook cell runs again. The old run is kept until the new one has trained, and comes back
            if the new one fails; a folder that is not an rnnkit model directory is never replaced.
        settings: any ``rnnkit train sentiment`` option (``cell="gru"``, ``hidden_size=128``, ``model="bow"``,
            …) or training setting (``epochs=5``, ``lr=1e-3``, ``seed=13``, ``progress=False``, …), by its
            Python name.

    Returns:
        The run's metrics, as ``rnnkit train --json`` prints them (``["test"]["accuracy"]``, …);
        ``rnnkit.load(out)`` gives the predictor.
    """
    out = Path(out)
    option_names, train_names = _setting_names(settings)
    folder = out.with_name(out.name + ".data")
    aside = _set_aside(out, folder, log) if overwrite else _refuse_used(out, folder)
    made = not folder.exists()
    try:
        files = {"train": _write_csv(folder / "train.csv", _pairs(texts, labels, text_col, label_col, "texts"))}
        for name, data, given in (("val", val, val_labels), ("test", test, test_labels)):
            if data is not None:
                files[name] = _write_csv(folder / f"{name}.csv", _pairs(data, given, text_col, label_col, name))
        opts = SentimentOptions(**{k: str(v) for k, v in files.items()},
                                **{k: v for k, v in settings.items() if k in option_names})
        cfg = TrainConfig(**{k: v for k, v in settings.items() if k in train_names})
        metrics = train(opts, cfg, out, log=log)
    except BaseException:
        if made and not trained(out):  # nothing trained on it: the data folder this call wrote goes too
            shutil.rmtree(folder, ignore_errors=True)
        _restore(aside)
        raise
    for _, kept in aside:  # the new run trained: the one it replaces goes
        shutil.rmtree(kept, ignore_errors=True)
    return metrics


def _setting_names(settings: dict[str, Any]) -> tuple[set[str], set[str]]:
    """The option and training-setting names ``fit`` takes; an unknown one in ``settings`` is an error."""
    option_names = {f.name for f in fields(SentimentOptions)} - {"data", "train", "val", "test"}
    train_names = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(settings) - option_names - train_names)
    if unknown:
        raise ValueError(f"unknown setting {unknown[0]!r}; options: {', '.join(sorted(option_names))}; training: "
                         f"{', '.join(sorted(train_names))}")
    return option_names, train_names


def _refuse_used(out: Path, folder: Path) -> list[tuple[Path, Path]]:
    """Without ``overwrite``: refuse an ``out`` that holds a model, or whose data folder holds data."""
    if folder.exists() and any(folder.iterdir()):
        raise ValueError(f"{folder} already holds data: pass overwrite=True to replace the model in {out} and its "
                         "data, or choose another out=")
    if trained(out):
        raise ValueError(f"{out} already holds a model: pass overwrite=True to replace it, or choose another out=")
    return []


def _set_aside(out: Path, folder: Path, log: Callable[[str], None]) -> list[tuple[Path, Path]]:
    """``overwrite``: move a previous run in ``out`` and its data ``folder`` aside (hidden names beside them),
    after checking that they are what ``rnnkit.fit`` writes and that no run is training there. Returns
    (original, set-aside) pairs for :func:`_restore`."""
    if out.exists() and not is_run_directory(out):
        raise ValueError(f"overwrite=True: {out} is not an rnnkit model directory; it is never replaced - choose "
                         "another out=")
    if folder.exists() and not (folder.is_dir() and all(p.name in DATA_FILES for p in folder.iterdir())):
        raise ValueError(f"overwrite=True: {folder} holds files rnnkit.fit did not write; it is never replaced - "
                         "choose another out=")
    if out.exists():
        acquire(out, log, BUSY_NEW)  # refuses while another process trains into it
        release(out)
    aside = []
    for path in (out, folder):
        if path.exists():
            kept = path.with_name(f".{path.name}.replaced-{os.getpid()}")
            shutil.rmtree(kept, ignore_errors=True)  # a leftover of an earlier interrupted call of this process
            path.rename(kept)
            aside.append((path, kept))
    return aside


def _restore(aside: list[tuple[Path, Path]]) -> None:
    """Put back what :func:`_set_aside` moved (the new run failed), replacing what the failed run left."""
    for path, kept in aside:
        if path.exists():
            release(path)
            shutil.rmtree(path)
        kept.rename(path)
