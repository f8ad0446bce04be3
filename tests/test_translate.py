"""Translation: attention, masked loss, greedy/beam decoding, sacreBLEU reports, the CLI end to end, the experiment."""

from __future__ import annotations

import io
import json
import math
import shutil
from pathlib import Path

import pytest
import sacrebleu
import torch

from rnnkit.cli import main
from rnnkit.decode.seq2seq import Hypothesis, beam_search, decode_all, greedy, max_lengths
from rnnkit.metrics.bleu import bleu_report, bucket_drop, corpus_scores, length_bucket
from rnnkit.models.attention import ATTENTIONS, build_attention
from rnnkit.models.seq2seq import DecoderState, Seq2Seq, sequence_loss
from rnnkit.text import BOS, EOS, PAD

FRA = Path(__file__).parent / "fixtures" / "translation" / "fra.txt"
ATTN = ["none", *ATTENTIONS]


def tiny(attention: str = "luong-general", cell: str = "gru", bidirectional: bool = True, seed: int = 0) -> Seq2Seq:
    torch.manual_seed(seed)
    return Seq2Seq(23, 19, cell=cell, embed_dim=8, hidden_size=12, bidirectional=bidirectional,
                   attention=attention, dropout=0.0).eval()


def batch(seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([5, 2, 7, 1])
    src = torch.randint(4, 23, (4, 7), generator=g)
    src[torch.arange(7).unsqueeze(0) >= lengths.unsqueeze(1)] = PAD
    return src, lengths


# ------------------------------------------------------------------------------------------ attention
@pytest.mark.parametrize("name", list(ATTENTIONS))
def test_attention_weights_sum_to_one_and_ignore_padding(name):
    torch.manual_seed(0)
    attention = build_attention(name, 6, 6)
    memory, query = torch.randn(3, 5, 6), torch.randn(3, 4, 6)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], dtype=torch.bool)
    context, weights = attention(query, memory, mask)
    assert context.shape == (3, 4, 6) and weights.shape == (3, 4, 5)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 4))
    assert torch.all(weights.masked_select(~mask.unsqueeze(1).expand_as(weights)) == 0)
    garbage = memory.clone()
    garbage[~mask] = 1e4  # what sits on padding cannot change the context
    torch.testing.assert_close(attention(query, garbage, mask)[0], context)
    one_context, one_weights = attention(query[:, 0], memory, mask)  # one step: (B, Hq) → (B, Hk), (B, S)
    torch.testing.assert_close(one_weights, weights[:, 0])


def test_luong_dot_needs_equal_sizes():
    with pytest.raises(ValueError, match="same size"):
        build_attention("luong-dot", 4, 6)
    assert build_attention("none", 4, 6) is None


# --------------------------------------------------------------------------------------------- model
def test_masked_loss_ignores_padding():
    torch.manual_seed(0)
    logits = torch.randn(2, 4, 7)
    target = torch.tensor([[5, 6, EOS, PAD], [4, EOS, PAD, PAD]])
    loss, n = sequence_loss(logits, target)
    changed = logits.clone()
    changed[target == PAD] = torch.randn(3, 7) * 100
    assert n == 5 and torch.allclose(sequence_loss(changed, target)[0], loss)
    real = target != PAD
    expected = torch.nn.functional.cross_entropy(logits[real], target[real])
    torch.testing.assert_close(loss, expected)
    smoothed, _ = sequence_loss(changed, target, label_smoothing=0.1)
    assert smoothed.item() != loss.item() and math.isfinite(smoothed.item())


@pytest.mark.parametrize("attention", ATTN)
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_parallel_decoder_equals_step_by_step(attention, cell):
    """With full teacher forcing the whole-sequence path (Luong, none) and the input-feeding loop with its
    output layers hoisted (Bahdanau) compute exactly what step() does, weights included."""
    model = tiny(attention, cell)
    src, lengths = batch()
    tgt = torch.randint(4, 19, (4, 6))
    tgt[:, 0] = BOS
    logits, weights = model(src, lengths, tgt)
    state, steps, step_weights = model.start(src, lengths), [], []
    for t in range(tgt.shape[1]):
        step_logits, state, w = model.step(tgt[:, t], state)
        steps.append(step_logits)
        step_weights.append(w)
    torch.testing.assert_close(logits, torch.stack(steps, 1), atol=1e-5, rtol=1e-5)
    assert (weights is None) == (attention == "none")
    if weights is not None:
        torch.testing.assert_close(weights, torch.stack(step_weights, 1), atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("attention", ["bahdanau", "luong-general"])
def test_scheduled_sampling_trains_every_parameter(attention):
    model = tiny(attention, "lstm").train()
    src, lengths = batch()
    tgt = torch.randint(4, 19, (4, 5))
    tgt[:, 0] = BOS
    logits, weights = model(src, lengths, tgt[:, :-1], teacher_forcing=0.5)
    assert logits.shape == (4, 4, 19) and weights.shape == (4, 4, 7)
    sequence_loss(logits, tgt[:, 1:])[0].backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for n, p in model.named_parameters()), \
        [n for n, p in model.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]


