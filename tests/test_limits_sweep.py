"""The limits sweep (issue 26): the cases of the second reliability pass, each run as ``python -m rnnkit`` in a
child process under a memory limit (``RLIMIT_AS``) and a timeout, so that "unbounded memory" and "hang" are
outcomes the suite can see rather than a machine that stalls.

Each case is an argv (placeholders: ``{tmp}`` the case's own folder, ``{S}`` ``{L}`` ``{T}`` ``{C}`` tiny
sentiment / language / translation / speech models, ``{F}`` the test fixtures), a setup that writes the case's
files (often an edited copy of a model directory), optional stdin (a file) and a file-size limit
(``RLIMIT_FSIZE``: a full disk), and what must happen: an ``error`` whose one line says ``says``, or ``ok``.

Outcomes: clear (one ``rnnkit VERB: error:`` line that says what is due), handled (exit 0 where that is due),
unclear (an error, but not one such line, or not saying what is due), traceback, silent (exit 0 where an
error is due), memory (the child ran into the memory limit: it would have grown without bound), hang (past
the timeout). The test fails on anything but clear or handled, and prints the table. The code under test is
``src/`` beside this file's folder, so the same file measures any checkout (``RNNKIT_SWEEP_JSON=path`` writes
the table and each case's outcome there).

The whole sweep takes minutes on a busy 2-core machine (``@pytest.mark.slow``); :func:`test_short_sweep` runs
the cases that need no trained model, for CI.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
LIMIT_S = float(os.environ.get("RNNKIT_SWEEP_TIMEOUT", "90"))  # a busy 2-core machine imports torch in 5-10 s
MEMORY_BYTES = 3 << 30  # address space of a case; an rnnkit command on these tiny models needs < 1.5 GiB
OUTCOMES = ("clear", "handled", "unclear", "traceback", "silent", "memory", "hang")
_OUT_OF_MEMORY = re.compile(r"MemoryError|can't allocate memory|Cannot allocate memory|std::bad_alloc|"
                            r"out of memory|DefaultCPUAllocator")
_ERROR_LINE = re.compile(r"^rnnkit [\w -]+: error: \S")

Setup = Callable[[Path, dict[str, Path]], None]


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    says: str = ""  # the error line must contain this (for "ok": stdout must)
    expect: str = "error"
    setup: Setup | None = None
    stdin: str = ""  # a file in the case's folder fed as stdin
    fsize: int = 0  # RLIMIT_FSIZE of the child (0: none)
    needs: tuple[str, ...] = field(default=())  # the trained models the case uses


def case(id: str, argv: str, says: str = "", **kw) -> Case:
    needs = set(re.findall(r"\{([SLTC])\}", argv)) | set(getattr(kw.get("setup"), "needs", ""))
    return Case(id, tuple(argv.split()), says, needs=tuple(sorted(needs)), **kw)


# ------------------------------------------------------------------------------------------------ setups
def _write(name: str, content: str | bytes) -> Setup:
    def setup(tmp: Path, models: dict[str, Path]) -> None:
        data = content.encode("utf-8") if isinstance(content, str) else content
        (tmp / name).write_bytes(data)
    return setup


def _long_line(name: str, size: int) -> Setup:
    """A file of one line of ``size`` bytes of ordinary words (written in blocks, never held whole)."""
    def setup(tmp: Path, models: dict[str, Path]) -> None:
        block = b"a fine film " * 87_381  # ~1 MiB
        with open(tmp / name, "wb") as f:
            for _ in range(size // len(block)):
                f.write(block)
            f.write(b"\n")
    return setup


def _model(key: str, edit: Callable[[Path], None]) -> Setup:
    """A copy of model ``key`` at ``{tmp}/m``, then ``edit(copy)``."""
    def setup(tmp: Path, models: dict[str, Path]) -> None:
        shutil.copytree(models[key], tmp / "m")
        edit(tmp / "m")
    setup.needs = key  # type: ignore[attr-defined]
    return setup


def _config(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def edit(directory: Path) -> None:
        config = json.loads((directory / "config.json").read_text())
        change(config)
        (directory / "config.json").write_text(json.dumps(config))
    return edit


def _kwarg(name: str, value: int) -> Callable[[Path], None]:
    return _config(lambda config: config["model"]["kwargs"].__setitem__(name, value))


def _replace(name: str, how: str) -> Callable[[Path], None]:
    def edit(directory: Path) -> None:
        path = directory / name
        path.unlink()
        if how == "fifo":
            os.mkfifo(path)
        elif how == "deep":
            path.write_text("[" * 100_000 + "]" * 100_000)
        else:
            path.symlink_to(how)
    return edit


def _record(extra: dict[str, str]) -> Callable[[Path], None]:
    """Add files to the integrity record in ``model.safetensors``'s header (its tensors unchanged)."""
    def edit(directory: Path) -> None:
        from safetensors import safe_open
        from safetensors.torch import save_file

        path = directory / "model.safetensors"
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata()
            state = {k: f.get_tensor(k) for k in f.keys()}
        files = {**json.loads(metadata.get("files_sha256", "{}")), **extra}
        save_file(state, str(path), metadata={**metadata, "files_sha256": json.dumps(files)})
    return edit


