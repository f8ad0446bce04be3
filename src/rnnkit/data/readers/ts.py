"""Reader for the sktime / UEA-UCR ``.ts`` time-series format.

A ``.ts`` file is a header, then ``@data``, then one line per series::

    # comment lines start with '#' (or '%')
    @problemName BasicMotions
    @timeStamps false
    @missing false
    @univariate false
    @dimensions 6
    @equalLength true
    @seriesLength 100
    @classLabel true Standing Running Walking Badminton
    @data
    0.07,0.07,-0.90,...:0.30,0.30,...:...:Standing

Dimensions are separated by ``:``, values by ``,``, the class label comes last, ``?`` is a missing value
(read as NaN). Header keys are case-insensitive. Series may differ in length (``@equalLength false``);
the dimensions of one series must have one length. Time-stamped files (``@timeStamps true``) and
regression targets (``@targetLabel``) are not supported and say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnnkit.data.readers.encoding import read_utf8

_BOOL_KEYS = ("timestamps", "missing", "univariate", "equallength")
_INT_KEYS = ("dimensions", "serieslength")
_KNOWN_KEYS = ("problemname", *_BOOL_KEYS, *_INT_KEYS, "classlabel", "targetlabel", "data")


@dataclass
class TsData:
    """The contents of one ``.ts`` file.

    Attributes:
        problem_name: ``@problemName`` (None if absent).
        series: one float32 array of shape (T_i, C) per data line; NaN where the file has ``?``.
        labels: the class label of every series, as written (None if ``@classLabel false``).
        class_labels: the ``@classLabel`` list in header order (None if ``@classLabel false``).
        header: every header key (lower-cased) → its raw value.
    """

    problem_name: str | None
    series: list[np.ndarray]
    labels: list[str] | None
    class_labels: list[str] | None
    header: dict[str, str] = field(default_factory=dict)

    @property
    def num_dimensions(self) -> int:
        return self.series[0].shape[1] if self.series else int(self.header.get("dimensions", 1))

    @property
    def equal_length(self) -> bool:
        return len({len(x) for x in self.series}) <= 1


def read_ts(path: Path) -> TsData:
    """Parse a ``.ts`` file; a malformed file raises a one-line ``ValueError`` naming the line number."""
    path = Path(path)
    text = read_utf8(path, "a UEA .ts file")
    lines = [(number, raw.strip()) for number, raw in enumerate(text.splitlines(), start=1)]
    lines = [(number, line) for number, line in lines if line and not line.startswith(("#", "%"))]
    header: dict[str, str] = {}
    body: list[tuple[int, str]] | None = None
    for i, (number, line) in enumerate(lines):
        key, value = _header_line(path, number, line, header)
        header[key] = value
        if key == "data":
            body = lines[i + 1:]
            break
    if body is None:
        raise ValueError(f"{path}: no '@data' line (not a .ts file?)")
    flag, *names = header.get("classlabel", "false").split()
    class_labels = names if flag.lower() == "true" else None
    dims = 1 if header.get("univariate", "").lower() == "true" else int(header.get("dimensions", 0)) or None
    series: list[np.ndarray] = []
    labels: list[str] = []
    for number, line in body:
        x, label = _series_line(path, number, line, class_labels, dims)
        dims = x.shape[1]
        series.append(x)
        if label is not None:
            labels.append(label)
        if "serieslength" in header and header.get("equallength", "").lower() == "true":
            expected = int(header["serieslength"])
            if len(x) != expected:
                raise _fail(path, number, f"series of length {len(x)}, @seriesLength says {expected}")
    if not series:
        raise ValueError(f"{path}: no series after @data")
    if header.get("equallength", "").lower() == "true" and len({len(x) for x in series}) > 1:
        raise ValueError(f"{path}: @equalLength true but the series lengths differ")
    return TsData(problem_name=header.get("problemname") or None, series=series,
                  labels=labels if class_labels is not None else None, class_labels=class_labels, header=header)


def _fail(path: Path, number: int, message: str) -> ValueError:
    return ValueError(f"{path}: line {number}: {message}")


def _header_line(path: Path, number: int, line: str, header: dict[str, str]) -> tuple[str, str]:
    """``(key, value)`` of a header line (``@key value``), checked against the format and the keys before it."""
    if not line.startswith("@"):
        raise _fail(path, number, f"expected a header line '@key value' or '@data' before the data, got {line[:40]!r}")
    key, _, value = line[1:].partition(" ")
    key, value = key.lower(), value.strip()
    if key not in _KNOWN_KEYS:
        raise _fail(path, number, f"unknown header '@{key}'; known: {', '.join('@' + k for k in _KNOWN_KEYS)}")
    if key in header:
        raise _fail(path, number, f"duplicate header '@{key}'")
    if key in _BOOL_KEYS and value.lower() not in ("true", "false"):
        raise _fail(path, number, f"@{key} must be true or false, got {value!r}")
    if key in _INT_KEYS and not (value.isdigit() and int(value) > 0):
        raise _fail(path, number, f"@{key} must be a positive integer, got {value!r}")
    if key == "timestamps" and value.lower() == "true":
        raise _fail(path, number, "time-stamped .ts files (@timeStamps true) are not supported")
    if key == "targetlabel":
        raise _fail(path, number, "regression .ts files (@targetLabel) are not supported")
    if key == "classlabel":
        flag, *names = value.split()
        if flag.lower() not in ("true", "false"):
            raise _fail(path, number, f"@classLabel must be 'true <labels...>' or 'false', got {value!r}")
        if flag.lower() == "true" and not names:
            raise _fail(path, number, "@classLabel true needs the list of class labels")
        if len(set(names)) != len(names):
            raise _fail(path, number, "@classLabel lists a label twice")
    return key, value


def _series_line(path: Path, number: int, line: str, class_labels: list[str] | None,
                 dims: int | None) -> tuple[np.ndarray, str | None]:
    """One data line: the series, (T, C) float32 with NaN for ``?``, and its label (None without labels);
    ``dims``: the dimensions every line must have (None: any, the first line sets them)."""
    if line.startswith("@"):
        raise _fail(path, number, f"header line {line.split()[0]!r} after @data")
    fields = line.split(":")
    label = None
    if class_labels is not None:
        label = fields.pop().strip()
        if label not in class_labels:
            raise _fail(path, number, f"class label {label!r} is not in @classLabel {class_labels}")
    if dims is not None and len(fields) != dims:
        with_label = " plus a label" if class_labels is not None else ""
        raise _fail(path, number, f"{len(fields)} dimension(s), expected {dims}{with_label}")
    columns: list[list[float]] = []
    for d, part in enumerate(fields):
        values = part.split(",")
        try:
            columns.append([float("nan") if v.strip() == "?" else float(v) for v in values])
        except ValueError:
            bad = next(v for v in values if v.strip() != "?" and not is_number(v))
            raise _fail(path, number, f"dimension {d}: {bad.strip()[:20]!r} is not a number or '?'") from None
    lengths = {len(c) for c in columns}
    if len(lengths) != 1:
        raise _fail(path, number, f"the dimensions of one series have different lengths {sorted(lengths)}")
    return np.array(columns, dtype=np.float32).T.copy(), label  # (C, T) → (T, C)


def is_number(text: str) -> bool:
    """Whether ``float(text)`` parses."""
    try:
        float(text)
    except ValueError:
        return False
    return True
