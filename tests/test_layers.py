"""The Recurrent layer against torch.nn with copied weights, both backends, every option."""

from __future__ import annotations

import itertools
import os

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnkit.nn import CELLS, Recurrent

MODULES = {  # torch.nn's layer for each mode a cell may declare as its fused kernel
    "RNN_TANH": lambda *a, **k: torch.nn.RNN(*a, nonlinearity="tanh", **k),
    "RNN_RELU": lambda *a, **k: torch.nn.RNN(*a, nonlinearity="relu", **k),
    "LSTM": torch.nn.LSTM,
    "GRU": torch.nn.GRU,
}
# The cells that declare torch.nn computes them: each is checked to be exactly that torch.nn layer's function.
TORCH_TWINS = {name: MODULES[cell.kernels.fused] for name, cell in CELLS.items() if cell.kernels.fused}
E, H = 5, 6
TOL = dict(atol=1e-5, rtol=1e-5)


def _pair(cell: str, backend: str, num_layers: int, bidirectional: bool, batch_first: bool):
    torch.manual_seed(0)
    ref = TORCH_TWINS[cell](E, H, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first)
    ours = Recurrent(cell, E, H, num_layers, bidirectional=bidirectional, batch_first=batch_first, backend=backend)
    ours.load_state_dict(ref.state_dict())
    return ref, ours


def _torch_run(module, x, lengths, state, batch_first):
    if lengths is None:
        return module(x, state)
    packed = pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=False)
    out, final = module(packed, state)
    out, _ = pad_packed_sequence(out, batch_first=batch_first, total_length=x.shape[1 if batch_first else 0])
    return out, final


def _flat(state):
    return list(state) if isinstance(state, tuple) else [state]


CASES = list(itertools.product(["reference", "fused"], [1, 2, 3], [False, True], [False, True],
                               # on the CPU the fused backend packs [7, 1, 4, 7, 2] (many distinct lengths) and
                               # runs [3, 7, 3, 1, 7] in segments; [7] * 5 pads nothing
                               [None, [7, 1, 4, 7, 2], [3, 7, 3, 1, 7], [7] * 5]))


@pytest.mark.parametrize("cell", list(TORCH_TWINS))
@pytest.mark.parametrize("backend,num_layers,bidirectional,batch_first,lengths", CASES)
def test_matches_torch_nn(cell, backend, num_layers, bidirectional, batch_first, lengths):
    """Outputs, final states and the gradients of every parameter and of the input and initial state."""
    ref, ours = _pair(cell, backend, num_layers, bidirectional, batch_first)
    T, B = 7, 5
    x = torch.randn((B, T, E) if batch_first else (T, B, E))
    h0 = torch.randn(num_layers * (2 if bidirectional else 1), B, H)
    state = (h0, torch.randn_like(h0)) if cell == "lstm" else h0
    lens = None if lengths is None else torch.tensor(lengths)

    xs = [x.clone().requires_grad_(True) for _ in range(2)]
    states = [tuple(s.clone().requires_grad_(True) for s in _flat(state)) for _ in range(2)]
    unwrap = (lambda s: s) if cell == "lstm" else (lambda s: s[0])
    out_ref, fin_ref = _torch_run(ref, xs[0], lens, unwrap(states[0]), batch_first)
    out, fin = ours(xs[1], unwrap(states[1]), lengths=lens)

    assert out.shape == out_ref.shape
    torch.testing.assert_close(out, out_ref, **TOL)
    for a, b in zip(_flat(fin), _flat(fin_ref), strict=True):
        torch.testing.assert_close(a, b, **TOL)
    if lens is not None:  # past its length a sequence outputs exactly zero
        t = torch.arange(T).unsqueeze(1)
        pad = (t >= lens).T if batch_first else (t >= lens)
        assert not pad.any() or out[pad].abs().max() == 0

    weights = torch.randn_like(out)
    loss_ref = (out_ref * weights).sum() + sum((s * 0.5).sum() for s in _flat(fin_ref))
    loss = (out * weights).sum() + sum((s * 0.5).sum() for s in _flat(fin))
    loss_ref.backward()
    loss.backward()
    torch.testing.assert_close(xs[1].grad, xs[0].grad, **TOL)
    for a, b in zip(states[1], states[0], strict=True):
        torch.testing.assert_close(a.grad, b.grad, **TOL)
    ref_params = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        torch.testing.assert_close(p.grad, ref_params[name].grad, **TOL, msg=lambda m, n=name: f"{n}: {m}")


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_weights_round_trip_both_ways(cell):
    twin = TORCH_TWINS[cell](E, H, num_layers=2, bidirectional=True)
    ours = Recurrent(cell, E, H, 2, bidirectional=True)
    assert list(ours.state_dict()) == list(twin.state_dict())
    twin.load_state_dict(ours.state_dict())
    x = torch.randn(4, 3, E)
    torch.testing.assert_close(ours(x)[0], twin(x)[0], **TOL)


