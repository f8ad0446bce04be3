"""The lean install: text needs no extra, and every command that needs one ends with one line naming it.

A missing package is simulated in a subprocess by ``sys.modules[name] = None`` (Python then refuses to import
it, as if it were not installed), so these tests run in the full dev environment.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rnnkit.extras import EXTRA_OF, EXTRAS, MissingExtraError, optional_import

ROOT = Path(__file__).resolve().parents[1]
# Every extra's packages, and the heavy ones they pull in (librosa's scipy, scikit-learn, numba; plots' pillow).
EVERY_EXTRA = sorted({*EXTRA_OF, "scipy", "sklearn", "numba", "PIL", "triton", "starlette", "httpx"})


def run_without(blocked: list[str], code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter in which the modules ``blocked`` cannot be imported."""
    prelude = f"import sys\nfor name in {blocked!r}:\n    sys.modules[name] = None\n"
    return subprocess.run([sys.executable, "-c", prelude + code], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)


def test_the_extras_are_pyproject_s_and_dev_installs_them_all() -> None:
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    optional = project["optional-dependencies"]

    def names(requirements: list[str]) -> set[str]:
        """Distribution names, with rnnkit[a,b] expanded into the extras a and b."""
        out: set[str] = set()
        for line in requirements:
            name = re.split(r"[<>=;\[ ]", line, maxsplit=1)[0].lower()
            if name == "rnnkit":
                for extra in line[line.index("[") + 1 : line.index("]")].split(","):
                    out |= names(optional[extra])
            else:
                out.add(name)
        return out

    assert set(EXTRAS) <= set(optional)
    assert names(optional["dev"]) >= names(optional["all"]) >= {"librosa", "matplotlib", "pandas", "onnxruntime"}
    assert names(optional["all"]) == set().union(*(names(optional[extra]) for extra in EXTRAS))
    assert not names(project["dependencies"]) & names(optional["all"])  # core needs no extra's package
    assert names(optional["speech"]) == {"librosa", "soundfile", "jiwer"}


def test_import_rnnkit_and_training_text_need_no_extra(reviews_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "lstm"
    code = f"""
import rnnkit
from rnnkit.cli import main
args = ["--data", {str(reviews_csv)!r}, "--text-col", "text", "--label-col", "label", "--epochs", "1",
        "--embed-dim", "8", "--hidden-size", "8", "--min-freq", "1", "--no-progress", "--out", {str(out)!r}]
assert main(["train", "sentiment", *args]) == 0
assert main(["predict", {str(out)!r}, "--json", "a fine film"]) == 0
loaded = sorted(name for name in {EVERY_EXTRA!r} if sys.modules.get(name) is not None)
print("LOADED", loaded)
"""
    result = run_without(EVERY_EXTRA, code)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "LOADED []" in result.stdout
    assert json.loads(result.stdout.splitlines()[-2])["label"] in ("positive", "negative")
    assert (out / "model.safetensors").is_file() and (out / "steps.csv").is_file()


# (the command, the module made missing, the extra its error must name)
COMMANDS = [
    (("serve", "runs/x"), "fastapi", "serve"),
    (("serve", "runs/x"), "multipart", "serve"),
    (("export", "runs/x"), "onnx", "export"),
    (("export", "runs/x"), "onnxruntime", "export"),
    (("plot", "runs/x"), "matplotlib", "plot"),
    (("translate", "runs/x", "Bonjour.", "--plot", "attention.png"), "matplotlib", "plot"),
    (("inspect", "runs/x", "a fine film", "--plot", "gates.png"), "matplotlib", "plot"),
    (("bench", "--quick", "--plot", "speed.png"), "matplotlib", "plot"),
    (("experiment", "gates", "--quick", "--out", "OUT"), "matplotlib", "plot"),
    (("experiment", "examples", "--quick", "--out", "OUT"), "jiwer", "speech"),
    (("train", "speech-ctc", "--epochs", "1", "--out", "OUT"), "librosa", "speech"),
    (("train", "sentiment", "--data", "REVIEWS", "--text-col", "text", "--label-col", "label", "--epochs", "1",
      "--no-progress", "--log", "tensorboard", "--out", "OUT"), "tensorboard", "log"),
]


def test_a_command_without_its_extra_says_which_to_install(reviews_csv: Path, tmp_path: Path) -> None:
    """Every command of :data:`COMMANDS`, one interpreter for all (each with its module missing in turn)."""
    cases = []
    for n, (argv, module, _) in enumerate(COMMANDS):
        places = {"OUT": str(tmp_path / f"out{n}"), "REVIEWS": str(reviews_csv)}
        cases.append(([places.get(a, a) for a in argv], module))
    code = f"""
import contextlib, io, json
from rnnkit.cli import main
results = []
for argv, module in {cases!r}:
    sys.modules[module] = None
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = main(argv)
    del sys.modules[module]
    results.append((rc, err.getvalue()))
print(json.dumps(results))
"""
    result = run_without([], code)
    assert result.returncode == 0, result.stderr[-3000:]
    for (argv, module, extra), (rc, err) in zip(COMMANDS, json.loads(result.stdout.splitlines()[-1]), strict=True):
        lines = err.strip().splitlines()
        assert rc == 1 and len(lines) == 1, (argv, err)
        assert f"needs {module}, which is not installed: pip install 'rnnkit[{extra}]'" in lines[0], (argv, err)
    assert "(or pass --log csv)" in err  # the last: --log tensorboard


@pytest.mark.parametrize("code, extra, module", [
    ("from rnnkit.metrics.wer import wer\nwer('a b', 'a c')", "speech", "jiwer"),
    ("from rnnkit.data.readers.audio import read_audio\nread_audio('x.wav')", "speech", "soundfile"),
    ("from rnnkit.features.audio import FeatureConfig, compute_features\nimport numpy as np\n"
     "compute_features(np.zeros(400, np.float32), FeatureConfig())", "speech", "librosa"),
    ("import rnnkit.nn\nrnnkit.nn.export_onnx", "export", "onnx"),
    ("from rnnkit.serve import create_app", "serve", "fastapi"),
])
def test_python_api_without_an_extra_raises_missing_extra_error(code, extra, module) -> None:
    catch = f"""
from rnnkit.extras import MissingExtraError
try:
{chr(10).join('    ' + line for line in code.splitlines())}
except MissingExtraError as err:
    print("ERROR", err)
"""
    result = run_without([module], catch)
    assert result.returncode == 0, result.stderr
    assert f"needs {module}, which is not installed: pip install 'rnnkit[{extra}]'" in result.stdout


def test_a_broken_dependency_of_an_extra_is_named_too() -> None:
    result = run_without(["rapidfuzz"], "from rnnkit.extras import optional_import\noptional_import('jiwer', 'WER')")
    assert "WER needs jiwer, which cannot be imported (" in result.stderr and "rapidfuzz" in result.stderr
    assert "pip install 'rnnkit[speech]'" in result.stderr


def test_optional_import_refuses_a_package_of_no_extra() -> None:
    with pytest.raises(ValueError, match="not the package of an extra"):
        optional_import("numpy", "arrays")
    assert issubclass(MissingExtraError, ImportError)
