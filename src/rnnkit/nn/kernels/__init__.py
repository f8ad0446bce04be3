"""GPU kernels for cells that cuDNN cannot run (Triton). Imported only when triton is installed."""

from __future__ import annotations

import importlib.util

HAVE_TRITON = importlib.util.find_spec("triton") is not None
