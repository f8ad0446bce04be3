"""The ``cpp`` backend: CPU inference as a C++ loop (``csrc/infer.cpp``), when no gradient is needed.

At batch 1 a GRU step is a few microseconds of arithmetic and ~8 Python-dispatched tensor operations;
the compiled loop removes the dispatch. It is built on first use with ``torch.utils.cpp_extension``
(g++ and ninja, ~30–60 s once, cached in ``~/.cache/torch_extensions``). Without a compiler rnnkit
warns once and keeps the Python paths, which compute the same function.

torch guards a build with a plain lock file (``lock`` in the build folder) that a killed build leaves
behind, after which every later build waits for it forever. rnnkit takes its own lock first
(:func:`build_lock`: ``flock`` through ``filelock``, which the kernel releases when its holder dies); whoever
holds it is the only rnnkit process building, so a ``lock`` file found then is a dead build's: it is
removed, with a one-line notice.

It runs float32 CPU inference: the whole-sequence forward of both GRUs (where ``torch.nn.GRU`` itself is
slower at batch 1 than ``torch.nn.LSTM``), of the LayerNorm-LSTM (which no library runs) and of the LSTM at batch 1
(where its GEMV beats oneDNN's; from batch 2 oneDNN is faster), and ``step()``
of every cell whose ``kernels.cpp`` names its C++ code (the whole stack in one call).
At batch 1 the C++ side makes no ATen call per layer: its GEMV reads Wᵀ packed in 64-column panels
(``pack``, made once per weight version and cached per layer here) and squashes the gates in one pass.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
import weakref
from collections.abc import Iterator
from pathlib import Path

import torch
from filelock import FileLock
from torch import Tensor
from torch.utils.weak import WeakIdKeyDictionary

from rnnkit.nn.layernorm import block_layer_norm
from rnnkit.nn.state import State

_SOURCE = Path(__file__).parent / "csrc" / "infer.cpp"
_NAME = "rnnkit_cpu_infer"
BUILD_LOCK = "rnnkit-build.lock"  # rnnkit's flock, beside the build
TORCH_BATON = "lock"  # torch.utils.cpp_extension's FileBaton: a file that exists while a build runs
_module = None
_failed = False
# Contiguous Wᵀ copies of the weights, refreshed when a weight changes (its ``_version`` or storage).
_TRANSPOSED: WeakIdKeyDictionary = WeakIdKeyDictionary()
_PACKED: WeakIdKeyDictionary = WeakIdKeyDictionary()  # the same for Wᵀ packed (``pack``) for batch 1
# Per layer: the weights ``stack_step`` passes to C++, with the parameter versions they were made from.
_STEP_WEIGHTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def load():
    """The compiled module, or ``None`` (after one warning) where it cannot be built."""
    global _module, _failed
    if _module is not None or _failed:
        return _module
    if os.environ.get("RNNKIT_NO_CPP"):
        _failed = True
        return None
    try:
        from torch.utils.cpp_extension import _get_build_directory
        from torch.utils.cpp_extension import load as build

        with build_lock(Path(_get_build_directory(_NAME, False))):
            _announce_build(_NAME)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _module = build(name=_NAME, sources=[str(_SOURCE)], extra_cflags=["-O3"], verbose=False)
    except Exception as exc:  # no compiler, no ninja, no headers: keep the Python paths
        _failed = True
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        warnings.warn(f"rnnkit's compiled CPU inference loop is unavailable ({type(exc).__name__}: {first_line}); "
                      "using the Python paths, which are slower at small batch sizes. Install g++ and ninja "
                      "(pip install ninja) to enable it.", stacklevel=2)
    return _module


@contextlib.contextmanager
def build_lock(directory: Path) -> Iterator[None]:
    """Hold rnnkit's lock on the extension's build folder for the block (waiting while another live process
    builds); torch's own ``lock`` file found while holding it was left by a killed build and is removed."""
    directory.mkdir(parents=True, exist_ok=True)
    with FileLock(str(directory / BUILD_LOCK)):
        baton = directory / TORCH_BATON
        if baton.exists():
            print(f"rnnkit: removed a stale build lock left by a killed build ({baton})", file=sys.stderr, flush=True)
            baton.unlink(missing_ok=True)
        yield


