"""A :class:`~rnnkit.nn.Recurrent` layer as ONNX's own recurrent operators, and the graph builder for it.

Needs the ``export`` extra (``pip install 'rnnkit[export]'``: onnx and onnxruntime), so ``import rnnkit.nn``
never imports this package; ``rnnkit.nn.export_onnx`` loads it on first use, and without the extra that is one
:class:`~rnnkit.extras.MissingExtraError` that says so. Whole models from a model directory (``rnnkit export``)
are :mod:`rnnkit.export`, which builds on this.
"""

from rnnkit.extras import require

require("export", "ONNX export")

from rnnkit.nn.onnx.layer import add_recurrent, export_onnx, layer_graph, mapping, onnx_operator  # noqa: E402

__all__ = ["add_recurrent", "export_onnx", "layer_graph", "mapping", "onnx_operator"]
