"""Recurrent building blocks: cells (one step, the equations, and what each can do) and the ``Recurrent`` layer."""

from rnnkit.nn.capabilities import Kernels, OnnxMapping
from rnnkit.nn.cells import (
    CELLS,
    ElmanCell,
    ElmanReLUCell,
    GRUCell,
    GRUResetBeforeCell,
    LayerNormLSTMCell,
    LSTMCell,
    RecurrentCell,
    get_cell,
    register_cell,
)
from rnnkit.nn.layers import BACKENDS, Recurrent

__all__ = [
    "BACKENDS",
    "CELLS",
    "ElmanCell",
    "ElmanReLUCell",
    "GRUCell",
    "GRUResetBeforeCell",
    "Kernels",
    "LSTMCell",
    "LayerNormLSTMCell",
    "OnnxMapping",
    "Recurrent",
    "RecurrentCell",
    "export_onnx",
    "get_cell",
    "register_cell",
]


def __getattr__(name: str):  # noqa: ANN202 - module __getattr__ (PEP 562)
    """``rnnkit.nn.export_onnx`` is imported on first use, so ``import rnnkit.nn`` never needs onnx (the
    ``export`` extra)."""
    if name == "export_onnx":
        from rnnkit.nn.onnx import export_onnx

        return export_onnx
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