def test_no_attention_model_links_source_only_through_the_final_state():
    model = tiny("none")
    state = model.start(*batch())
    assert state.memory is None and state.keys is None and state.rnn.shape == (1, 4, 12)
    plain = tiny("none", bidirectional=False)  # the lecture's model: s_0 is the encoder's final state itself
    src, lengths = batch()
    _, final = plain.encoder(plain.src_embedding(src), lengths=lengths)
    assert plain.bridge is None and torch.equal(plain.start(src, lengths).rnn, final)


# ------------------------------------------------------------------------------------------- decoding
@pytest.mark.parametrize("attention", ATTN)
def test_beam_one_equals_greedy(attention):
    model = tiny(attention)
    src, lengths = batch()
    g, b = greedy(model, src, lengths), beam_search(model, src, lengths, beam=1, length_penalty=0.0)
    assert [h.tokens for h in g] == [h.tokens for h in b]
    for x, y in zip(g, b, strict=True):
        assert x.ended == y.ended
        assert math.isclose(x.score, y.score, rel_tol=1e-5, abs_tol=1e-5)
        if attention != "none":
            torch.testing.assert_close(x.attention, y.attention)


@pytest.mark.parametrize("attention", ["none", "bahdanau", "luong-dot"])
def test_batched_beam_equals_one_sentence_at_a_time(attention):
    model = tiny(attention, seed=3)
    src, lengths = batch(seed=4)
    together = beam_search(model, src, lengths, beam=3)
    for i in range(4):
        n = int(lengths[i])
        alone = beam_search(model, src[i:i + 1, :n], lengths[i:i + 1], beam=3)[0]
        assert alone.tokens == together[i].tokens
        assert math.isclose(alone.score, together[i].score, rel_tol=1e-5, abs_tol=1e-6)
        if attention != "none":
            assert together[i].attention.shape == alone.attention.shape
            torch.testing.assert_close(together[i].attention, alone.attention, atol=1e-5, rtol=1e-4)


class Scripted(torch.nn.Module):
    """A fake decoder that emits ``script[t]`` at step t (then <eos>, or forever ``filler``)."""

    def __init__(self, script: list[int], vocab: int = 9) -> None:
        super().__init__()
        self.script, self.vocab = script, vocab

    def start(self, src, lengths):
        return DecoderState(torch.zeros(1, src.shape[0], 1), None, None, src != PAD)

    def step(self, y, state):
        t = int(state.rnn[0, 0, 0])
        logits = torch.full((y.shape[0], self.vocab), -5.0)
        logits[:, self.script[t] if t < len(self.script) else 5] = 5.0
        return logits, DecoderState(state.rnn + 1, None, None, state.mask), None


def test_decoding_stops_at_eos_and_respects_max_length():
    src, lengths = torch.tensor([[4, 5, 6], [4, 0, 0]]), torch.tensor([3, 1])
    for decode in (greedy, lambda m, s, n: beam_search(m, s, n, beam=3)):
        hyps = decode(Scripted([6, 7, EOS, 8]), src, lengths)
        assert [h.tokens for h in hyps] == [[6, 7], [6, 7]] and all(h.ended for h in hyps)
        endless = decode(Scripted([]), src, lengths)  # never <eos>: ⌈1.5·|x| + 5⌉ tokens
        assert [len(h.tokens) for h in endless] == max_lengths(lengths).tolist() == [10, 7]
        assert not any(h.ended for h in endless)
    assert max_lengths(torch.tensor([4]), a=1.0, b=0.0).tolist() == [4]


def test_decode_all_keeps_input_order():
    model = tiny("luong-general")
    sources = [[5, 6, 7, 8, 9, 10], [4], [7, 8]]
    hyps = decode_all(model, sources, beam=2, batch_size=2)
    assert all(isinstance(h, Hypothesis) for h in hyps)
    assert [h.attention.shape[1] for h in hyps] == [6, 1, 2]
    assert hyps[1].tokens == decode_all(model, [[4]], beam=2)[0].tokens


# ------------------------------------------------------------------------------------------- metrics
def test_bleu_and_chrf_match_sacrebleu():
    hyps = ["the cat sat on the mat", "a dog barked loudly", "hello world"]
    refs = [["the cat sat on a mat"], ["the dog barked loudly", "a dog was barking"], ["hello there world"]]
    scores = corpus_scores(hyps, refs)
    streams = [[r[0] for r in refs], [None, refs[1][1], None]]
    assert math.isclose(scores["bleu"], sacrebleu.corpus_bleu(hyps, streams).score)
    assert math.isclose(scores["chrf"], sacrebleu.corpus_chrf(hyps, streams).score)
    assert "nrefs:var" in scores["signature"]["bleu"] and "version:" in scores["signature"]["chrf"]
    single = corpus_scores(hyps[:1], refs[:1])
    assert math.isclose(single["bleu"], sacrebleu.corpus_bleu(hyps[:1], [[refs[0][0]]]).score)