def test_lstm_forget_bias_starts_at_one():
    layer = Recurrent("lstm", E, H, 2)
    for layer_index in range(2):
        b = getattr(layer, f"bias_ih_l{layer_index}") + getattr(layer, f"bias_hh_l{layer_index}")
        assert torch.all(b[H: 2 * H] == 1.0)
        assert not torch.all(b[:H] == 1.0)
    assert torch.all((Recurrent("lstm", E, H, forget_bias=0.0).bias_ih_l0[H: 2 * H]) == 0.0)


@pytest.mark.parametrize("cell", ["rnn", "rnn-relu", "lstm", "gru", "gru-reset-before"])
@pytest.mark.parametrize("num_layers", [1, 3])
def test_step_equals_forward(cell, num_layers):
    torch.manual_seed(1)
    layer = Recurrent(cell, E, H, num_layers).eval()
    x = torch.randn(9, 4, E)
    h0 = torch.randn(num_layers, 4, H)
    state = (h0, torch.randn_like(h0)) if cell == "lstm" else h0
    out, final = layer(x, state)
    s = state
    for t in range(x.shape[0]):
        y, s = layer.step(x[t], s)
        torch.testing.assert_close(y, out[t], **TOL)
    for a, b in zip(_flat(s), _flat(final), strict=True):
        torch.testing.assert_close(a, b, **TOL)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_reference_and_fused_are_the_same_function(cell):
    torch.manual_seed(2)
    fused = Recurrent(cell, E, H, 2, bidirectional=True, backend="fused")
    ref = Recurrent(cell, E, H, 2, bidirectional=True, backend="reference")
    ref.load_state_dict(fused.state_dict())
    x, lens = torch.randn(8, 3, E), torch.tensor([3, 8, 1])
    torch.testing.assert_close(fused(x, lengths=lens)[0], ref(x, lengths=lens)[0], **TOL)


def test_backend_selection():
    assert Recurrent("lstm", E, H).backend == "fused"
    assert Recurrent("gru", E, H).backend == "fused"
    assert Recurrent("gru-reset-before", E, H).backend == "native"
    assert Recurrent("gru-reset-before", E, H, backend="reference").backend == "reference"
    assert Recurrent("lstm", E, H, backend="reference").backend == "reference"
    with pytest.raises(ValueError, match="gru-reset-before.*no fused kernel"):
        Recurrent("gru-reset-before", E, H, backend="fused")
    with pytest.raises(ValueError, match="gru' cell has no native kernel"):
        Recurrent("gru", E, H, backend="native")
    lstm = Recurrent("lstm", E, H, backend="native")  # the LSTM has a kernel of rnnkit's own too (bptt)
    lstm(torch.randn(3, 2, E))
    assert lstm.backend == "native" and lstm.last_backend == "bptt"
    with pytest.raises(ValueError, match="valid backends: auto, reference, fused, native"):
        Recurrent("lstm", E, H, backend="cudnn")


