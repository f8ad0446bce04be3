"""``rnnkit data list|info|fetch``: the corpora rnnkit knows, and where they come from."""

from __future__ import annotations

import argparse
import json


def _data(args: argparse.Namespace) -> int:
    from rnnkit.data import dataset_info, fetch, list_datasets

    if args.action == "list":
        for name in list_datasets(args.task):
            info = dataset_info(name)
            print(f"{name:22s} {info['task']:14s} {info['description']}")
        return 0
    if args.name is None:
        raise ValueError(f"`rnnkit data {args.action}` needs a dataset NAME (see `rnnkit data list`)")
    if args.action == "info":
        print(json.dumps(dataset_info(args.name), indent=2, ensure_ascii=False))
    else:
        print(fetch(args.name))
    return 0


def register(sub: argparse._SubParsersAction) -> dict:
    p = sub.add_parser("data", help="list, describe or fetch the built-in datasets")
    p.add_argument("action", choices=("list", "info", "fetch"))
    p.add_argument("name", nargs="?", default=None)
    p.add_argument("--task", default=None, help="list: only datasets of this task (a data task such as "
                   "translation, or the rnnkit train task that reads it: translate)")
    return {"data": _data}
