"""The version of rnnkit: the one place it is written (pyproject.toml reads it; model directories record it)."""

__version__ = "0.1.0"