def test_last_backend_reports_what_ran():
    """``backend`` is the setting; ``last_backend`` the table row that ran the last call."""
    x, lens = torch.randn(4, 2, E), torch.tensor([4, 2])
    gru = Recurrent("gru", E, H)
    assert gru.last_backend is None
    gru(x)
    assert gru.last_backend == "fused"  # gradients needed: torch's kernel
    with torch.no_grad():
        gru(x)
        assert gru.last_backend == ("cpp" if _cpp_available() else "fused")
        gru(x, lengths=lens)
        assert gru.last_backend == "fused"  # the C++ loop runs unpadded batches only
        gru(x, lengths=[4, 4])  # nothing padded: same as no lengths
        assert gru.last_backend == ("cpp" if _cpp_available() else "fused")
        gru.step(x[0])
        assert gru.last_backend == ("cpp" if _cpp_available() else "fused")
    gru.step(x[0])
    assert gru.last_backend == "fused"
    gru(x, record=True)
    assert gru.last_backend == "reference"
    assert gru.backend == "fused"
    reset_before = Recurrent("gru-reset-before", E, H)
    reset_before(x, lengths=lens)
    assert reset_before.last_backend == "bptt"
    reset_before.step(x[0])
    assert reset_before.last_backend == "reference"  # one step with gradients: the cell's own step
    reference = Recurrent("gru", E, H, backend="reference")
    with torch.no_grad():
        reference(x)
        assert reference.last_backend == "reference"
        reference.step(x[0])
        assert reference.last_backend == "reference"
    lstm = Recurrent("lstm", E, H).eval()
    with torch.no_grad():
        lstm(x)
        assert lstm.last_backend == "fused"  # oneDNN's LSTM is as fast as the C++ loop


def test_backend_table_rows_for_other_devices_and_export():
    """The rows a CPU-only run never reaches: CUDA, float64, torch.export."""
    from rnnkit.nn import backends
    from rnnkit.nn.cells import GRUCell, GRUResetBeforeCell, LSTMCell

    cuda = backends.pick(GRUResetBeforeCell, "cuda", True, requested="native", float32=True)[0]
    assert cuda == ("triton" if backends.HAVE_TRITON else "bptt")
    assert backends.pick(GRUResetBeforeCell, "cuda", True, requested="native", float32=False)[0] == "bptt"
    assert backends.pick(GRUCell, "cuda", False, requested="fused", float32=True)[0] == "fused"
    assert backends.pick(GRUCell, "cpu", False, requested="fused", float32=False)[0] == "fused"
    assert backends.pick(LSTMCell, "cpu", False, requested="fused", float32=True, call="step",
                         dropout=True)[0] == "fused"  # the C++ stack step cannot apply dropout
    exported = dict(exporting=True, lengths=True)
    assert backends.pick(LSTMCell, "cpu", False, requested="fused", float32=True, **exported)[0] == "reference"
    assert backends.pick(LSTMCell, "cpu", False, requested="fused", float32=True, exporting=True)[0] == "fused"
    assert backends.pick(GRUResetBeforeCell, "cpu", False, requested="native", float32=True,
                         exporting=True)[0] == "reference"


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_torch_export_with_lengths_equals_eager(cell):
    """torch.export traces the layer with lengths (the value check is skipped while tracing)."""
    torch.manual_seed(8)
    layer = Recurrent(cell, E, H, 2, bidirectional=True).eval()
    x, lens = torch.randn(5, 3, E), torch.tensor([5, 2, 4])
    program = torch.export.export(layer, (x,), {"lengths": lens})
    out, final = program.module()(x, lengths=lens)
    expected, expected_final = layer(x, lengths=lens)
    torch.testing.assert_close(out, expected, **TOL)
    for a, b in zip(_flat(final), _flat(expected_final), strict=True):
        torch.testing.assert_close(a, b, **TOL)
    with pytest.raises(ValueError, match=r"every length must be in \[1, 5\]"):  # eager calls still check
        layer(x, lengths=torch.tensor([6, 2, 4]))


