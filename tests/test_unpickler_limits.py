"""The restricted unpickler's work is bounded and it never changes an allowed class or function (issue 19,
item 11): a few hundred bytes of shared lists, 200k nested lists, a huge memo index and BUILD on an
allowed global are each refused quickly with ``pickle.UnpicklingError``."""

from __future__ import annotations

import io
import pickle
import struct
import time

import pytest

from rnnkit.data.readers import pandas_pickle
from rnnkit.data.readers.pandas_pickle import MAX_DEPTH, restricted_load


def _refused(payload: bytes, match: str, seconds: float = 10.0) -> None:
    started = time.monotonic()
    with pytest.raises(pickle.UnpicklingError, match=match):
        restricted_load(io.BytesIO(payload))
    assert time.monotonic() - started < seconds


def test_lists_sharing_lists_are_refused_not_expanded():
    """Each level holds the previous list twice: 2**60 paths in a few hundred bytes."""
    payload = [pickle.PROTO + b"\x02", b"]", pickle.BINPUT + b"\x00"]  # level 0: []
    for level in range(1, 61):
        previous, index = (level - 1) % 256, level % 256
        payload += [b"]", pickle.MARK, pickle.BINGET + bytes([previous]), pickle.BINGET + bytes([previous]),
                    pickle.APPENDS, pickle.BINPUT + bytes([index])]
    data = b"".join(payload) + pickle.STOP
    assert len(data) < 600
    _refused(data, "more than .* values")


def test_deeply_nested_lists_are_refused_without_recursion_error():
    n = 200_000
    data = pickle.PROTO + b"\x02" + b"]" * n + pickle.APPEND * (n - 1) + pickle.STOP
    _refused(data, f"nested deeper than {MAX_DEPTH}")


def test_a_self_containing_list_is_refused():
    data = pickle.PROTO + b"\x02]" + pickle.BINPUT + b"\x00" + pickle.BINGET + b"\x00" + pickle.APPEND + pickle.STOP
    _refused(data, "nested deeper")


def test_a_huge_memo_index_allocates_nothing(monkeypatch):
    data = pickle.PROTO + b"\x02" + b"]" + pickle.LONG_BINPUT + struct.pack("<I", 2**32 - 1) + pickle.STOP
    assert restricted_load(io.BytesIO(data)) == []  # a dict entry, not a 32 GiB array
    monkeypatch.setattr(pandas_pickle, "MAX_MEMO", 3)
    many = pickle.PROTO + b"\x02" + b"".join(b"]" + pickle.BINPUT + bytes([i]) for i in range(5)) + pickle.STOP
    _refused(many, "more than 3 memo entries")


def test_the_number_of_opcodes_is_bounded(monkeypatch):
    monkeypatch.setattr(pandas_pickle, "MAX_OPCODES", 1000)
    data = pickle.PROTO + b"\x02" + b"]" + (b"N" + pickle.APPEND) * 600 + pickle.STOP
    _refused(data, "more than 1,000 pickle opcodes")


@pytest.mark.parametrize(("module", "name", "stand_in"), [
    ("numpy", "ndarray", "_NDArrayClass"),
    ("__builtin__", "object", "_ObjectClass"),
    ("pandas.core.frame", "DataFrame", "_DataFrameStub"),
    ("copy_reg", "_reconstructor", "_reconstructor"),
    ("_codecs", "encode", "_encode"),
])
def test_build_never_sets_attributes_on_allowed_globals(module, name, stand_in):
    """BUILD with a (dict, slots) state on an allowed class/function would setattr on the shared object."""
    target = getattr(pandas_pickle, stand_in)
    before = dict(vars(target))
    data = (pickle.PROTO + b"\x02" + f"c{module}\n{name}\n".encode() + b"N}" + pickle.SHORT_BINUNICODE + b"\x06pwned!"
            + pickle.NEWTRUE + pickle.SETITEM + pickle.TUPLE2 + pickle.BUILD + pickle.STOP)
    _refused(data, "refused to set the state of")
    assert dict(vars(target)) == before
    assert not hasattr(target, "pwned!")
