"""Plain data as TOML text: enough for scenarios (tables, arrays of tables, scalars, lists).

The standard library reads TOML but does not write it; a scenario is a small tree of tables,
so a few rules suffice. ``None`` has no TOML form: such keys are left out, which gives the
field its default (every optional scenario field defaults to None).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["toml_document", "toml_value"]


def toml_value(value: Any) -> str:
    """One value in TOML syntax (strings quoted, floats keep a decimal point)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(item) for item in value if item is not None) + "]"
    if isinstance(value, Mapping):
        items = ", ".join(f"{_key(k)} = {toml_value(v)}" for k, v in value.items()
                          if v is not None)
        return "{ " + items + " }" if items else "{}"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def toml_document(data: Mapping[str, Any], header: str = "") -> str:
    """``data`` as a TOML document: scalars first, then [tables] and [[arrays of tables]]."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    lines += _table(data, "")
    return "\n".join(lines).strip() + "\n"


def _table(data: Mapping[str, Any], prefix: str) -> list[str]:
    lines: list[str] = []
    nested: list[tuple[str, Any, bool]] = []
    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, Mapping) and value and prefix.count(".") < 8 and not _is_leafy(
                key, value):
            nested.append((key, value, False))
        elif isinstance(value, list | tuple) and value and all(
                isinstance(item, Mapping) for item in value):
            nested.append((key, value, True))
        else:
            lines.append(f"{_key(key)} = {toml_value(value)}")
    for key, value, many in nested:
        name = f"{prefix}{_key(key)}"
        if many:
            for item in value:
                lines += ["", f"[[{name}]]", *_table(item, f"{name}.")]
        else:
            lines += ["", f"[{name}]", *_table(value, f"{name}.")]
    return lines


def _is_leafy(key: str, value: Mapping[str, Any]) -> bool:
    """Free-form option tables (``options``) are written inline, as scenarios write them."""
    return key == "options"


def _key(key: str) -> str:
    bare = key.replace("_", "").replace("-", "").isalnum() and key.isascii()
    return key if bare else json.dumps(key)
