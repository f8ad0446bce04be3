"""Experiments: one module per lecture claim, each writing results.json, plots and report.md to a folder.

They are run by ``rnnkit experiment NAME --out DIR`` through the registry in :mod:`rnnkit.cli.experiment`.
"""