def _announce_build(name: str) -> None:
    """Say so on stderr before torch compiles the extension (never silent: it takes ~30–60 s, once)."""
    from torch.utils.cpp_extension import _get_build_directory

    directory = Path(_get_build_directory(name, False))
    if not (directory / f"{name}.so").exists():
        print(f"rnnkit: compiling the C++ inference loop (once, ~30-60 s; cached in {directory})...", file=sys.stderr,
              flush=True)


def available() -> bool:
    """True when the extension is built (building it on the first call)."""
    return load() is not None


def _transposed(weight: Tensor) -> Tensor:
    entry = _TRANSPOSED.get(weight)
    if entry is None or entry[0] != weight._version or entry[1] != weight.data_ptr():
        entry = (weight._version, weight.data_ptr(), weight.detach().t().contiguous())
        _TRANSPOSED[weight] = entry
    return entry[2]


def _packed(weight: Tensor) -> Tensor:
    """Wᵀ of ``weight`` in the 64-column panels of the batch-1 GEMV (``pack``), made once per weight version."""
    entry = _PACKED.get(weight)
    if entry is None or entry[0] != weight._version or entry[1] != weight.data_ptr():
        entry = (weight._version, weight.data_ptr(), load().pack(_transposed(weight), 0))
        _PACKED[weight] = entry
    return entry[2]


def _bias(bias: Tensor | None, rows: int, like: Tensor) -> Tensor:
    return bias.detach().contiguous() if bias is not None else like.new_zeros(rows)


def gru_sequence(x: Tensor, h0: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor | None,
                 bias_hh: Tensor | None, mask: Tensor | None = None, *, reset_before: bool = False,
                 ) -> tuple[Tensor, Tensor]:
    """x (T, B, I), h0 (B, H) → out (T, B, H), h_T: one direction of one layer of the reset-after GRU
    (:class:`~rnnkit.nn.cells.GRUCell`), or with ``reset_before`` the lecture's GRU; no lengths."""
    if mask is not None:
        raise ValueError("the C++ GRU loop runs unpadded batches only; pass mask=None")
    T, B, _ = x.shape
    G = weight_ih.shape[0]
    gi = torch.addmm(_bias(bias_ih, G, x), x.reshape(T * B, -1), _transposed(weight_ih)).view(T, B, G)
    return load().gru_sequence(gi, h0.contiguous(), _transposed(weight_hh), _bias(bias_hh, G, x), reset_before)


