"""The ``fused`` backend: the library kernels of ``torch.nn`` (cuDNN on GPU, oneDNN/ATen on CPU).

Used only for cells whose equations are *identical* to a ``torch.nn`` module (Elman, LSTM, the
reset-after GRU), so switching between this and the reference loop never changes the function.
The functions here take the layer's own parameters; nothing is copied.
"""

from __future__ import annotations

import torch
from torch import _VF, Tensor
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

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


def run_fused(mode: str, x: Tensor, hx: Tensor | tuple[Tensor, Tensor], weights: list[Tensor], *,
              has_bias: bool, num_layers: int, dropout: float, training: bool, bidirectional: bool,
              lengths: Tensor | None) -> tuple[Tensor, Tensor | tuple[Tensor, Tensor]]:
    """Run the whole stack with one library call.

    x: (T, B, I); hx: (L*D, B, H) or a pair of them (LSTM); weights in torch's flat order
    (per layer, per direction: weight_ih, weight_hh[, bias_ih, bias_hh]); lengths: (B,) int64 on CPU.
    Returns out (T, B, D*H) with zeros past each length, and the final state like ``torch.nn``.
    """
    kernel = _KERNELS[mode]
    lstm = mode == "LSTM"
    hx_arg = list(hx) if lstm else hx
    if lengths is None:
        result = kernel(x, hx_arg, weights, has_bias, num_layers, dropout, training, bidirectional, False)
        out, hidden = result[0], result[1:]
        return out, (hidden[0], hidden[1]) if lstm else hidden[0]

    # On the CPU, ATen's packed kernels are slower per step than the padded ones (2–16× measured, most for
    # long sequences), while each padded call has a fixed cost: split into segments unless that makes
    # more calls than half the steps (benchmarks in docs/performance.md).
    if not x.is_cuda and 2 * len(set(lengths.tolist())) <= x.shape[0]:
        return _run_segments(kernel, x, hx, weights, lengths, has_bias=has_bias, num_layers=num_layers,
                             dropout=dropout, training=training, bidirectional=bidirectional, lstm=lstm)
    packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
    order, inverse = packed.sorted_indices, packed.unsorted_indices
    hx_arg = [h.index_select(1, order) for h in hx_arg] if lstm else hx_arg.index_select(1, order)
    result = kernel(packed.data, packed.batch_sizes, hx_arg, weights, has_bias, num_layers, dropout,
                    training, bidirectional)
    out, _ = pad_packed_sequence(PackedSequence(result[0], packed.batch_sizes, order, inverse),
                                 total_length=x.shape[0])
    hidden = [h.index_select(1, inverse) for h in result[1:]]
    return out, (hidden[0], hidden[1]) if lstm else hidden[0]


def _select(state, index: Tensor):
    if isinstance(state, (list, tuple)):
        return [h.index_select(1, index) for h in state]
    return state.index_select(1, index)


def _unidirectional_segments(kernel, x: Tensor, hx, weights: list[Tensor], lengths: Tensor, *, has_bias: bool,
                             num_layers: int, dropout: float, training: bool, lstm: bool):
    """A unidirectional stack over sequences sorted by length, longest first: one padded-kernel call per
    segment between consecutive distinct lengths, on the sequences still running; the state is handed
    from one segment to the next. Exactly the packed-sequence function, with the fast padded kernels."""
    T, B = x.shape[0], x.shape[1]
    bounds = sorted(set(lengths.tolist()))
    outs, start, state = [], 0, (list(hx) if lstm else hx)
    for end in bounds:
        active = int((lengths >= end).sum())  # the first `active` sequences (sorted) run this segment
        seg_state = [h[:, :active] for h in state] if lstm else state[:, :active]
        result = kernel(x[start:end, :active], seg_state, weights, has_bias, num_layers, dropout, training, False,
                        False)
        seg_out, new = result[0], result[1:]
        outs.append(torch.nn.functional.pad(seg_out, (0, 0, 0, B - active)))
        if lstm:
            state = [torch.cat([n, h[:, active:]], dim=1) for n, h in zip(new, state, strict=True)]
        else:
            state = torch.cat([new[0], state[:, active:]], dim=1)
        start = end
    out = torch.cat(outs) if len(outs) > 1 else outs[0]
    if start < T:
        out = torch.cat([out, out.new_zeros(T - start, *out.shape[1:])])
    return out, state


def _run_segments(kernel, x: Tensor, hx, weights: list[Tensor], lengths: Tensor, *, has_bias: bool,
                  num_layers: int, dropout: float, training: bool, bidirectional: bool, lstm: bool):
    """Variable lengths on the CPU without packing: sort by length, run segments (see above), unsort. A
    bidirectional stack runs layer by layer; its reverse direction reads each sequence reversed within
    its own length, so it starts at the sequence's last real step."""
    from rnnkit.nn.layers import reverse_padded

    order = torch.argsort(lengths, descending=True, stable=True)
    inverse = torch.argsort(order)
    lengths_sorted = lengths[order]
    x = x.index_select(1, order)
    hx = _select(hx, order)
    common = dict(has_bias=has_bias, dropout=0.0, training=training, lstm=lstm)
    if not bidirectional:
        out, state = _unidirectional_segments(kernel, x, hx, weights, lengths_sorted, num_layers=num_layers,
                                              **{**common, "dropout": dropout})
    else:
        per = 4 if has_bias else 2
        finals = []
        for layer in range(num_layers):
            directions = []
            for d in range(2):
                index = 2 * layer + d
                w = weights[index * per:(index + 1) * per]
                h0 = [h[index:index + 1] for h in hx] if lstm else hx[index:index + 1]
                inp = reverse_padded(x, lengths_sorted) if d else x
                o, fin = _unidirectional_segments(kernel, inp, h0, w, lengths_sorted, num_layers=1, **common)
                directions.append(reverse_padded(o, lengths_sorted) if d else o)
                finals.append(fin)
            x = torch.cat(directions, dim=2)
            if dropout and training and layer < num_layers - 1:
                x = torch.nn.functional.dropout(x, dropout, True)
        out = x
        state = ([torch.cat([f[i] for f in finals]) for i in range(2)] if lstm else torch.cat(finals))
    state = _select(state, inverse)
    return out.index_select(1, inverse), (state[0], state[1]) if lstm else state


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
