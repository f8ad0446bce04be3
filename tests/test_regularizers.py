"""The LayerNorm-LSTM, zoneout and variational dropout: each against a hand computation, and the
``bptt`` fast path against the reference loop (outputs, states, gradients; training noise included)."""

from __future__ import annotations

import pytest
import torch

from rnnkit.nn import LayerNormLSTMCell, Recurrent, get_cell
from rnnkit.nn.backends import pick


def _pair(cell: str, **options) -> tuple[Recurrent, Recurrent]:
    """The same layer twice (float64, perturbed gains): the default backends and the reference loop."""
    torch.manual_seed(0)
    fast = Recurrent(cell, 3, 5, 2, bidirectional=True, **options).double()
    with torch.no_grad():
        for p in fast.parameters():
            p.add_(0.1 * torch.randn_like(p))
    slow = Recurrent(cell, 3, 5, 2, bidirectional=True, backend="reference", **options).double()
    slow.load_state_dict(fast.state_dict())
    return fast, slow


def _run(layer: Recurrent, x: torch.Tensor, seed: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
    torch.manual_seed(seed)
    out, (h, c) = layer(x, lengths=[6, 3, 5, 1])
    loss = out.pow(2).sum() + h.sum() + c.sum()
    grads = torch.autograd.grad(loss, [x, *layer.parameters()])
    return torch.cat([out.flatten(), h.flatten(), c.flatten()]), list(grads)


@pytest.mark.parametrize(("cell", "options", "train"), [
    ("lstm-layernorm", {}, False),
    ("lstm-layernorm", {"zoneout": 0.3, "recurrent_dropout": 0.25}, True),
    ("lstm-layernorm", {"zoneout": 0.3, "recurrent_dropout": 0.25}, False),
    ("lstm", {"zoneout": 0.2, "recurrent_dropout": 0.4}, True),
    ("lstm", {"zoneout": 0.2}, False),
])
def test_bptt_loop_equals_reference_loop(cell, options, train):
    fast, slow = _pair(cell, **options)
    fast.train(train)
    slow.train(train)
    x = torch.randn(6, 4, 3, dtype=torch.double, requires_grad=True)
    values, grads = _run(fast, x, seed=3)
    assert fast.last_backend == "bptt"
    expected, expected_grads = _run(slow, x, seed=3)  # the same seed draws the same masks in the same order
    assert slow.last_backend == "reference"
    torch.testing.assert_close(values, expected, rtol=1e-10, atol=1e-12)
    for got, want in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-11)


def test_layernorm_lstm_cell_is_the_equations_and_scale_invariant():
    torch.manual_seed(1)
    cell = LayerNormLSTMCell(4, 3).double()
    with torch.no_grad():
        for p in cell.parameters():
            p.add_(0.2 * torch.randn_like(p))
    x, h, c = (torch.randn(2, n, dtype=torch.double) for n in (4, 3, 3))

    def ln(v, gain, beta=0.0):  # per block of 3 units
        u = v.reshape(2, -1, 3)
        u = (u - u.mean(-1, keepdim=True)) / (u.var(-1, unbiased=False, keepdim=True) + 1e-5).sqrt()
        return u.reshape(2, -1) * gain + beta

    a = ln(x @ cell.weight_ih.T, cell.ln_weight_ih) + ln(h @ cell.weight_hh.T, cell.ln_weight_hh)
    i, f, g, o = (a + cell.bias_ih + cell.bias_hh).split(3, dim=1)
    c_want = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h_want = torch.sigmoid(o) * torch.tanh(ln(c_want, cell.ln_weight_c, cell.ln_bias_c))
    h_got, c_got = cell(x, (h, c))
    torch.testing.assert_close(c_got, c_want)
    torch.testing.assert_close(h_got, h_want)
    # What the layer norm buys: scaling W_h (or W_i) leaves the step unchanged (up to ε), unlike the LSTM.
    with torch.no_grad():
        cell.weight_hh.mul_(7.0)
        cell.weight_ih.mul_(3.0)
    torch.testing.assert_close(cell(x, (h, c))[0], h_got, rtol=0, atol=1e-4)
    assert get_cell("lstm-layernorm") is LayerNormLSTMCell
    assert {n for n, _ in cell.named_parameters()} >= {"ln_weight_ih", "ln_weight_hh", "ln_weight_c", "ln_bias_c"}