def test_state_helpers():
    from rnnkit.nn import state

    h, c = torch.randn(2, 3, 4), torch.randn(2, 3, 4)
    assert state.hidden((h, c)) is h and state.hidden(h) is h
    picked = state.select((h, c), torch.tensor([2, 0]))
    torch.testing.assert_close(picked[1], c[:, [2, 0]])
    torch.testing.assert_close(state.select(h, torch.tensor([1])), h[:, [1]])
    cut = state.detach((h.requires_grad_(), c))
    assert isinstance(cut, tuple) and not cut[0].requires_grad
    summed = state.map_state(torch.add, (h, c), (c, h))
    torch.testing.assert_close(summed[0], h + c)
    stacked = state.stack([(h[0], c[0]), (h[1], c[1])])
    torch.testing.assert_close(stacked[0], h)


@pytest.mark.parametrize("cell", ["lstm", "gru-reset-before"])
def test_record_trace(cell):
    torch.manual_seed(3)
    layer = Recurrent(cell, E, H, 2, bidirectional=True)
    x, lens = torch.randn(6, 3, E), torch.tensor([6, 2, 4])
    out, final, trace = layer(x, lengths=lens, record=True)
    out_plain, _ = layer(x, lengths=lens)
    torch.testing.assert_close(out, out_plain, **TOL)
    gates = ("i", "f", "g", "o", "c", "h") if cell == "lstm" else ("r", "z", "n", "h")
    assert set(trace) == {f"{n}.{g}" for n in ("l0", "l0_reverse", "l1", "l1_reverse") for g in gates}
    for value in trace.values():
        assert value.shape == (6, 3, H)
        assert value[4:, 2].abs().max() == 0 and value[2:, 1].abs().max() == 0  # zero past each length
    torch.testing.assert_close(torch.cat([trace["l1.h"], trace["l1_reverse.h"]], 2), out, **TOL)
    if cell == "lstm":
        torch.testing.assert_close(trace["l0.h"], trace["l0.o"] * torch.tanh(trace["l0.c"]), **TOL)
        # the reverse direction's last state is at the sequence's first step
        torch.testing.assert_close(final[1][1], trace["l0_reverse.c"][0], **TOL)


def test_length_one_and_batch_of_one():
    layer = Recurrent("gru", E, H, bidirectional=True)
    x = torch.randn(1, 1, E)
    out, h = layer(x, lengths=[1])
    assert out.shape == (1, 1, 2 * H) and h.shape == (2, 1, H)


@pytest.mark.parametrize(
    "kwargs,call,match",
    [
        ({}, lambda m: m(torch.randn(4, 2, E + 1)), "expected input size 5"),
        ({}, lambda m: m(torch.randn(4, E)), "expected a 3-D input"),
        ({}, lambda m: m(torch.randn(4, 2, E), lengths=[5, 2]), r"every length must be in \[1, 4\]"),
        ({}, lambda m: m(torch.randn(4, 2, E), lengths=[0, 2]), r"every length must be in \[1, 4\]"),
        ({}, lambda m: m(torch.randn(4, 2, E), lengths=[2, 2, 2]), "lengths must be 2 integers"),
        ({}, lambda m: m(torch.randn(4, 2, E), lengths=[2.0, 2.0]), "lengths must be 2 integers"),
        ({}, lambda m: m(torch.randn(4, 2, E), torch.zeros(1, 3, H)), r"initial state must have shape \(1, 2, 6\)"),
        ({"bidirectional": True}, lambda m: m(torch.randn(4, 2, E), torch.zeros(1, 2, H)), r"shape \(2, 2, 6\)"),
        ({}, lambda m: m.step(torch.randn(2, E + 2)), r"step\(\) expects input of shape"),
        ({"bidirectional": True}, lambda m: m.step(torch.randn(2, E)), "bidirectional layer needs the whole"),
    ],
)
def test_bad_input_is_a_clear_error(kwargs, call, match):
    layer = Recurrent("gru", E, H, **kwargs)
    with pytest.raises(ValueError, match=match):
        call(layer)


