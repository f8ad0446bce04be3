"""ONNX export of whole models from a model directory (``rnnkit export``), built on :mod:`rnnkit.nn.onnx`, which
maps a recurrent layer to ONNX's own LSTM/GRU/RNN operators (re-exported here).

Needs the ``export`` extra (``pip install rnnkit[export]``: onnx and onnxruntime)."""

from rnnkit.nn.onnx import export_onnx, layer_graph, onnx_operator

__all__ = ["export_onnx", "layer_graph", "onnx_operator"]
