"""ONNX export: recurrent layers on ONNX's own LSTM/GRU/RNN operators, and whole models from a directory.

Needs the ``export`` extra (``pip install rnnkit[export]``: onnx and onnxruntime)."""

from rnnkit.export.layer import export_onnx, layer_graph, onnx_operator

__all__ = ["export_onnx", "layer_graph", "onnx_operator"]
