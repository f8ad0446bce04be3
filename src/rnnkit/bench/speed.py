"""The speed harness behind ``rnnkit bench``: rnnkit next to ``torch.nn`` in one process, one run.

* layers — forward and forward+backward tokens/s of every cell × backend, ratio to its torch.nn twin;
* streaming — µs per step at batch 1 through ``Recurrent.step`` vs torch.nn one step at a time and
  vs torch.nn on the whole sequence;
* denormals — backprop through a long sequence with and without flushing denormal floats;
* training loop — tokens/s of rnnkit's ``train_loop`` vs a minimal hand-written PyTorch loop on the same
  batches and model (the wrapper's overhead).
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from rnnkit.bench.timing import time_interleaved
from rnnkit.nn import CELLS, Recurrent, get_cell
from rnnkit.train.task import Task


def torch_twin(cell: str) -> str:
    """The torch.nn layer a user would reach for instead, as each cell declares it: the same function where
    torch.nn has it (``kernels.fused``), else its ``torch_twin`` — nn.GRU for the reset-before GRU, nn.LSTM for
    the LayerNorm-LSTM (different functions, the practical anchors)."""
    declared = get_cell(cell)
    return declared.kernels.fused or declared.torch_twin


def _torch_module(cell: str, E: int, H: int) -> torch.nn.Module:
    mode = torch_twin(cell)
    if mode.startswith("RNN"):
        return torch.nn.RNN(E, H, nonlinearity=mode[4:].lower())
    return getattr(torch.nn, mode)(E, H)


def _sync(device: str):
    return torch.cuda.synchronize if device.startswith("cuda") else None


def bench_layer(cell: str, *, B: int, T: int, E: int, H: int, backward: bool = True, warmup: int = 2,
                repeats: int = 5, device: str = "cpu") -> list[dict]:
    """One layer of ``cell`` with each of its backends next to its ``torch.nn`` twin.

    For the reset-before GRU the twin is ``nn.GRU``: a different function, but the anchor a user who
    wants "a GRU" would pick. ``speed_vs_torch_nn`` > 1 means faster than torch.nn."""
    torch.manual_seed(0)
    x = torch.randn(T, B, E, device=device, requires_grad=backward)
    def runner(module: torch.nn.Module):
        def run() -> None:
            out, _ = module(x)
            if backward:
                out.sum().backward()

        if backward:
            return run
        return lambda: torch.no_grad()(run)()

    modules: dict[str, torch.nn.Module] = {"torch.nn": _torch_module(cell, E, H).to(device)}
    for backend in ("reference", "auto"):
        layer = Recurrent(cell, E, H, backend=backend).to(device)
        runner(layer)()  # named after the backend that actually runs this call (layer.last_backend)
        modules.setdefault(layer.last_backend, layer)

    # Each backend is timed in a pair with its torch.nn twin: with a third candidate in the round, the
    # reference loop's allocation churn slowed whichever call came after it by 3-6 %.
    timings, ratios = {}, {"torch.nn": 1.0}
    for name, module in modules.items():
        if name == "torch.nn":
            continue
        pair = time_interleaved({"torch.nn": runner(modules["torch.nn"]), name: runner(module)}, warmup=warmup,
                                repeats=repeats, sync=_sync(device))
        timings.setdefault("torch.nn", pair["torch.nn"])
        timings[name] = pair[name]
        ratios[name] = pair["torch.nn"]["median_s"] / pair[name]["median_s"]
    return [{"cell": cell, "backend": name, "B": B, "T": T, "E": E, "H": H,
             "pass": "forward+backward" if backward else "forward", **t,
             "tokens_per_s": B * T / t["median_s"], "speed_vs_torch_nn": ratios[name]}
            for name, t in timings.items()]


def stepper(step: Callable, x: torch.Tensor, state: object = None) -> Callable[[], None]:
    """A call that feeds x (T, B, I) to ``step(x_t, state) -> (out, state)`` one input at a time, from ``state``
    (``None``: the step's own zeros) — streaming, as a timing candidate."""
    def run() -> None:
        s = state
        for t in range(x.shape[0]):
            _, s = step(x[t], s)
    return run


@torch.no_grad()
def bench_streaming(cell: str, *, T: int = 256, E: int = 128, H: int = 256, repeats: int = 5,
                    device: str = "cpu") -> dict:
    """µs per step at batch 1: ``Recurrent.step`` vs the torch.nn twin called step by step and on the
    whole sequence, and ``nn.LSTM`` on the whole sequence (the per-step anchor of the issue)."""
    torch.manual_seed(0)
    x = torch.randn(T, 1, E, device=device)
    ours = Recurrent(cell, E, H).to(device).eval()
    twin = _torch_module(cell, E, H).to(device).eval()
    lstm = torch.nn.LSTM(E, H).to(device).eval()

    candidates = {
        "rnnkit step()": stepper(ours.step, x),
        "rnnkit whole sequence": lambda: ours(x),
        "torch.nn one step at a time": stepper(lambda xt, s: twin(xt.unsqueeze(0), s), x),
        "torch.nn whole sequence": lambda: twin(x),
        "nn.LSTM whole sequence": lambda: lstm(x),
    }
    timings = time_interleaved(candidates, warmup=1, repeats=repeats, sync=_sync(device))
    per_step = {name: t["median_s"] / T * 1e6 for name, t in timings.items()}
    return {"cell": cell, "backend": ours.last_backend, "T": T, "E": E, "H": H, "us_per_step": per_step,
            "step_vs_nn_lstm": per_step["rnnkit step()"] / per_step["nn.LSTM whole sequence"]}


def bench_denormals(*, T: int = 400, B: int = 16, E: int = 32, H: int = 128, repeats: int = 3) -> dict:
    """Forward+backward of a tanh RNN through a long sequence, denormals flushed or not.

    Gradients that vanish over hundreds of steps pass through the denormal range, where x86 floating
    point runs microcode ~100× slower; ``torch.set_flush_denormal(True)`` (rnnkit's default in
    ``train_loop`` and the harness) rounds them to zero."""
    torch.manual_seed(0)
    layer = Recurrent("rnn", E, H)
    with torch.no_grad():
        layer.weight_hh_l0.mul_(0.3)  # a contracting recurrence: gradients decay geometrically
    x = torch.randn(T, B, E, requires_grad=True)

    def run() -> None:
        out, _ = layer(x)
        out[-1].sum().backward()

    result = {}
    for flush in (False, True):
        torch.set_flush_denormal(flush)
        t = time_interleaved({"run": run}, warmup=1, repeats=repeats)["run"]
        result["flushed" if flush else "not flushed"] = t["median_s"]
    torch.set_flush_denormal(True)
    return {"T": T, "B": B, "H": H, "seconds": result,
            "slowdown_without_flush": result["not flushed"] / result["flushed"]}


class _FixedBatches(Task):
    """A task over ready-made batches, for timing the loop around a model's loss."""

    name, metric, higher_is_better = "bench", "loss", False

    def __init__(self, batches: list, loss_fn: Callable) -> None:
        self.batches, self.loss_fn = batches, loss_fn

    def train_batches(self, epoch: int, rank: int = 0, world: int = 1) -> list:
        return self.batches

    def loss(self, model, batch, device):
        return self.loss_fn(model, batch)

    @torch.no_grad()
    def evaluate(self, model, split: str, device) -> dict:
        model.eval()
        return {"loss": float(self.loss_fn(model, self.batches[0])[0])}


def _loop_overhead(new_model: Callable[[], torch.nn.Module], batches: list, loss_fn: Callable,
                   repeats: int) -> dict:
    """items/s of ``train_loop`` and of the minimal loop below on the same model, batches and optimizer."""
    from rnnkit.train.config import TrainConfig
    from rnnkit.train.loop import train_loop

    task = _FixedBatches(batches, loss_fn)
    items = sum(batch[-1] for batch in batches)  # every batch carries its item count last

    def hand_loop() -> None:
        model = new_model()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        model.train()
        for batch in batches:
            loss, _ = loss_fn(model, batch)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()

    fit_rates: list[float] = []

    def rnnkit_fit() -> None:
        with tempfile.TemporaryDirectory() as out:
            train_loop(new_model(), task, TrainConfig(epochs=1, progress=False, checkpoint_every_s=1e9), Path(out),
                log=lambda _: None)
            record = json.loads((Path(out) / "history.jsonl").read_text().splitlines()[0])
            fit_rates.append(record["train_items_per_s"])

    hand_loop()  # warm-up of both (first calls allocate and initialise kernels)
    rnnkit_fit()
    fit_rates.clear()
    hand_times = []
    for _ in range(repeats):  # interleaved by hand: fit's own clock excludes its evaluation and writes
        start = time.perf_counter()
        hand_loop()
        hand_times.append(time.perf_counter() - start)
        rnnkit_fit()
    hand_rate = items / sorted(hand_times)[len(hand_times) // 2]
    fit_rate = sorted(fit_rates)[len(fit_rates) // 2]
    return {"items": items, "hand_written_tokens_per_s": hand_rate, "rnnkit_fit_tokens_per_s": fit_rate,
            "ratio": fit_rate / hand_rate}


def bench_training_loop(*, batches: int = 30, B: int = 32, T: int = 40, vocab: int = 5000, cell: str = "lstm",
                        hidden: int = 256, repeats: int = 3) -> dict:
    """Sentiment: tokens/s of ``train_loop`` vs a minimal hand-written loop (same classifier, batches, optimizer,
    clipping); the ratio is the loop's overhead. Random token ids: only speed is measured."""
    from rnnkit.models import RecurrentClassifier
    from rnnkit.text import PadCollator

    g = torch.Generator().manual_seed(0)
    collate = PadCollator()
    data = []
    for _ in range(batches):
        lengths = torch.randint(T - 3, T + 1, (B,), generator=g).tolist()  # bucketed, as the task batches
        batch = collate([(torch.randint(4, vocab, (k,), generator=g).tolist(), int(torch.randint(0, 2, (1,))))
                         for k in lengths])
        data.append((batch.tokens, batch.lengths, batch.labels, int(batch.lengths.sum())))

    def loss_fn(model, batch):
        tokens, lengths, labels, n = batch
        return torch.nn.functional.cross_entropy(model(tokens, lengths), labels), n

    def new_model() -> torch.nn.Module:
        torch.manual_seed(0)
        return RecurrentClassifier(vocab, 2, cell=cell, embed_dim=128, hidden_size=hidden, pooling="last", dropout=0.3,
                                   embed_dropout=0.1)  # the settings the stored benchmark results ran with

    return {"task": "sentiment", "cell": cell, "batches": batches, "B": B, "T": T, "hidden": hidden,
            **_loop_overhead(new_model, data, loss_fn, repeats)}


def bench_translate_loop(*, batches: int = 20, B: int = 64, T: int = 20, vocab: int = 4000, hidden: int = 256,
                         repeats: int = 3) -> dict:
    """Translation: target tokens/s of ``train_loop`` vs a minimal loop for the default seq2seq (GRU, Luong)."""
    from rnnkit.models.seq2seq import Seq2Seq, sequence_loss
    from rnnkit.text import PadCollator

    g = torch.Generator().manual_seed(0)
    collate = PadCollator()
    data = []
    for _ in range(batches):
        src = collate([torch.randint(4, vocab, (k,), generator=g).tolist()
                       for k in torch.randint(T - 3, T + 1, (B,), generator=g).tolist()])
        tgt = collate([[2, *torch.randint(4, vocab, (k,), generator=g).tolist(), 3]
                       for k in torch.randint(T - 3, T + 1, (B,), generator=g).tolist()])
        data.append((src.tokens, src.lengths, tgt.tokens, int((tgt.tokens[:, 1:] != 0).sum())))

    def loss_fn(model, batch):
        src, lengths, tgt, _ = batch
        logits, _ = model(src, lengths, tgt[:, :-1])
        return sequence_loss(logits, tgt[:, 1:])

    def new_model() -> torch.nn.Module:
        torch.manual_seed(0)
        return Seq2Seq(vocab, vocab, hidden_size=hidden, embed_dim=hidden, attention="luong-general",
                       dropout=0.2)  # the settings the stored benchmark results ran with

    return {"task": "translate", "cell": "gru", "batches": batches, "B": B, "T": T, "hidden": hidden,
            **_loop_overhead(new_model, data, loss_fn, repeats)}


SHAPES = {"quick": [dict(B=4, T=8, E=8, H=16)],
          "full": [dict(B=32, T=128, E=128, H=256), dict(B=64, T=64, E=64, H=128)]}


def run_suite(*, quick: bool = False, device: str = "cpu", repeats: int = 5, log=print) -> dict:
    """Everything above; ``quick`` uses tiny shapes (seconds) for CI."""
    torch.set_flush_denormal(True)
    r = 1 if quick else repeats
    layers = []
    for shape in SHAPES["quick" if quick else "full"]:
        for cell in CELLS:
            for backward in (False, True):
                layers += bench_layer(cell, **shape, backward=backward, repeats=r, warmup=1, device=device)
            log(f"layers: {cell} {shape}")
    stream_shape = dict(T=8, E=8, H=16) if quick else dict(T=256, E=128, H=256)
    streaming = [bench_streaming(cell, **stream_shape, repeats=r, device=device) for cell in CELLS]
    log("streaming done")
    denormals = bench_denormals(T=20, H=16, repeats=1) if quick else bench_denormals(repeats=r)
    if quick:
        loops = [bench_training_loop(batches=3, B=4, T=6, vocab=50, hidden=16, repeats=1),
                 bench_translate_loop(batches=2, B=4, T=6, vocab=50, hidden=16, repeats=1)]
    else:
        loops = [bench_training_loop(repeats=max(3, r // 2)), bench_translate_loop(repeats=max(3, r // 2))]
    log("training loops done")
    return {"layers": layers, "streaming": streaming, "denormals": denormals, "training_loop": loops}
