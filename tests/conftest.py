"""Shared fixtures: small real-format sentiment data written as a user CSV."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
import torch

from rnnkit.data.readers.reviews import read_rt_snippets

FIXTURES = Path(__file__).parent / "fixtures"

# Two CPU-bound test processes on two cores must not each spawn two threads.
torch.set_num_threads(1)
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def reviews_csv(tmp_path_factory) -> Path:
    """The Rotten Tomatoes fixture's 52 real snippets (fresh/rotten) as `text,label` CSV, repeated 3×
    so the seeded 80/10/10 split has a few examples in every split."""
    rows = [(ex.text, "positive" if ex.label == 1 else "negative")
            for _, ex in read_rt_snippets(FIXTURES / "rotten_tomatoes_corpus_full.csv.bz2")]
    path = tmp_path_factory.mktemp("data") / "reviews.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        for k in range(3):
            writer.writerows((f"{text} (take {k})", label) for text, label in rows)
    return path


@pytest.fixture(scope="session")
def serve_models(reviews_csv, tmp_path_factory) -> dict[str, Path]:
    """The tiny served models of the server tests (tests/serving.py), trained once per session."""
    from serving import train_models  # a test helper beside this file; imports the serve extra's test deps

    return train_models(reviews_csv, tmp_path_factory.mktemp("serve-models"))
