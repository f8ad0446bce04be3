"""The Triton reset-before GRU kernels against the CPU ``bptt`` kernel, run by Triton's interpreter on the CPU.

TRITON_INTERPRET must be set before triton is imported, so the check runs in a subprocess."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("triton") is None,
                                reason="triton is not installed (pip install -e '.[triton]'; CI installs it)")

CHECK = r"""
import json, torch
from rnnkit.nn.kernels.bptt_gru import GRUResetBeforeSequence
from rnnkit.nn.kernels.triton_gru import TritonGRUResetBefore
torch.manual_seed(0)
T, B, H = 5, 3, 40  # H not a multiple of the tile sizes, B < the batch tile: masks are exercised
errors = {}
for masked in (False, True):
    for bias in (True, False):
        gi = torch.randn(T, B, 3 * H, requires_grad=True)
        h0 = torch.randn(B, H, requires_grad=True)
        w = (torch.randn(3 * H, H) * 0.2).requires_grad_(True)
        b = torch.randn(3 * H, requires_grad=True) if bias else None
        lengths = torch.tensor([5, 2, 4])
        mask = (torch.arange(T)[:, None] < lengths).unsqueeze(2).float() if masked else None
        results = []
        for fn in (GRUResetBeforeSequence, TritonGRUResetBefore):
            out, hT = fn.apply(gi, h0, w, b, mask)
            weights = torch.linspace(-1, 1, out.numel()).view_as(out)
            grads = torch.autograd.grad((out * weights).sum() + (hT ** 2).sum(), [gi, h0, w] + ([b] if bias else []))
            results.append([out, hT, *grads])
        errors[f"masked={masked},bias={bias}"] = max((a - c).abs().max().item() for a, c in zip(*results))
print(json.dumps(errors))
"""


def test_triton_kernels_match_the_bptt_kernel_under_the_interpreter():
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "TRITON_INTERPRET": "1", "PYTHONPATH": src, "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    errors = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(errors) == 4
    for case, err in errors.items():
        assert err < 1e-5, f"{case}: max abs difference {err}"
