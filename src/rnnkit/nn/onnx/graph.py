"""A small ONNX graph builder: named nodes and initializers, fresh names, and one model writer.

Every exported graph (a bare layer, a classifier, a language model, a translator's two halves) is built
with :class:`Graph`, so names stay unique and constants are stored once as initializers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from rnnkit.files import atomic_write

OPSET = 17  # LSTM/GRU/RNN-14 (with ``layout``), Softmax-13, ReduceSum-13; onnxruntime ≥ 1.18 runs it
FLOAT = TensorProto.FLOAT
INT64 = TensorProto.INT64
BOOL = TensorProto.BOOL


class Graph:
    """Accumulates nodes, initializers, inputs and outputs; :meth:`model` returns the checked ``ModelProto``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self.outputs: list[onnx.ValueInfoProto] = []
        self._count = 0

    def fresh(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def input(self, name: str, elem_type: int, shape: list[int | str]) -> str:
        self.inputs.append(helper.make_tensor_value_info(name, elem_type, shape))
        return name

    def output(self, source: str, name: str, elem_type: int, shape: list[int | str]) -> str:
        """Expose ``source`` as graph output ``name`` (through an Identity when the names differ)."""
        if source != name:
            self.nodes.append(helper.make_node("Identity", [source], [name]))
        self.outputs.append(helper.make_tensor_value_info(name, elem_type, shape))
        return name

    def const(self, hint: str, value: np.ndarray | list | float | int, dtype: type = np.float32) -> str:
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def ints(self, hint: str, values: list[int]) -> str:
        return self.const(hint, values, np.int64)

    def op(self, op_type: str, inputs: list[str], hint: str | None = None, outputs: int = 1,
           **attrs: Any) -> str | list[str]:
        """Append one node; returns its output name (or the list of names when ``outputs > 1``)."""
        names = [self.fresh(hint or op_type.lower()) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op_type, inputs, names, **attrs))
        return names[0] if outputs == 1 else names

    def linear(self, x: str, weight: np.ndarray, bias: np.ndarray | None, hint: str) -> str:
        """``x @ weightᵀ + bias`` for x (..., in) — torch's ``nn.Linear`` with weight (out, in)."""
        y = self.op("MatMul", [x, self.const(hint + "_wT", weight.T)], hint)
        if bias is not None:
            y = self.op("Add", [y, self.const(hint + "_b", bias)], hint)
        return y

    def model(self) -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, self.name, self.inputs, self.outputs, self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="rnnkit")
        model.ir_version = 8  # the IR of opset 17: readable by every onnxruntime that runs opset 17
        onnx.checker.check_model(model)
        return model


def io_spec(model: onnx.ModelProto) -> dict[str, list[dict[str, Any]]]:
    """Names, element types and shapes (symbolic dimensions by name) of a model's inputs and outputs."""
    def describe(values: Any) -> list[dict[str, Any]]:
        out = []
        for v in values:
            t = v.type.tensor_type
            dims = [d.dim_param or d.dim_value for d in t.shape.dim]
            out.append({"name": v.name, "type": TensorProto.DataType.Name(t.elem_type).lower(), "shape": dims})
        return out
    return {"inputs": describe(model.graph.input), "outputs": describe(model.graph.output)}


def save_model(model: onnx.ModelProto, path: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """Write ``path`` (.onnx) and ``path.json`` beside it: inputs/outputs, opset and ``meta``; returns the JSON."""
    path = Path(path)
    data = model.SerializeToString()
    atomic_write(path, lambda tmp: tmp.write_bytes(data))
    sidecar = {"format": "rnnkit-onnx", "opset": OPSET, "file": path.name, **io_spec(model), **meta}
    text = json.dumps(sidecar, indent=2, ensure_ascii=False) + "\n"
    atomic_write(sidecar_path(path), lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return sidecar


def sidecar_path(path: Path) -> Path:
    """``model.onnx`` → ``model.onnx.json``."""
    return Path(path).with_name(Path(path).name + ".json")
