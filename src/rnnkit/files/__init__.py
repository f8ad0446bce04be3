"""Files: the one atomic writer (:mod:`.write`), bounded reads of files a user or a model directory names
(:mod:`.read`), and JSON/YAML parsed with depth and alias limits (:mod:`.parse`)."""

from rnnkit.files.parse import MAX_ALIASES, MAX_DEPTH, ParseLimitError, json_depth, loads_json, loads_yaml
from rnnkit.files.read import (
    CONFIG_BYTES,
    HISTORY_BYTES,
    TOKENIZER_BYTES,
    UnreadableFileError,
    open_regular,
    read_bytes,
    read_text,
)
from rnnkit.files.write import (
    TMP_SUFFIX,
    DiskFullError,
    atomic_write,
    full_disk_is_one_line,
    point_link,
    remove_stale_temps,
    write_json,
    write_text,
)

__all__ = [
    "CONFIG_BYTES", "HISTORY_BYTES", "MAX_ALIASES", "MAX_DEPTH", "TMP_SUFFIX", "TOKENIZER_BYTES", "DiskFullError",
    "ParseLimitError", "UnreadableFileError", "atomic_write", "full_disk_is_one_line", "json_depth", "loads_json",
    "loads_yaml", "open_regular", "point_link", "read_bytes", "read_text", "remove_stale_temps", "write_json",
    "write_text",
]
