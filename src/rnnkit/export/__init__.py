"""ONNX export of whole models from a model directory (``rnnkit export``), built on :mod:`rnnkit.nn.onnx`, which
maps a recurrent layer to ONNX's own LSTM/GRU/RNN operators (re-exported here).

Needs the ``export`` extra (``pip install 'rnnkit[export]'``: onnx and onnxruntime): importing any module of
this package without it is one :class:`~rnnkit.extras.MissingExtraError` that says so."""

from rnnkit.extras import require

require("export", "ONNX export")

from rnnkit.nn.onnx import export_onnx, layer_graph, onnx_operator  # noqa: E402 (after the check above)

__all__ = ["export_onnx", "layer_graph", "onnx_operator"]
