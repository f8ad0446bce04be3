"""The ``fused`` backend: the library kernels of ``torch.nn`` (cuDNN on GPU, oneDNN/ATen on CPU).

Used only for cells whose equations are *identical* to a ``torch.nn`` module (Elman, LSTM, the
reset-after GRU), so switching between this and the reference loop never changes the function.
The functions here take the layer's own parameters; nothing is copied.
"""

from __future__ import annotations

from functools import partial

import torch
from torch import _VF, Tensor
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from rnnkit.nn.state import State, is_pair, map_state, select

_STEP_KERNELS = {
    "RNN_TANH": _VF.rnn_tanh_cell,
    "RNN_RELU": _VF.rnn_relu_cell,
    "LSTM": _VF.lstm_cell,
    "GRU": _VF.gru_cell,
}

_KERNELS = {
    "RNN_TANH": _VF.rnn_tanh,
    "RNN_RELU": _VF.rnn_relu,
    "LSTM": _VF.lstm,
    "GRU": _VF.gru,
}


def run(layer, x: Tensor, hx: State, lengths: Tensor | None, trace: None = None) -> tuple[Tensor, State]:
    """Run a :class:`~rnnkit.nn.layers.Recurrent` layer's stack with the library kernel.

    x: (T, B, I); hx: (L*D, B, H) or a pair of them (LSTM); lengths: (B,) int64 on CPU, or None.
    Returns out (T, B, D*H) with zeros past each length, and the final state like ``torch.nn``.
    The parameters go in torch's flat order (per layer, per direction: weight_ih, weight_hh[, biases]).
    """
    mode, weights = layer.cell.kernels.fused, layer._flat_weights()
    kernel = _KERNELS[mode]
    args = (weights, layer.bias, layer.num_layers, layer.dropout, layer.training, layer.bidirectional)
    if lengths is None:
        result = kernel(x, _vf_state(hx), *args, False)
        return result[0], _state(result[1:])
    # On the CPU, ATen's packed kernels are slower per step than the padded ones (2–16× measured, most for
    # long sequences), while each padded call has a fixed cost: split into segments unless that makes
    # more calls than half the steps (benchmarks in docs/performance.md). A bidirectional stack runs layer
    # by layer through the layer's direction loop, one direction in segments at a time.
    if not x.is_cuda and 2 * len(set(lengths.tolist())) <= x.shape[0]:
        if layer.bidirectional:
            return layer.run_directions(x, hx, lengths, partial(_direction_in_segments, kernel))
        return _in_segments(kernel, x, hx, lengths, *args[:-1])
    packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
    order, inverse = packed.sorted_indices, packed.unsorted_indices
    result = kernel(packed.data, packed.batch_sizes, _vf_state(select(hx, order)), *args)
    out, _ = pad_packed_sequence(PackedSequence(result[0], packed.batch_sizes, order, inverse),
                                 total_length=x.shape[0])
    return out, select(_state(result[1:]), inverse)


def _vf_state(state: State) -> Tensor | list[Tensor]:
    return list(state) if is_pair(state) else state


def _state(parts: tuple[Tensor, ...]) -> State:
    return (parts[0], parts[1]) if len(parts) == 2 else parts[0]


def _segments(kernel, x: Tensor, hx: State, lengths: Tensor, *args) -> tuple[Tensor, State]:  # noqa: ANN001
    """A unidirectional stack over sequences sorted by length, longest first: one padded-kernel call per
    segment between consecutive distinct lengths, on the sequences still running; the state is handed
    from one segment to the next. Exactly the packed-sequence function, with the fast padded kernels.
    ``args``: weights, has_bias, num_layers, dropout, training."""
    T, B = x.shape[0], x.shape[1]
    outs, start, state = [], 0, hx
    for end in sorted(set(lengths.tolist())):
        active = int((lengths >= end).sum())  # the first `active` sequences (sorted) run this segment
        running = map_state(lambda h, a=active: h[:, :a], state)
        result = kernel(x[start:end, :active], _vf_state(running), *args, False, False)
        outs.append(torch.nn.functional.pad(result[0], (0, 0, 0, B - active)))
        state = map_state(lambda new, h, a=active: torch.cat([new, h[:, a:]], dim=1), _state(result[1:]), state)
        start = end
    out = torch.cat(outs) if len(outs) > 1 else outs[0]
    if start < T:
        out = torch.cat([out, out.new_zeros(T - start, *out.shape[1:])])
    return out, state


def _in_segments(kernel, x: Tensor, hx: State, lengths: Tensor, *args) -> tuple[Tensor, State]:  # noqa: ANN001
    """Variable lengths on the CPU without packing: sort by length, run :func:`_segments`, unsort."""
    order = torch.argsort(lengths, descending=True, stable=True)
    inverse = torch.argsort(order)
    out, state = _segments(kernel, x.index_select(1, order), select(hx, order), lengths[order], *args)
    return out.index_select(1, inverse), select(state, inverse)


def _direction_in_segments(kernel, x: Tensor, h0: State, weight_ih: Tensor, weight_hh: Tensor,  # noqa: ANN001
                           bias_ih: Tensor | None, bias_hh: Tensor | None, mask: Tensor) -> tuple[Tensor, State]:
    """One direction of one layer in segments: x (T, B, I), h0 (B, H) or a pair, mask (T, B, 1) → out, final."""
    weights = [w for w in (weight_ih, weight_hh, bias_ih, bias_hh) if w is not None]
    lengths = mask.sum(0).view(-1).cpu()
    hx = map_state(lambda h: h.unsqueeze(0), h0)
    out, final = _in_segments(kernel, x, hx, lengths, weights, bias_ih is not None, 1, 0.0, False)
    return out, map_state(lambda h: h[0], final)


def fused_step(mode: str, x: Tensor, state: Tensor | tuple[Tensor, Tensor], weight_ih: Tensor, weight_hh: Tensor,
               bias_ih: Tensor | None, bias_hh: Tensor | None) -> Tensor | tuple[Tensor, Tensor]:
    """One step with torch's cell kernel (what ``torch.nn.LSTMCell`` & co. run): x (B, I) → state."""
    result = _STEP_KERNELS[mode](x, state, weight_ih, weight_hh, bias_ih, bias_hh)
    return (result[0], result[1]) if mode == "LSTM" else result


def flatten_for_cudnn(mode: str, weights: list[Tensor], *, has_bias: bool, input_size: int,
                      hidden_size: int, num_layers: int, bidirectional: bool) -> None:
    """Make the parameters views into one contiguous buffer, as cuDNN wants (what
    ``torch.nn.RNNBase.flatten_parameters`` does). A no-op off CUDA or when cuDNN cannot take them."""
    first = weights[0]
    if not (first.is_cuda and torch.backends.cudnn.is_acceptable(first)):
        return
    if any(w.dtype != first.dtype or not w.is_cuda for w in weights):
        return
    if len({w.data_ptr() for w in weights}) != len(weights):
        return
    if not torch._use_cudnn_rnn_flatten_weight():
        return
    from torch.backends.cudnn import rnn as cudnn_rnn

    with torch.cuda.device_of(first), torch.no_grad():
        torch._cudnn_rnn_flatten_weight(weights, 4 if has_bias else 2, input_size,
                                        cudnn_rnn.get_cudnn_mode(mode), hidden_size, 0, num_layers, False,
                                        bidirectional)
