"""A small reader for R's XDR serialization and lazy-load databases (``.rdx``/``.rdb``), without R.

R packages keep their datasets in ``data/Rdata.rdb`` (a concatenation of compressed serialized objects)
indexed by ``data/Rdata.rdx`` (itself a compressed serialized ``list(variables=, references=,
compressed=)``, where ``variables`` maps each name to ``c(offset, length)`` in the .rdb). Each .rdb
entry is a 4-byte big-endian uncompressed length followed by a zlib stream (``compressed=TRUE``), or by a
type byte ``Z``/``2``/``X``/``0`` (zlib/bzip2/xz/none) and the stream (``compressed=2`` or ``3``).

Only what plain data needs is read: ``NULL``, logical/integer/double/character vectors, lists,
pairlists, symbols and attributes, plus the two ALTREP forms R ≥ 3.5 writes for such data (compact
integer/real sequences and ``wrap_*`` wrappers). Environments, closures and bytecode raise
``ValueError``. This is ~150 lines instead of a dependency (PyPI ``rdata`` does the full format).
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NA_INTEGER = -(2**31)
_NIL, _SYM, _LIST, _CHAR, _LGL, _INT, _REAL, _STR, _VEC, _EXPR = 254, 1, 2, 9, 10, 13, 14, 16, 19, 20
_REF, _ALTREP, _ATTRLIST = 255, 238, 239
_MARKERS = {242: "emptyenv", 241: "baseenv", 253: "globalenv", 252: "unbound", 251: "missingarg", 247: "basens"}
_UTF8, _LATIN1 = 1 << 3, 1 << 2


@dataclass
class RVector:
    """An R vector: ``kind`` (``"character"``, ``"integer"``, ``"double"``, ``"logical"``, ``"list"``),
    its ``values`` (``None`` for ``NA``) and ``attributes`` (``names``, ``class``, …)."""

    kind: str
    values: list[Any]
    attributes: dict[str, Any] = field(default_factory=dict)

    def named(self) -> dict[str, Any]:
        """The values keyed by the ``names`` attribute."""
        names = self.attributes.get("names")
        if not isinstance(names, RVector) or len(names.values) != len(self.values):
            raise ValueError(f"this R {self.kind} vector has no names")
        return dict(zip(names.values, self.values, strict=True))


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos, self.refs = data, 0, []

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ValueError("truncated R serialization")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def int(self) -> int:
        return struct.unpack(">i", self.take(4))[0]

    def length(self) -> int:
        n = self.int()
        return (self.int() << 32) + self.int() if n == -1 else n

    def item(self) -> Any:
        flags = self.int()
        kind, has_attr, has_tag = flags & 0xFF, bool(flags & (1 << 9)), bool(flags & (1 << 10))
        if kind == _NIL:
            return None
        if kind in _MARKERS:
            return _MARKERS[kind]
        if kind == _REF:
            index = flags >> 8 or self.int()
            return self.refs[index - 1]
        if kind == _SYM:
            name = self.item()
            self.refs.append(name)
            return name
        if kind in (_LIST, _ATTRLIST):
            return self._pairlist(has_attr, has_tag)
        if kind == _CHAR:
            n = self.int()
            if n == -1:
                return None
            encoding = "latin-1" if (flags >> 12) & _LATIN1 else "utf-8"
            return self.take(n).decode(encoding)
        if kind == _ALTREP:
            return self._altrep()
        if kind in (_LGL, _INT):
            n = self.length()
            ints = struct.unpack(f">{n}i", self.take(4 * n))
            values: list[Any] = [None if v == NA_INTEGER else (bool(v) if kind == _LGL else v) for v in ints]
            vector = RVector("logical" if kind == _LGL else "integer", values)
        elif kind == _REAL:
            n = self.length()
            vector = RVector("double", list(struct.unpack(f">{n}d", self.take(8 * n))))
        elif kind == _STR:
            vector = RVector("character", [self.item() for _ in range(self.length())])
        elif kind in (_VEC, _EXPR):
            vector = RVector("list", [self.item() for _ in range(self.length())])
        else:
            raise ValueError(f"unsupported R object type {kind} (only plain data vectors are read)")
        if has_attr:
            vector.attributes = dict(self.item())
        return vector

    def _pairlist(self, has_attr: bool, has_tag: bool) -> list[tuple[str | None, Any]]:
        out: list[tuple[str | None, Any]] = []
        while True:
            if has_attr:
                self.item()
            tag = self.item() if has_tag else None
            out.append((tag, self.item()))
            flags = self.int()
            if flags & 0xFF == _NIL:
                return out
            if flags & 0xFF not in (_LIST, _ATTRLIST):
                self.pos -= 4  # a dotted pair: the cdr is not a pairlist
                out.append((None, self.item()))
                return out
            has_attr, has_tag = bool(flags & (1 << 9)), bool(flags & (1 << 10))

    def _altrep(self) -> RVector:
        info, state, attr = self.item(), self.item(), self.item()
        name = info[0][1] if isinstance(info, list) and info else None
        if name in ("compact_intseq", "compact_realseq"):
            n, start, step = (int(v) if name == "compact_intseq" else v for v in state.values[:3])
            kind = "integer" if name == "compact_intseq" else "double"
            vector = RVector(kind, [start + i * step for i in range(int(n))])
        elif isinstance(name, str) and name.startswith("wrap_"):
            vector = state.values[0]
        else:
            raise ValueError(f"unsupported ALTREP class {name!r} in R serialization")
        if isinstance(attr, list):
            vector.attributes = dict(attr)
        return vector


def unserialize(data: bytes) -> Any:
    """Read one R object from XDR serialization bytes (``X\\n`` header, format version 2 or 3)."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if data[:2] != b"X\n":
        raise ValueError(f"not an XDR R serialization (starts {data[:2]!r}; ASCII and native formats unsupported)")
    reader = _Reader(data)
    reader.pos = 2
    version = reader.int()
    reader.int(), reader.int()  # R version that wrote it, oldest R version that reads it
    if version == 3:
        reader.take(reader.int())  # native encoding name
    elif version != 2:
        raise ValueError(f"unsupported R serialization format version {version}")
    return reader.item()