def test_lstm_state_must_be_a_pair():
    layer = Recurrent("lstm", E, H)
    with pytest.raises(ValueError, match=r"pair \(h, c\)"):
        layer(torch.randn(3, 2, E), torch.zeros(1, 2, H))


def test_unknown_cell_lists_valid_names():
    with pytest.raises(ValueError, match="valid cells: rnn, rnn-relu, lstm, gru, gru-reset-before"):
        Recurrent("transformer", E, H)


def test_dropout_without_layers_warns():
    with pytest.warns(UserWarning, match="no effect"):
        Recurrent("lstm", E, H, dropout=0.5)


@pytest.mark.parametrize("lengths", [None, [9, 1, 4, 9, 2, 6]])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_bptt_reset_before_gru_matches_reference(lengths, bidirectional):
    """The bptt kernel's hand-written BPTT against autograd through the reference loop (float64)."""
    torch.manual_seed(4)
    ref = Recurrent("gru-reset-before", E, H, 2, bidirectional=bidirectional, backend="reference").double()
    native = Recurrent("gru-reset-before", E, H, 2, bidirectional=bidirectional, backend="native").double()
    native.load_state_dict(ref.state_dict())
    T, B, D = 9, 6, 2 if bidirectional else 1
    x = torch.randn(T, B, E, dtype=torch.float64)
    h0 = torch.randn(2 * D, B, H, dtype=torch.float64)
    lens = None if lengths is None else torch.tensor(lengths)
    results = []
    for layer in (ref, native):
        xi, hi = x.clone().requires_grad_(True), h0.clone().requires_grad_(True)
        out, hn = layer(xi, hi, lengths=lens)
        weights = torch.linspace(-1, 1, out.numel(), dtype=torch.float64).view_as(out)
        ((out * weights).sum() + (hn**2).sum()).backward()
        results.append((out, hn, xi.grad, hi.grad, {n: p.grad for n, p in layer.named_parameters()}))
    (o1, h1, gx1, gh1, gp1), (o2, h2, gx2, gh2, gp2) = results
    tight = dict(atol=1e-12, rtol=1e-10)
    torch.testing.assert_close(o2, o1, **tight)
    torch.testing.assert_close(h2, h1, **tight)
    torch.testing.assert_close(gx2, gx1, **tight)
    torch.testing.assert_close(gh2, gh1, **tight)
    for name in gp1:
        torch.testing.assert_close(gp2[name], gp1[name], **tight, msg=lambda m, n=name: f"{n}: {m}")


def test_bptt_kernel_without_bias():
    torch.manual_seed(5)
    ref = Recurrent("gru-reset-before", E, H, bias=False, backend="reference").double()
    native = Recurrent("gru-reset-before", E, H, bias=False, backend="native").double()
    native.load_state_dict(ref.state_dict())
    x = torch.randn(5, 3, E, dtype=torch.float64, requires_grad=True)
    torch.testing.assert_close(native(x)[0], ref(x)[0], atol=1e-12, rtol=1e-10)
    g1 = torch.autograd.grad(ref(x)[0].sum(), ref.weight_hh_l0)[0]
    g2 = torch.autograd.grad(native(x)[0].sum(), native.weight_hh_l0)[0]
    torch.testing.assert_close(g2, g1, atol=1e-12, rtol=1e-10)


def _cpp_available():
    from rnnkit.nn.kernels import cpp

    if os.environ.get("CI"):
        assert cpp.load() is not None, "CI must build the C++ CPU inference loop (g++ and ninja)"
    return cpp.load() is not None