def test_length_buckets_and_report():
    assert [length_bucket(n) for n in (1, 5, 6, 10, 11, 20, 21, 25, 26, 40)] == \
        ["1-5", "1-5", "6-10", "6-10", "11-15", "16-20", "21-25", "21-25", "26+", "26+"]
    with pytest.raises(ValueError):
        length_bucket(0)
    report = bleu_report(["a b c d", "x y", "a b"], [["a b c d"], ["x z"], ["a b"]], ["bible", "ui", "ui"], [12, 3, 2])
    assert list(report["per_bucket"]) == ["1-5", "11-15"] and report["per_bucket"]["1-5"]["n"] == 2
    assert report["per_domain_bucket"]["ui"]["1-5"]["n"] == 2
    assert list(report["per_domain_bucket"]["bible"]) == ["11-15"]
    assert set(report["per_domain"]) == {"bible", "ui"} and math.isclose(report["per_domain"]["bible"]["bleu"], 100.0)
    assert bucket_drop({"1-5": {"bleu": 40.0}, "21-25": {"bleu": 10.0}}) == 0.75
    assert bucket_drop({"1-5": {"bleu": 0.0}, "21-25": {"bleu": 10.0}}) is None


# ------------------------------------------------------------------------------------------ end to end
@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("mt") / "model"
    code = main(["train", "translate", "--data", str(FRA), "--epochs", "2", "--no-progress", "--embed-dim", "8",
                 "--hidden-size", "8", "--src-bpe", "300", "--tgt-bpe", "300", "--batch-size", "8", "--beam", "2",
                 "--out", str(out)])
    assert code == 0
    return out


def test_train_writes_a_model_directory(trained):
    for name in ("config.json", "model.safetensors", "metrics.json", "history.jsonl", "checkpoint.pt",
                 "src/tokenizer.json", "tgt/tokenizer.json"):
        assert (trained / name).exists(), name
    metrics = json.loads((trained / "metrics.json").read_text())
    test = metrics["test"]
    assert {"bleu", "chrf", "signature", "per_domain", "per_bucket", "greedy", "samples"} <= set(test)
    assert test["decoding"] == "beam 2" and "tatoeba" in test["per_domain"]
    assert len((trained / "history.jsonl").read_text().splitlines()) == 2


def test_a_finished_run_resumes_to_the_same_metrics(trained, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(trained, copy)
    assert main(["train", "translate", "--resume", str(copy), "--json"]) == 0
    out = capsys.readouterr().out
    before = json.loads((trained / "metrics.json").read_text())["test"]["bleu"]
    assert json.loads(out[out.index("{\n"):])["test"]["bleu"] == pytest.approx(before)


def test_translate_cli_args_stdin_plot_and_json(trained, tmp_path, capsys, monkeypatch):
    png = tmp_path / "attn.png"
    assert main(["translate", str(trained), "Voulez-vous chanter avec moi ?", "--beam", "3", "--plot", str(png)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    monkeypatch.setattr("sys.stdin", io.StringIO("Salut !\nJe cours.\n"))
    assert main(["translate", str(trained), "--json"]) == 0
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["text"] for r in results] == ["Salut !", "Je cours."]
    for r in results:
        assert len(r["attention"]) == len(r["target_tokens"])
        assert len(r["attention"][0]) == len(r["source_tokens"])
        assert all(math.isclose(sum(row), 1.0, rel_tol=1e-5) for row in r["attention"])


def test_translate_bad_input(trained, capsys):
    assert main(["translate", str(trained), "Salut !", "   "]) == 1
    assert "input 2 is empty" in capsys.readouterr().err
    long_line = " ".join(["Attends !"] * 30)
    assert main(["translate", str(trained), long_line, "日本語 ☃ ǅ"]) == 0
    captured = capsys.readouterr()
    assert "warning: input 1 has" in captured.err and len(captured.out.splitlines()) == 2


def test_evaluate_cli(trained, capsys):
    assert main(["evaluate", str(trained), "--json", "--beam", "1"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["decoding"] == "greedy" and 0 <= report["bleu"] <= 100 and "per_bucket" in report
    assert main(["evaluate", str(trained)]) == 0
    assert "BLEU" in capsys.readouterr().out


def test_experiment_quick(tmp_path, capsys):
    assert main(["experiment", "bottleneck", "--out", str(tmp_path), "--quick"]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert set(results["arms"]) == {"no attention", "attention", "plain encoder–decoder"}
    plain = json.loads((tmp_path / "plain-encoder-decoder" / "config.json").read_text())
    assert plain["model"]["kwargs"]["bidirectional"] is False and plain["model"]["kwargs"]["attention"] == "none"
    assert set(results["within_domain"]) and "within each domain" in (tmp_path / "report.md").read_text()
    assert (tmp_path / "bleu_by_length.png").stat().st_size > 0
    assert "# Bottleneck" in (tmp_path / "report.md").read_text() and "| attention |" in capsys.readouterr().out