def read_lazyload_db(rdx: Path, rdb: Path | None = None) -> dict[str, Any]:
    """All objects of an R lazy-load database: ``{name: value}`` (``rdb`` defaults to ``rdx``'s sibling)."""
    rdx, rdb = Path(rdx), Path(rdb) if rdb is not None else Path(rdx).with_suffix(".rdb")
    index = unserialize(rdx.read_bytes())
    if not isinstance(index, RVector):
        raise ValueError(f"{rdx}: not an R lazy-load index (expected a named list)")
    entries = index.named()
    compressed = entries.get("compressed")
    method = compressed.values[0] if isinstance(compressed, RVector) else True
    blob = rdb.read_bytes()
    out: dict[str, Any] = {}
    for name, where in entries["variables"].named().items():
        offset, length = (int(v) for v in where.values)
        out[name] = unserialize(_decompress(blob[offset : offset + length], method, f"{rdb}:{name}"))
    return out


def _decompress(chunk: bytes, method: Any, where: str) -> bytes:
    if len(chunk) < 4:
        raise ValueError(f"{where}: truncated lazy-load entry")
    size = struct.unpack(">I", chunk[:4])[0]
    body = chunk[4:]
    if method not in (True, 1):
        kind, body = body[:1], body[1:]
        methods = {b"Z": zlib.decompress, b"2": bz2.decompress, b"X": lzma.decompress, b"0": bytes}
        if kind not in methods:
            raise ValueError(f"{where}: unknown compression type {kind!r} (expected Z, 2, X or 0)")
        body = methods[kind](body)
    else:
        body = zlib.decompress(body)
    if len(body) != size:
        raise ValueError(f"{where}: decompressed {len(body)} bytes, header says {size}")
    return body


# ------------------------------------------------------------------------------- janeaustenr
AUSTEN_NOVELS: tuple[tuple[str, str], ...] = (  # janeaustenr::austen_books() order (publication)
    ("sensesensibility", "Sense & Sensibility"),
    ("prideprejudice", "Pride & Prejudice"),
    ("mansfieldpark", "Mansfield Park"),
    ("emma", "Emma"),
    ("northangerabbey", "Northanger Abbey"),
    ("persuasion", "Persuasion"),
)


def read_austen_novels(rdx: Path, rdb: Path | None = None) -> list[tuple[str, list[str]]]:
    """The six novels of janeaustenr's ``Rdata.rdx``/``.rdb``: (title, lines) in publication order.

    Each novel is a character vector of the Project Gutenberg lines (title page and ``CHAPTER`` lines
    included, ``""`` for blank lines); an ``NA`` line would be read as blank.
    """
    objects = read_lazyload_db(rdx, rdb)
    novels = []
    for key, title in AUSTEN_NOVELS:
        vector = objects.get(key)
        if not isinstance(vector, RVector) or vector.kind != "character":
            raise ValueError(f"{rdx}: expected a character vector {key!r}, found {type(vector).__name__}")
        novels.append((title, [line or "" for line in vector.values]))
    return novels