def test_layer_starts_with_unit_gains_and_streams_like_forward():
    torch.manual_seed(2)
    layer = Recurrent("lstm-layernorm", 3, 4, 2, zoneout=0.25).eval()
    assert torch.equal(layer.ln_weight_ih_l1, torch.ones(16)) and torch.equal(layer.ln_bias_c_l0, torch.zeros(4))
    x = torch.randn(5, 2, 3)
    out, (h, c) = layer(x)
    state = None
    for t in range(5):
        step_out, state = layer.step(x[t], state)
        torch.testing.assert_close(step_out, out[t])
    torch.testing.assert_close(state[1], c)


def test_zoneout_at_evaluation_is_the_expectation():
    torch.manual_seed(3)
    p = 0.3
    layer = Recurrent("gru", 3, 4, zoneout=p).eval()
    x = torch.randn(5, 2, 3)
    out, h_T = layer(x)
    assert layer.last_backend == "reference"  # torch.nn's kernel cannot mix in the previous state
    weights = layer._weights(0)
    h = torch.zeros(2, 4)
    for t in range(5):
        h = p * h + (1 - p) * layer.cell.step(x[t], h, *weights)  # h_t = p h_{t-1} + (1 − p) h̃_t
        torch.testing.assert_close(out[t], h)
    torch.testing.assert_close(h_T[0], h)


def test_zoneout_in_training_keeps_random_units_per_step_and_passes_gradients():
    torch.manual_seed(4)
    p = 0.4
    layer = Recurrent("rnn", 6, 64, zoneout=p, backend="reference").train()
    x = torch.randn(8, 16, 6, requires_grad=True)
    out, _ = layer(x)
    weights = layer._weights(0)
    h = torch.zeros(16, 64)
    kept = []
    for t in range(8):
        candidate = layer.cell.step(x[t], h, *weights)
        keep = (out[t] == h) & (out[t] != candidate)
        assert bool(((out[t] == candidate) | keep).all())  # every unit is either the old h or the new h̃
        kept.append(keep.float())
        h = out[t]
    kept = torch.stack(kept)
    assert abs(kept.mean().item() - p) < 0.05
    assert not torch.equal(kept[1], kept[2])  # a fresh draw at every step
    out.sum().backward()
    assert x.grad.abs().sum() > 0 and layer.weight_hh_l0.grad.abs().sum() > 0


def test_variational_dropout_masks_are_fixed_per_sequence_and_off_at_evaluation():
    torch.manual_seed(5)
    p = 0.5
    layer = Recurrent("rnn", 32, 32, recurrent_dropout=p, backend="reference").train()
    with torch.no_grad():  # h_t = tanh(m_x ⊙ x_t): the input mask alone decides which units are zero
        layer.weight_ih_l0.copy_(torch.eye(32))
        layer.weight_hh_l0.zero_()
        layer.bias_ih_l0.zero_()
        layer.bias_hh_l0.zero_()
    x = torch.ones(6, 4, 32, requires_grad=True)
    out, _ = layer(x)
    dropped = out == 0
    assert bool((dropped == dropped[0]).all())  # the same units at every step
    assert not torch.equal(dropped[0, 0], dropped[0, 1])  # a different mask per sequence
    assert abs(dropped.float().mean().item() - p) < 0.15
    torch.testing.assert_close(out[~dropped], torch.full_like(out[~dropped], torch.tanh(torch.tensor(2.0)).item()))
    out.sum().backward()
    assert bool((x.grad[:, ~dropped[0]] != 0).any()) and bool((x.grad[dropped] == 0).all())
    with torch.no_grad():  # recurrent side: h_t = tanh(m_h ⊙ h_{t-1}), a dropped unit stays 0 from step 1 on
        layer.weight_ih_l0.zero_()
        layer.weight_hh_l0.copy_(torch.eye(32))
    out, _ = layer(torch.zeros(6, 4, 32), torch.ones(1, 4, 32))
    assert bool(((out == 0) == (out[0] == 0)).all()) and bool((out[-1] != 0).any())
    layer.eval()  # evaluation: no mask (its expectation), the plain layer
    plain = Recurrent("rnn", 32, 32, backend="reference")
    plain.load_state_dict(layer.state_dict())
    h0 = torch.ones(1, 4, 32)
    torch.testing.assert_close(layer(torch.zeros(6, 4, 32), h0)[0], plain(torch.zeros(6, 4, 32), h0)[0])
    assert bool((layer(torch.zeros(6, 4, 32), h0)[0] != 0).all())