def gru_reset_before_sequence(x: Tensor, h0: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor | None,
                              bias_hh: Tensor | None, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """:func:`gru_sequence` of :class:`~rnnkit.nn.cells.GRUResetBeforeCell`: the reset gate acts before W_hn."""
    return gru_sequence(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, mask, reset_before=True)


def lstm_sequence(x: Tensor, state: State, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor | None,
                  bias_hh: Tensor | None, mask: Tensor | None = None) -> tuple[Tensor, State]:
    """x (T, B, I), (h0, c0) (B, H) → out (T, B, H), (h_T, c_T): one direction of one layer of the LSTM
    (:class:`~rnnkit.nn.cells.LSTMCell`), no lengths. The C++ loop computes the input side, W_i x_t + b_i + b_h,
    one GEMM per 64 steps, then adds W_h h_{t-1} (at batch 1 from Wᵀ packed once per weight version) and squashes
    the gates."""
    if mask is not None:
        raise ValueError("the C++ LSTM loop runs unpadded batches only; pass mask=None")
    G = weight_ih.shape[0]
    bias = _bias(bias_ih, G, x) + _bias(bias_hh, G, x)
    h0, c0 = state
    panels = _packed(weight_hh) if x.shape[1] == 1 else x.new_empty(0)
    out, h, c = load().lstm_sequence(x.contiguous(), h0.contiguous(), c0.contiguous(), _transposed(weight_ih), bias,
                                     _transposed(weight_hh), panels)
    return out, (h, c)


def lstm_layernorm_sequence(x: Tensor, state: State, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor | None,
                            bias_hh: Tensor | None, ln_weight_ih: Tensor, ln_weight_hh: Tensor, ln_weight_c: Tensor,
                            ln_bias_c: Tensor, mask: Tensor | None = None) -> tuple[Tensor, State]:
    """x (T, B, I), (h0, c0) (B, H) → out (T, B, H), (h_T, c_T): one direction of one LayerNorm-LSTM layer, no
    lengths. The input side of all steps, LN_{γx}(W_i x_t) + b_i + b_h, is one GEMM and one layer norm here;
    the C++ loop adds LN_{γh}(W_h h) and the gates (:class:`~rnnkit.nn.cells.LayerNormLSTMCell`)."""
    if mask is not None:
        raise ValueError("the C++ LayerNorm-LSTM loop runs unpadded batches only; pass mask=None")
    T, B, _ = x.shape
    G = weight_ih.shape[0]
    gx = torch.mm(x.reshape(T * B, -1), _transposed(weight_ih))
    gxn = block_layer_norm(gx, ln_weight_ih.detach(), 4)
    if bias_ih is not None:
        gxn = gxn + bias_ih.detach() + bias_hh.detach()
    h0, c0 = state
    out, h, c = load().ln_lstm_sequence(gxn.view(T, B, G).contiguous(), h0.contiguous(), c0.contiguous(),
                                        _transposed(weight_hh), ln_weight_hh.detach().contiguous(),
                                        ln_weight_c.detach().contiguous(), ln_bias_c.detach().contiguous())
    return out, (h, c)


def _step_weights(layer: torch.nn.Module) -> list[Tensor]:
    """Per layer [W_ih^T, b_ih, W_hh^T, b_hh, and both Wᵀ packed for batch 1] for ``stack_step`` (the
    LayerNorm-LSTM adds its gains γx, γh, γc and β_c), built once
    and kept until a parameter is replaced, moved or changed in place (its identity, ``data_ptr`` or ``_version``)."""
    params = tuple(layer._parameters.values())
    key = [(id(p), p._version, p.data_ptr()) for p in params]  # the ids stay valid: the entry holds params
    entry = _STEP_WEIGHTS.get(layer)
    if entry is not None and entry[0] == key:
        return entry[2]
    weights = []
    # The reset-before GRU reads W_h[r|z] h, then W_hn (r ⊙ h): its W_hh is packed in two parts.
    split = 2 * layer.hidden_size if layer.cell.kernels.cpp == "gru-reset-before" else 0
    for index in range(layer.num_layers):
        w_ih, w_hh, b_ih, b_hh = layer._weights(index)[:4]
        G = w_ih.shape[0]
        ih, hh = _transposed(w_ih), _transposed(w_hh)
        weights += [ih, _bias(b_ih, G, w_ih), hh, _bias(b_hh, G, w_ih), load().pack(ih, 0), load().pack(hh, split)]
        weights += [extra.detach().contiguous() for extra in layer._weights(index)[4:]]  # LayerNorm-LSTM: γx γh γc β_c
    _STEP_WEIGHTS[layer] = (key, params, weights)
    return weights


def stack_step(layer: torch.nn.Module, x: Tensor, state: State) -> tuple[Tensor, State]:
    """One step of every layer of a unidirectional ``Recurrent``: x (B, I), state (L, B, H) or a pair
    (h, c) → (top output (B, H), new state). Each layer's equation is its cell's (``rnnkit/nn/cells.py``), run
    by the C++ code its ``kernels.cpp`` names."""
    weights = _step_weights(layer)
    kind = layer.cell.kernels.cpp
    if isinstance(state, tuple):
        out, h, c = _module.stack_step(kind, x.contiguous(), state[0].contiguous(), state[1].contiguous(), weights)
        return out, (h, c)
    h = state.contiguous()
    out, h = _module.stack_step(kind, x.contiguous(), h, h, weights)
    return out, h