def _random_layer_norm(*layers: Recurrent) -> None:
    """The LayerNorm-LSTM's gains and shift away from their initial 1 and 0 (same values in every layer
    given), so that a kernel that skipped or misplaced one would differ from the reference."""
    names = [n for n, _ in layers[0].named_parameters() if n.startswith("ln_")]
    with torch.no_grad():
        for name in names:
            value = torch.empty_like(getattr(layers[0], name)).uniform_(0.5, 1.5)
            if "bias" in name:
                value -= 1.0
            for layer in layers:
                getattr(layer, name).copy_(value)


CPP_SEQUENCE = [name for name, cell in CELLS.items() if cell.kernels.cpp_sequence]  # what the cells declare
CPP_STEP = [name for name, cell in CELLS.items() if cell.kernels.cpp]


@pytest.mark.parametrize("cell", CPP_SEQUENCE)
@pytest.mark.parametrize("bidirectional,bias,batch", [(False, True, 1), (True, True, 3), (False, False, 2),
                                                     (False, True, 33)])
def test_cpp_inference_equals_the_reference(cell, bidirectional, bias, batch):
    if not _cpp_available():
        pytest.skip("no C++ toolchain for the C++ inference loop")
    torch.manual_seed(6)
    ref = Recurrent(cell, E, H, 2, bidirectional=bidirectional, bias=bias, backend="reference").eval()
    fast = Recurrent(cell, E, H, 2, bidirectional=bidirectional, bias=bias).eval()
    fast.load_state_dict(ref.state_dict())
    _random_layer_norm(ref, fast)
    x = torch.randn(11, batch, E)
    h0 = torch.randn(2 * (2 if bidirectional else 1), batch, H)
    if ref.cell.has_cell_state:
        h0 = (h0, torch.randn_like(h0))
    with torch.no_grad():
        expected, expected_h = ref(x, h0)
        out, h = fast(x, h0)
        assert fast.last_backend == "cpp"
        with torch.no_grad():  # the weight cache follows in-place updates of the weights
            fast.weight_hh_l0.mul_(0.5)
            ref.weight_hh_l0.mul_(0.5)
        again, _ = fast(x, h0)
    torch.testing.assert_close(out, expected, **TOL)
    for a, b in zip(_flat(h), _flat(expected_h), strict=True):
        torch.testing.assert_close(a, b, **TOL)
    torch.testing.assert_close(again, ref(x, h0)[0].detach(), **TOL)


CPP_SEQUENCE_BATCH_ONE = [name for name, cell in CELLS.items() if cell.kernels.cpp_sequence_batch_one]


@pytest.mark.parametrize("cell", CPP_SEQUENCE_BATCH_ONE)
@pytest.mark.parametrize(("steps", "hidden"), [(11, 70), (12, 70), (12, 64), (1, 6), (300, 40)])
def test_cpp_batch_one_sequence_equals_the_reference(cell, steps, hidden):
    """At batch 1 the C++ loop reads W_hh in 64-column panels, alternately first to last and last to first, and
    projects the inputs 256 steps at a time: an odd and even number of steps, ragged (4H = 280, 24, 160) and whole
    panels (4H = 256) and more than one projection block (300 steps) each meet the reference. Batch 2 is the
    fused kernel's."""
    if not _cpp_available():
        pytest.skip("no C++ toolchain for the C++ inference loop")
    torch.manual_seed(9)
    ref = Recurrent(cell, 33, hidden, 2, bidirectional=True, backend="reference").eval()
    fast = Recurrent(cell, 33, hidden, 2, bidirectional=True).eval()
    fast.load_state_dict(ref.state_dict())
    x = torch.randn(steps, 1, 33) * 3
    h0 = torch.randn(4, 1, hidden)
    state = (h0, torch.randn_like(h0))
    with torch.no_grad():
        expected, expected_state = ref(x, state)
        out, final = fast(x, state)
        assert fast.last_backend == "cpp"
        fast(torch.randn(steps, 2, 33))
        assert fast.last_backend == "fused"
    torch.testing.assert_close(out, expected, **TOL)
    for a, b in zip(final, expected_state, strict=True):
        torch.testing.assert_close(a, b, **TOL)