def test_gru_carry_reads_the_undropped_state():
    torch.manual_seed(6)
    cell = get_cell("gru")
    x, h = torch.randn(3, 2), torch.randn(3, 4)
    weights = [torch.randn(12, 2), torch.randn(12, 4), torch.randn(12), torch.randn(12)]
    zero_read = cell.step(x, h, *weights, h_in=torch.zeros_like(h))
    xr, xz, xn = torch.nn.functional.linear(x, weights[0], weights[2]).chunk(3, 1)
    br, bz, bn = weights[3].chunk(3)
    z = torch.sigmoid(xz + bz)
    n = torch.tanh(xn + torch.sigmoid(xr + br) * bn)
    torch.testing.assert_close(zero_read, (1 - z) * n + z * h)  # W_h saw zeros, the carry z ⊙ h did not


def test_backend_rows_and_errors():
    lstm = Recurrent("lstm", 3, 4, recurrent_dropout=0.3)
    x = torch.randn(2, 1, 3)
    lstm.train()
    lstm(x)
    assert lstm.last_backend == "bptt"
    lstm.eval()
    lstm(x)
    assert lstm.last_backend == "fused"  # at evaluation variational dropout is the plain LSTM
    with pytest.raises(ValueError, match="step"):
        lstm.train().step(x[0])
    with pytest.raises(ValueError, match="zoneout must be a probability"):
        Recurrent("gru", 3, 4, zoneout=1.0)
    with pytest.raises(ValueError, match="recurrent_dropout must be a probability"):
        Recurrent("gru", 3, 4, recurrent_dropout=-0.1)
    ln = get_cell("lstm-layernorm")
    assert pick(ln, "cpu", True, "native", True)[0] == "bptt"
    assert pick(ln, "cuda", True, "native", True)[0] == "bptt"  # never the GRU's Triton kernel
    assert pick(ln, "cpu", False, "native", True, "forward", False, True)[0] == "reference"  # record
    with pytest.raises(ValueError, match="no fused kernel"):
        Recurrent("lstm-layernorm", 3, 4, backend="fused")


def test_language_model_trains_end_to_end_with_the_new_cell_and_options(tmp_path, capsys):
    from pathlib import Path

    import rnnkit
    from rnnkit.cli import main

    data = Path(__file__).parent / "fixtures" / "lm" / "wikitext-2"
    out = tmp_path / "ln"
    assert main(["train", "lm", "--data", str(data), "--cell", "lstm-layernorm", "--zoneout", "0.1",
                 "--recurrent-dropout", "0.2", "--embed-dim", "8", "--hidden-size", "8", "--bptt", "8",
                 "--batch-size", "4", "--epochs", "1", "--min-freq", "1", "--no-progress", "--out", str(out)]) == 0
    capsys.readouterr()
    encoder = rnnkit.load(out).model.encoder
    assert encoder.cell is LayerNormLSTMCell and encoder.zoneout == 0.1 and encoder.recurrent_dropout == 0.2
    assert not torch.equal(encoder.ln_weight_hh_l0, torch.ones_like(encoder.ln_weight_hh_l0))  # trained
    assert main(["generate", str(out), "--prompt", "The network", "--length", "5", "--seed", "0"]) == 0
    assert capsys.readouterr().out.startswith("The network")
    with pytest.raises(SystemExit):  # argparse rejects an unknown cell and lists the valid ones
        main(["train", "lm", "--cell", "lstm-ln"])


def test_onnx_export_refuses_zoneout(tmp_path):
    pytest.importorskip("onnx")
    from rnnkit.nn import export_onnx

    with pytest.raises(ValueError, match="zoneout"):
        export_onnx(Recurrent("lstm", 3, 4, zoneout=0.1).eval(), tmp_path / "z.onnx")
    with pytest.raises(ValueError, match="no standard ONNX operator"):
        export_onnx(Recurrent("lstm-layernorm", 3, 4).eval(), tmp_path / "ln.onnx")
