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
    header: dict[str, str] = {}
    class_labels: list[str] | None = None
    has_labels = False
    series: list[np.ndarray] = []
    labels: list[str] = []
    in_data = False
    dims: int | None = None

    def fail(number: int, message: str) -> ValueError:
        return ValueError(f"{path}: line {number}: {message}")

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", "%")):
            continue
        if not in_data:
            if not line.startswith("@"):
                raise fail(number, f"expected a header line '@key value' or '@data' before the data, got {line[:40]!r}")
            key, _, value = line[1:].partition(" ")
            key, value = key.lower(), value.strip()
            if key not in _KNOWN_KEYS:
                raise fail(number, f"unknown header '@{key}'; known: {', '.join('@' + k for k in _KNOWN_KEYS)}")
            if key in header:
                raise fail(number, f"duplicate header '@{key}'")
            if key in _BOOL_KEYS and value.lower() not in ("true", "false"):
                raise fail(number, f"@{key} must be true or false, got {value!r}")
            if key in _INT_KEYS and not (value.isdigit() and int(value) > 0):
                raise fail(number, f"@{key} must be a positive integer, got {value!r}")
            if key == "timestamps" and value.lower() == "true":
                raise fail(number, "time-stamped .ts files (@timeStamps true) are not supported")
            if key == "targetlabel":
                raise fail(number, "regression .ts files (@targetLabel) are not supported")
            if key == "classlabel":
                flag, *names = value.split()
                if flag.lower() not in ("true", "false"):
                    raise fail(number, f"@classLabel must be 'true <labels...>' or 'false', got {value!r}")
                has_labels = flag.lower() == "true"
                if has_labels and not names:
                    raise fail(number, "@classLabel true needs the list of class labels")
                if len(set(names)) != len(names):
                    raise fail(number, "@classLabel lists a label twice")
                class_labels = names if has_labels else None
            if key == "data":
                in_data = True
                if header.get("univariate", "").lower() == "true":
                    dims = 1
                elif "dimensions" in header:
                    dims = int(header["dimensions"])
            header[key] = value
            continue
        if line.startswith("@"):
            raise fail(number, f"header line {line.split()[0]!r} after @data")
        fields = line.split(":")
        if has_labels:
            label = fields.pop().strip()
            if class_labels is not None and label not in class_labels:
                raise fail(number, f"class label {label!r} is not in @classLabel {class_labels}")
            labels.append(label)
        if dims is None:
            dims = len(fields)
        if len(fields) != dims:
            raise fail(number, f"{len(fields)} dimension(s), expected {dims}" + (" plus a label" if has_labels else ""))
        columns: list[list[float]] = []
        for d, part in enumerate(fields):
            values = part.split(",")
            try:
                columns.append([float("nan") if v.strip() == "?" else float(v) for v in values])
            except ValueError:
                bad = next(v for v in values if v.strip() != "?" and not is_number(v))
                raise fail(number, f"dimension {d}: {bad.strip()[:20]!r} is not a number or '?'") from None
        lengths = {len(c) for c in columns}
        if len(lengths) != 1:
            raise fail(number, f"the dimensions of one series have different lengths {sorted(lengths)}")
        series.append(np.array(columns, dtype=np.float32).T.copy())  # (C, T) → (T, C)
        if "serieslength" in header and header.get("equallength", "").lower() == "true":
            expected = int(header["serieslength"])
            if len(columns[0]) != expected:
                raise fail(number, f"series of length {len(columns[0])}, @seriesLength says {expected}")
    if not in_data:
        raise ValueError(f"{path}: no '@data' line (not a .ts file?)")
    if not series:
        raise ValueError(f"{path}: no series after @data")
    if header.get("equallength", "").lower() == "true" and len({len(x) for x in series}) > 1:
        raise ValueError(f"{path}: @equalLength true but the series lengths differ")
    return TsData(
        problem_name=header.get("problemname") or None,
        series=series,
        labels=labels if has_labels else None,
        class_labels=class_labels,
        header=header,
    )


def is_number(text: str) -> bool:
    """Whether ``float(text)`` parses."""
    try:
        float(text)
    except ValueError:
        return False
    return True
