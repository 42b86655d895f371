"""Dump the fields of TRL's ``GRPOConfig`` (names, accepted kinds, defaults) as JSON.

Run as ``python -m grpotui.runner.schema OUT.json``. The light config validator runs it once per
installed trl/transformers pair and caches the result, so ``[training]`` is checked against the
real dataclass without the CLI importing trl.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import sys
import types
import typing
from pathlib import Path
from typing import Any


def _kinds(tp: Any) -> tuple[set[str], list[Any] | None]:
    """Map an annotation to JSON-ish kinds (int, float, bool, str, list, dict, null, any) and choices."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        kinds: set[str] = set()
        choices: list[Any] | None = []
        for arg in typing.get_args(tp):
            k, c = _kinds(arg)
            kinds |= k
            if c is None or choices is None:
                choices = None if "str" in k and c is None else choices
            else:
                choices.extend(c)
        return kinds, (choices or None)
    if origin is typing.Literal:
        vals = list(typing.get_args(tp))
        return {type(v).__name__ if v is not None else "null" for v in vals}, vals
    if origin in (list, tuple, typing.Sequence) or tp in (list, tuple):
        return {"list"}, None
    if origin is dict or tp is dict:
        return {"dict"}, None
    if tp is type(None):
        return {"null"}, None
    if tp is bool:
        return {"bool"}, None
    if tp is int:
        return {"int"}, None
    if tp is float:
        return {"float", "int"}, None
    if tp is str:
        return {"str"}, None
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return {"str"}, [m.value for m in tp]
    return {"any"}, None


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        v = f.default
    elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        v = f.default_factory()  # type: ignore[misc]
    else:
        return None
    if isinstance(v, enum.Enum):
        v = v.value
    try:
        json.dumps(v)
    except TypeError:
        return repr(v)
    return v


def grpo_config_schema() -> dict[str, Any]:
    import transformers
    import trl
    from trl import GRPOConfig

    hints = typing.get_type_hints(GRPOConfig)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(GRPOConfig):
        if not f.init or f.name.startswith("_"):
            continue
        kinds, choices = _kinds(hints.get(f.name, Any))
        help_text = (f.metadata or {}).get("help", "")
        fields[f.name] = {
            "kinds": sorted(kinds),
            "choices": choices,
            "default": _default(f),
            "help": " ".join(str(help_text).split())[:300],
        }
    return {"trl": trl.__version__, "transformers": transformers.__version__, "fields": fields}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0])
    data = grpo_config_schema()
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str))
    tmp.replace(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
