"""Language modelling: TBPTT batching, carried state, n-gram baselines, and the train/generate/evaluate CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from rnnkit.cli import main
from rnnkit.data.readers.plays import read_plays
from rnnkit.models.ngram import NGramCounts, bigram_log_probs, perplexity, unigram_log_probs
from rnnkit.tasks.lm import LanguageModelTask
from rnnkit.text.tokenize import WordTokenizer

FIXTURES = Path(__file__).parent / "fixtures"


def _task(n=1000, bptt=8, batch=4):
    ids = torch.arange(n) % 17 + 4
    return LanguageModelTask({"train": ids, "val": ids[:200], "test": ids[:200]}, bptt=bptt, batch_size=batch,
                             seed=5, level="word")


def test_tbptt_windows_are_shifted_targets_and_deterministic():
    task = _task()
    batches = task.train_batches(0)
    for x, y in batches:
        assert x.shape == y.shape == (4, 8)
        assert torch.equal(x[:, 1:], y[:, :-1])  # the target is the next token
    assert all(torch.equal(a[0], b[0]) for a, b in zip(batches, _task().train_batches(0), strict=True))
    offsets = {int(task.train_batches(e)[0][0][0, 0]) for e in range(6)}
    assert len(offsets) > 1  # window boundaries move between epochs


def test_streams_split_between_ranks():
    task = _task()
    r0, r1 = task.train_batches(0, rank=0, world=2), task.train_batches(0, rank=1, world=2)
    assert len(r0) == len(r1)
    assert not torch.equal(r0[0][0], r1[0][0])


def test_state_is_carried_and_reset():
    from rnnkit.models import LanguageModel

    task = _task()
    model = LanguageModel(30, embed_dim=8, hidden_size=8)
    batch = task.train_batches(0)[0]
    task.loss(model, batch, torch.device("cpu"))
    assert task._state is not None and not task._state[0].requires_grad
    saved = task.state_dict()
    task.start_epoch(1)
    assert task._state is None
    task.load_state_dict(saved)
    assert torch.equal(task._state[0], saved["state0"])


def test_ngram_baselines_by_hand():
    ids = torch.tensor([4, 5, 4, 5, 4, 6])  # V = 7
    counts = NGramCounts.fit(ids, 7)
    # P(5 | 4) with add-k: c(4,5)=2, c(4)=3 → (2 + k) / (3 + 7k)
    k = 0.5
    assert bigram_log_probs(counts, torch.tensor([4, 5]), k).exp().item() == pytest.approx((2 + k) / (3 + 7 * k))
    # unigram add-1 over next tokens [5, 4, 5, 4, 6]: P(4) = (2 + 1) / (5 + 7)
    assert unigram_log_probs(counts, torch.tensor([0, 4])).exp().item() == pytest.approx(3 / 12)
    assert perplexity(torch.log(torch.tensor([0.5, 0.5]))) == pytest.approx(2.0)


def test_word_lm_cli_on_wikitext_format(tmp_path, capsys):
    out = tmp_path / "wt"
    assert main(["train", "lm", "--data", str(FIXTURES / "lm" / "wikitext-2"), "--embed-dim", "16", "--hidden-size",
                 "16", "--bptt", "8", "--batch-size", "4", "--epochs", "2", "--min-freq", "1", "--no-progress",
                 "--out", str(out), "--json"]) == 0
    capsys.readouterr()
    result = json.loads((out / "metrics.json").read_text())
    assert result["level"] == "word" and math.isfinite(result["test"]["perplexity"])
    assert set(result["baselines"]) == {"unigram", "bigram", "bigram+unigram"}
    assert result["torch_threads"] == torch.get_num_threads()  # speeds in a results file need their thread count
    assert main(["generate", str(out), "--prompt", "The network", "--length", "60", "--seed", "1"]) == 0
    text = capsys.readouterr().out.rstrip("\n")
    assert text.startswith("The network") and len(text.split()) >= 20
    tokenizer = WordTokenizer()  # spaced as written text: "network's results." not "network 's results ."
    assert any(p in text for p in ".,;") and all(tokenizer.detokenize(tokenizer.tokenize(line)) == line
                                                 for line in text.split("\n"))
    # Python and the CLI share their defaults: the same seed gives the same text
    import rnnkit

    generator = rnnkit.load(out)
    assert main(["generate", str(out), "--prompt", "The network", "--seed", "3"]) == 0
    assert capsys.readouterr().out.rstrip("\n") == generator.generate("The network", seed=3)
    top = [(r["token"], r["prob"]) for r in generator.next_tokens("The network", k=5)]  # "I speak fluent ____"
    assert len(top) == 5 and all(isinstance(t, str) for t, _ in top)
    probs = [p for _, p in top]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
    every = generator.next_tokens("The network", k=10_000)
    assert {r["token"] for r in every} >= {"<eos>"} and sum(r["prob"] for r in every) == pytest.approx(1.0, abs=1e-5)
    assert main(["evaluate", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["perplexity"] == pytest.approx(result["test"]["perplexity"], rel=1e-5)
    assert main(["train", "lm", "--resume", str(out), "--json"]) == 0  # finished: re-evaluates
    resumed = capsys.readouterr().out
    assert json.loads(resumed[resumed.index("{\n"):])["test"]["perplexity"] == pytest.approx(report["perplexity"])
    # a word is not a character: word models report bits per token only
    assert "bits_per_char" not in report
    assert report["bits_per_token"] == pytest.approx(math.log2(report["perplexity"]), rel=1e-9)


def test_char_lm_cli_on_plays(tmp_path, capsys):
    text = "\n\n".join("\n\n".join(speeches) for _, speeches in read_plays(FIXTURES / "lm" / "plays"))
    path = tmp_path / "plays.txt"
    path.write_text(text * 3, encoding="utf-8")
    out = tmp_path / "char"
    assert main(["train", "lm", "--data", str(path), "--tokenizer", "char", "--cell", "gru", "--embed-dim", "8",
                 "--hidden-size", "16", "--bptt", "16", "--batch-size", "4", "--epochs", "1", "--no-progress",
                 "--out", str(out)]) == 0
    assert "bits/char" in capsys.readouterr().out
    test = json.loads((out / "metrics.json").read_text())["test"]
    assert test["bits_per_char"] == test["bits_per_token"]
    assert main(["generate", str(out), "--prompt", "HAMLET:", "--length", "40", "--top-k", "5", "--seed", "0"]) == 0
    generated = capsys.readouterr().out
    assert generated.startswith("HAMLET:") and len(generated.rstrip("\n")) == len("HAMLET:") + 40


def test_generate_rejects_bad_arguments(tmp_path, capsys):
    assert main(["generate", str(tmp_path / "none"), "--prompt", "x"]) == 1
    assert "no model directory" in capsys.readouterr().err