def _wav(rate: int, seconds_of_bytes: int = 2_000_000) -> Setup:
    """A WAV file of ``seconds_of_bytes`` bytes whose header declares ``rate`` Hz (float32 samples)."""
    def setup(tmp: Path, models: dict[str, Path]) -> None:
        import soundfile as sf

        samples = np.sin(np.arange(seconds_of_bytes // 4) * 0.05).astype("float32") * 0.3
        sf.write(tmp / "in.wav", samples, rate, subtype="FLOAT")
    return setup


def _bomb() -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    return "\n".join(lines) + "\ncell: gru\n"


SENT = "train sentiment --data {F}/reviews.csv --text-col review --label-col sentiment --epochs 1 --min-freq 1 " \
       "--no-progress --embed-dim 4 --hidden-size 4 --batch-size 8"
OWN = "train sentiment --data {tmp}/%s --epochs 1 --min-freq 1 --no-progress --model bow --out {tmp}/out"
LM = "train lm --data {F}/lm/wikitext-2 --cell gru --embed-dim 4 --hidden-size 4 --batch-size 4 --epochs 1 " \
     "--no-progress --min-freq 1"
MT = "train translate --data {F}/translation/fra.txt --epochs 1 --no-progress --embed-dim 4 --hidden-size 4 " \
     "--src-bpe 100 --tgt-bpe 100 --batch-size 8"


def _cases() -> list[Case]:
    rows = "text,label\n" + "".join(f"a fine {w} film,positive\na dull {w} film,negative\n" for w in "abcdefghij")
    jsonl = "".join(json.dumps({"text": f"a fine {w} film", "label": "positive"}) + "\n" +
                    json.dumps({"text": f"a dull {w} film", "label": "negative"}) + "\n" for w in "abcdefghij")
    return [
        # ---------------------------------------------------------------- files a model directory names
        case("config.json -> /dev/zero", "predict {tmp}/m good", "not a regular file",
             setup=_model("S", _replace("config.json", "/dev/zero"))),
        case("config.json a FIFO", "predict {tmp}/m good", "FIFO", setup=_model("S", _replace("config.json", "fifo"))),
        case("history.jsonl -> /dev/zero (plot)", "plot {tmp}/m --out {tmp}/c.png", "character device",
             setup=_model("S", _replace("history.jsonl", "/dev/zero"))),
        case("config.json 100k deep", "predict {tmp}/m good", "deeper",
             setup=_model("S", _replace("config.json", "deep"))),
        case("integrity record names /etc/hostname", "predict {tmp}/m good", "outside the model directory",
             setup=_model("S", _record({"/etc/hostname": "0" * 64}))),
        case("integrity record names ../x.json", "predict {tmp}/m good", "outside the model directory",
             setup=_model("S", _record({"../x.json": "0" * 64}))),
        # ------------------------------------------------------------------------- sizes in config.json
        case("config hidden_size 1e9", "predict {tmp}/m good", "hidden_size",
             setup=_model("S", _kwarg("hidden_size", 10**9))),
        case("config vocab_size 1e9", "predict {tmp}/m good", "vocab_size",
             setup=_model("S", _kwarg("vocab_size", 10**9))),
        case("config hidden_size 20000", "predict {tmp}/m good", "hidden_size",
             setup=_model("S", _kwarg("hidden_size", 20_000))),
        case("config hidden_size 4000 over 4-wide weights", "predict {tmp}/m good", "shape differs",
             setup=_model("S", _kwarg("hidden_size", 4_000))),
        case("config num_layers 100000", "predict {tmp}/m good", "num_layers",
             setup=_model("S", _kwarg("num_layers", 100_000))),
        # ------------------------------------------------------------------------------- sizes in flags
        case("train --hidden-size 1e9", SENT + " --hidden-size 1000000000 --out {tmp}/o", "--hidden-size"),
        case("train --embed-dim 1e9", SENT + " --embed-dim 1000000000 --out {tmp}/o", "--embed-dim"),
        case("train --layers 100000", SENT + " --layers 100000 --out {tmp}/o", "--layers"),
        case("train 16384 wide, 64 layers", SENT + " --hidden-size 16384 --embed-dim 16384 --layers 64 --out {tmp}/o",
             "parameters"),
        case("demo --length 1e9", "demo --length 1000000000", "--length"),
        case("train --seed 1e20", SENT + " --seed 99999999999999999999 --out {tmp}/o", "--seed"),
        case("train lm --bptt 1e9", LM + " --bptt 1000000000 --out {tmp}/o", "--bptt"),
        case("train lm --bptt 100000 (corpus shorter)", LM + " --bptt 100000 --out {tmp}/o", "bptt"),
        # ---------------------------------------------------------------------- inputs capped while read
        case("predict one 200 MB line", "predict {S}", "longer than", setup=_long_line("big.txt", 200 << 20),
             stdin="big.txt"),
        case("translate one 300 MB line", "translate {T}", "longer than", setup=_long_line("big.txt", 300 << 20),
             stdin="big.txt"),
        case("transcribe 2 MB WAV at 1 Hz", "transcribe {C} {tmp}/in.wav", "seconds", setup=_wav(1)),
        case("transcribe 2 MB WAV at 50 Hz", "transcribe {C} {tmp}/in.wav", "seconds", setup=_wav(50)),
        case("JSONL data row 100k deep", OWN % "rows.jsonl", "deeper",
             setup=_write("rows.jsonl", jsonl + '{"text": ' + "[" * 100_000 + "]" * 100_000 + "}\n")),
        # ----------------------------------------------------------------------------- settings files
        case("--config YAML alias bomb", SENT + " --config {tmp}/bomb.yaml --out {tmp}/o", "aliases",
             setup=_write("bomb.yaml", _bomb())),
        case("--config YAML 100k deep", SENT + " --config {tmp}/deep.yaml --out {tmp}/o", "deeper",
             setup=_write("deep.yaml", "cell: " + "[" * 100_000 + "]" * 100_000 + "\n")),
        case("--config JSON 100k deep", SENT + " --config {tmp}/deep.json --out {tmp}/o", "deeper",
             setup=_write("deep.json", '{"cell": ' + "[" * 100_000 + "]" * 100_000 + "}")),
        case("--config non-UTF-8 value", SENT + " --config {tmp}/latin.yaml --out {tmp}/o", "'cell'",
             setup=_write("latin.yaml", b"epochs: 1\ncell: gr\xe9\n")),
        case("--config 5,000-digit value", SENT + " --config {tmp}/digits.yaml --out {tmp}/o", "'hidden_size'",
             setup=_write("digits.yaml", "epochs: 1\nhidden_size: " + "1" * 5_000 + "\n")),
        case("--config 5,000-digit value (JSON)", SENT + " --config {tmp}/digits.json --out {tmp}/o", "'hidden_size'",
             setup=_write("digits.json", '{"epochs": 1, "hidden_size": ' + "1" * 5_000 + "}")),
        # ---------------------------------------------------------------------------- data and options
        case("CSV with a duplicated header", OWN % "dup.csv", "'text'", setup=_write("dup.csv", "text,text,label\n" +
             "".join(f"a fine {w} film,x,positive\na dull {w} film,y,negative\n" for w in "abcdefghij"))),
        case("JSONL label NaN", OWN % "nan.jsonl", "label", setup=_write("nan.jsonl", jsonl + '{"text": "ok", '
             '"label": NaN}\n')),
        case("tab-separated file named .csv", OWN % "tabs.csv", "test", expect="ok",
             setup=_write("tabs.csv", rows.replace(",", "\t"))),
        case("train --lr 1e308", SENT + " --lr 1e308 --out {tmp}/o", "lower --lr"),
        # ---------------------------------------------------------------------------------- a full disk
        case("full disk at a checkpoint (ulimit -f 10 KB)", SENT + " --out {tmp}/o", "the disk is full",
             fsize=10_000),  # the step-0 checkpoint (6 KB) fits, the next one (with Adam's moments, 14 KB) does not
    ]


CASES = _cases()
SHORT = ("demo --length 1e9", "--config YAML alias bomb", "train --seed 1e20",
         "CSV with a duplicated header", "--config 5,000-digit value")


# ------------------------------------------------------------------------------------------------ running
def _limits(fsize: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
        if fsize:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    return apply


def _env(cache: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(SRC), "RNNKIT_CACHE": str(cache), "PYTHONWARNINGS": "ignore",
            "TORCH_EXTENSIONS_DIR": str(cache / "torch-extensions"), "OMP_NUM_THREADS": "1"}


def run_case(c: Case, root: Path, models: dict[str, Path], command: tuple[str, ...] = ()) -> tuple[str, str]:
    """(outcome, the child's last stderr line) of one case, in its own folder under ``root``; ``command``: what
    runs the argv (default ``python -m rnnkit``)."""
    tmp = root / re.sub(r"\W+", "-", c.id).strip("-")
    tmp.mkdir(parents=True)
    if c.setup is not None:
        c.setup(tmp, models)
    names = {"tmp": str(tmp), "F": str(FIXTURES), **{k: str(v) for k, v in models.items()}}
    argv = [a.format(**names) for a in c.argv]
    stdin = open(tmp / c.stdin, "rb") if c.stdin else subprocess.DEVNULL  # noqa: SIM115 - closed below
    try:
        child = subprocess.run([*(command or (sys.executable, "-m", "rnnkit")), *argv], stdin=stdin,
                               capture_output=True, text=True, errors="replace", cwd=tmp, env=_env(root / "cache"),
                               timeout=LIMIT_S, preexec_fn=_limits(c.fsize))
    except subprocess.TimeoutExpired:
        return "hang", f"no answer in {LIMIT_S:.0f} s"
    finally:
        if c.stdin:
            stdin.close()
        shutil.rmtree(tmp, ignore_errors=True)  # the 200-300 MB inputs go at once
    outcome, last = classify(c, child.returncode, child.stdout, child.stderr)
    for name, path in sorted(names.items(), key=lambda item: -len(item[1])):  # no machine path in a report
        last = last.replace(path, "{" + name + "}")
    return outcome, last


def classify(c: Case, code: int, out: str, err: str) -> tuple[str, str]:
    lines = [line for line in err.splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    if _OUT_OF_MEMORY.search(err) or code < 0:
        return "memory", last
    if "Traceback (most recent call last)" in err:
        return "traceback", last
    if c.expect == "ok":
        return ("handled" if code == 0 and c.says in out else "silent" if code == 0 else "unclear"), last
    if code == 0:
        return "silent", last
    errors = [line for line in lines if " error: " in line or line.startswith("error")]
    if len(errors) == 1 and _ERROR_LINE.match(last) and c.says in last:
        return "clear", last
    return "unclear", last


def _train(argv: str, out: Path, env: dict[str, str]) -> None:
    words = argv.format(F=str(FIXTURES)).split() + ["--out", str(out)]
    done = subprocess.run([sys.executable, "-m", "rnnkit", *words], capture_output=True, text=True, env=env,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]


def build_models(root: Path, needs: set[str]) -> dict[str, Path]:
    """The tiny models the cases use, trained by the code under test (seconds each)."""
    import soundfile as sf

    env = _env(root / "cache")
    models = {key: root / name for key, name in (("S", "sentiment"), ("L", "lm"), ("T", "translate"), ("C", "ctc"))}
    if "S" in needs:
        _train(SENT.replace("--embed-dim 4", "--cell gru --embed-dim 4"), models["S"], env)
    if "L" in needs:
        _train(LM + " --bptt 8", models["L"], env)
    if "T" in needs:
        _train(MT, models["T"], env)
    if "C" in needs:
        corpus = root / "speech"
        corpus.mkdir()
        manifest = []
        for i, text in enumerate(["he was", "she is", "ten of", "let us", "our hope", "four days", "make it"]):
            noise = np.random.default_rng(i).standard_normal(6000).astype("float32") * 0.1
            sf.write(corpus / f"{i}.wav", noise, 16_000)
            manifest.append({"audio": f"{i}.wav", "text": text, "split": ("train", "val", "test")[min(i // 3, 2)],
                             "voice": f"v{i % 2}"})
        (corpus / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in manifest))
        _train(f"train speech-ctc --data {corpus} --epochs 1 --hidden-size 4 --layers 1 --batch-size 4 --no-progress",
               models["C"], env)
    return models


def sweep(cases: list[Case], root: Path, workers: int = 2) -> dict[str, tuple[str, str]]:
    models = build_models(root, {key for c in cases for key in c.needs})
    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(lambda c: run_case(c, root / "cases", models), cases))
    return {c.id: result for c, result in zip(cases, results, strict=True)}


def report(results: dict[str, tuple[str, str]]) -> str:
    counts = Counter(outcome for outcome, _ in results.values())
    table = " | ".join(f"{name} {counts.get(name, 0)}" for name in OUTCOMES)
    lines = [f"limits sweep, {len(results)} cases: {table}"]
    lines += [f"  {outcome:9s} {case_id}: {last[:150]}" for case_id, (outcome, last) in results.items()]
    target = os.environ.get("RNNKIT_SWEEP_JSON")
    if target:
        Path(target).write_text(json.dumps({"counts": {n: counts.get(n, 0) for n in OUTCOMES},
                                            "cases": {k: {"outcome": o, "last_line": last}
                                                      for k, (o, last) in results.items()}}, indent=1))
    return "\n".join(lines)


def _check(results: dict[str, tuple[str, str]]) -> None:
    text = report(results)
    print(text)
    bad = {k: v for k, v in results.items() if v[0] not in ("clear", "handled")}
    assert not bad, text


@pytest.mark.slow
def test_limits_sweep(tmp_path):
    _check(sweep(CASES, tmp_path))


def test_short_sweep(tmp_path):
    """The cases that need no trained model, for CI."""
    _check(sweep([c for c in CASES if c.id in SHORT], tmp_path))


def test_the_classifier_sees_each_outcome():
    """The sweep's verdicts themselves: each outcome is recognised from a child's exit code and stderr."""
    error = Case("e", ("predict",), says="too big")
    ok = Case("o", ("predict",), says="positive", expect="ok")
    assert classify(error, 1, "", "rnnkit predict: error: too big, cut it\n")[0] == "clear"
    assert classify(error, 1, "", "usage: rnnkit …\n  [--x]\nrnnkit predict: error: too big\n")[0] == "clear"
    assert classify(error, 1, "", "rnnkit predict: error: something else\n")[0] == "unclear"
    assert classify(error, 1, "", "Traceback (most recent call last):\n  …\nValueError: too big\n")[0] == "traceback"
    assert classify(error, 1, "", "RuntimeError: DefaultCPUAllocator: can't allocate memory\n")[0] == "memory"
    assert classify(error, -9, "", "")[0] == "memory"
    assert classify(error, 0, "positive\n", "")[0] == "silent"
    assert classify(ok, 0, "positive 0.9\n", "")[0] == "handled"
    assert classify(ok, 1, "", "rnnkit predict: error: no\n")[0] == "unclear"


def test_a_case_past_the_timeout_is_a_hang(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "LIMIT_S", 0.5)
    started = time.monotonic()
    assert run_case(Case("sleeps", ("60",)), tmp_path, {}, command=("sleep",)) == ("hang", "no answer in 0 s")
    assert time.monotonic() - started < 30