@pytest.mark.parametrize("cell", CPP_STEP)
def test_cpp_step_equals_forward(cell):
    if not _cpp_available():
        pytest.skip("no C++ toolchain for the C++ inference loop")
    torch.manual_seed(7)
    layer = Recurrent(cell, E, H, 2).eval()
    _random_layer_norm(layer)
    x = torch.randn(6, 2, E)
    with torch.no_grad():
        out, final = layer(x)
        state = None
        for t in range(6):
            y, state = layer.step(x[t], state)
            torch.testing.assert_close(y, out[t], **TOL)
    for a, b in zip(_flat(state), _flat(final), strict=True):
        torch.testing.assert_close(a, b, **TOL)


@pytest.mark.parametrize("cell", CPP_STEP)
def test_cpp_batch_one_step_equals_the_reference(cell):
    # Batch 1 takes the C++ loop's own GEMV over 64-column panels: H = 70 gives full panels and a ragged last
    # one (and the reset-before GRU's split at 2H = 140 falls inside a panel); whole-sequence forward too.
    if not _cpp_available():
        pytest.skip("no C++ toolchain for the C++ inference loop")
    torch.manual_seed(8)
    ref = Recurrent(cell, 33, 70, 2, backend="reference").eval()
    fast = Recurrent(cell, 33, 70, 2).eval()
    fast.load_state_dict(ref.state_dict())
    _random_layer_norm(ref, fast)
    x = torch.randn(5, 1, 33) * 3
    with torch.no_grad():
        expected, expected_state = ref(x)
        out, _ = fast(x)
        state = None
        for t in range(5):
            y, state = fast.step(x[t], state)
            assert fast.last_backend == "cpp"
            torch.testing.assert_close(y, expected[t], **TOL)
    torch.testing.assert_close(out, expected, **TOL)
    for a, b in zip(_flat(state), _flat(expected_state), strict=True):
        torch.testing.assert_close(a, b, **TOL)


def test_cpp_step_follows_weight_dtype_and_mode_changes():
    # step() caches the packed weights per layer and pick() its decision per call signature: neither may be
    # stale after the weights change in place, a parameter is replaced, the dtype changes or training starts.
    if not _cpp_available():
        pytest.skip("no C++ toolchain for the C++ inference loop")
    torch.manual_seed(9)
    fast = Recurrent("gru", E, H, 2, dropout=0.5).eval()
    ref = Recurrent("gru", E, H, 2, dropout=0.5, backend="reference").eval()
    ref.load_state_dict(fast.state_dict())
    x, h = torch.randn(1, E), torch.randn(2, 1, H)

    def check(dtype=torch.float32):
        with torch.no_grad():
            got = fast.step(x.to(dtype), h.to(dtype))
            want = ref.step(x.to(dtype), h.to(dtype))
        for a, b in zip(got, want, strict=True):
            torch.testing.assert_close(a, b, **TOL)

    check()
    assert fast.last_backend == "cpp"
    with torch.no_grad():
        fast.weight_hh_l1.mul_(0.5)
        ref.weight_hh_l1.mul_(0.5)
    check()
    fast.bias_ih_l0 = torch.nn.Parameter(torch.randn(3 * H))
    ref.bias_ih_l0 = torch.nn.Parameter(fast.bias_ih_l0.detach().clone())
    check()
    fast.double()
    ref.double()
    check(torch.float64)
    assert fast.last_backend != "cpp"  # the C++ loop is float32 only
    fast.float()
    ref.float()
    check()
    assert fast.last_backend == "cpp"
    fast.train()
    with torch.no_grad():
        fast.step(x, h)
    assert fast.last_backend != "cpp"  # dropout between layers is active in training: not in the C++ loop
