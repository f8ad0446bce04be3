"""Each cell, one step, against torch.nn's cells and a hand computation of the lecture's equations."""

from __future__ import annotations

import pytest
import torch

from rnnkit.nn import CELLS, ElmanCell, ElmanReLUCell, GRUCell, GRUResetBeforeCell, LSTMCell, get_cell

B, I, H = 4, 3, 5
TOL = dict(atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize(
    "ours,theirs",
    [
        (ElmanCell, lambda: torch.nn.RNNCell(I, H, nonlinearity="tanh")),
        (ElmanReLUCell, lambda: torch.nn.RNNCell(I, H, nonlinearity="relu")),
        (LSTMCell, lambda: torch.nn.LSTMCell(I, H)),
        (GRUCell, lambda: torch.nn.GRUCell(I, H)),
    ],
)
def test_cell_matches_torch_cell(ours, theirs):
    torch.manual_seed(0)
    twin = theirs()
    cell = ours(I, H)
    cell.load_state_dict(twin.state_dict())
    x, h = torch.randn(B, I), torch.randn(B, H)
    if ours is LSTMCell:
        c = torch.randn(B, H)
        for a, b in zip(cell(x, (h, c)), twin(x, (h, c)), strict=True):
            torch.testing.assert_close(a, b, **TOL)
    else:
        torch.testing.assert_close(cell(x, h), twin(x, h), **TOL)


def test_gru_reset_before_is_the_lectures_four_equations():
    """r = σ(W_xr x + W_hr h + b_r), z = σ(W_xz x + W_hz h + b_z),
    h̃ = tanh(W_xh x + W_hh (r ⊙ h) + b_h), h_t = z ⊙ h_{t-1} + (1 − z) ⊙ h̃ — written out by hand."""
    torch.manual_seed(1)
    cell = GRUResetBeforeCell(I, H).double()
    x, h = torch.randn(B, I, dtype=torch.float64), torch.randn(B, H, dtype=torch.float64)
    W_x = {g: cell.weight_ih[k * H:(k + 1) * H] for k, g in enumerate("rzh")}
    W_h = {g: cell.weight_hh[k * H:(k + 1) * H] for k, g in enumerate("rzh")}
    b = {g: cell.bias_ih[k * H:(k + 1) * H] + cell.bias_hh[k * H:(k + 1) * H] for k, g in enumerate("rzh")}
    expected = torch.empty(B, H, dtype=torch.float64)
    for n in range(B):  # one sequence at a time, matrix-vector products, like the slide
        r = torch.sigmoid(W_x["r"] @ x[n] + W_h["r"] @ h[n] + b["r"])
        z = torch.sigmoid(W_x["z"] @ x[n] + W_h["z"] @ h[n] + b["z"])
        h_tilde = torch.tanh(W_x["h"] @ x[n] + W_h["h"] @ (r * h[n]) + b["h"])
        expected[n] = z * h[n] + (1 - z) * h_tilde
    torch.testing.assert_close(cell(x, h), expected, atol=1e-12, rtol=1e-12)


def test_the_two_grus_are_different_functions():
    torch.manual_seed(2)
    after, before = GRUCell(I, H), GRUResetBeforeCell(I, H)
    before.load_state_dict(after.state_dict())
    x, h = torch.randn(B, I), torch.randn(B, H)
    assert (after(x, h) - before(x, h)).abs().max() > 1e-3
    # ...and the same one when the reset gate is open (r = 1) and the candidate's hidden bias is zero
    with torch.no_grad():
        for cell in (after, before):
            cell.bias_ih[:H] = 100.0
            cell.bias_hh[2 * H:] = 0.0
    torch.testing.assert_close(after(x, h), before(x, h), **TOL)


def test_lstm_gates_in_torch_order():
    """Zeroing W and setting one gate's bias shows which slice is which: i, f, g, o."""
    cell = LSTMCell(I, H)
    with torch.no_grad():
        for p in cell.parameters():
            p.zero_()
        cell.bias_ih[2 * H:3 * H] = 20.0  # g = tanh(20) ≈ 1
        cell.bias_ih[:H] = 20.0  # i ≈ 1
        cell.bias_ih[H:2 * H] = -20.0  # f ≈ 0
        cell.bias_ih[3 * H:] = 20.0  # o ≈ 1
    h, c = cell(torch.randn(B, I), (torch.zeros(B, H), torch.full((B, H), 5.0)))
    torch.testing.assert_close(c, torch.ones(B, H), **TOL)  # c = f*5 + i*g = 1
    torch.testing.assert_close(h, torch.tanh(torch.ones(B, H)), **TOL)


def test_registry():
    # the lecture's cells, in this order (a cell added later registers after them)
    assert list(CELLS)[:6] == ["rnn", "rnn-relu", "lstm", "gru", "gru-reset-before", "lstm-layernorm"]
    assert get_cell("lstm") is LSTMCell
    with pytest.raises(ValueError, match="unknown cell 'elman'; valid cells: rnn, rnn-relu"):
        get_cell("elman")


def test_cell_rejects_wrong_input_size():
    with pytest.raises(ValueError, match=r"expects input of shape \(B, 3\)"):
        LSTMCell(I, H)(torch.randn(B, I + 1))
