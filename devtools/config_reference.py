"""The configuration reference table, walked from ``AppConfig`` itself.

Every field of ``AppConfig`` is visited recursively: a field whose type is a pydantic model
(a section such as ``risk`` or ``risk.monitor``) becomes the prefix of its own fields, every
other field is one row. Nothing is listed by hand, so a new section, a new nested model or a
new field cannot be left out of ``docs/configuration.md``.
"""

import types
from collections.abc import Iterator
from decimal import Decimal
from enum import Enum
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types as at
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from market_maker.config.app import AppConfig

NONE_ALLOWED = "—"
"""The ``allowed`` cell of a field with no constraint beyond its type."""

_BOUNDS: tuple[tuple[type[Any], str, str], ...] = (
    (at.Gt, "gt", "> {}"),
    (at.Ge, "ge", "≥ {}"),
    (at.Lt, "lt", "< {}"),
    (at.Le, "le", "≤ {}"),
    (at.MinLen, "min_length", "length ≥ {}"),
    (at.MaxLen, "max_length", "length ≤ {}"),
)


def _is_none(annotation: object) -> bool:
    return annotation is type(None)


def _optional_parts(annotation: object) -> tuple[list[object], bool]:
    """The members of a union annotation without ``None``, and whether ``None`` was one."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = get_args(annotation)
        return [a for a in args if not _is_none(a)], any(_is_none(a) for a in args)
    return [annotation], False


def _model_of(annotation: object) -> type[BaseModel] | None:
    """The pydantic model a field holds (a section), or None for a plain value."""
    parts, _ = _optional_parts(annotation)
    if len(parts) == 1 and isinstance(parts[0], type) and issubclass(parts[0], BaseModel):
        return parts[0]
    return None


def _values(values: list[object]) -> str:
    return "one of " + ", ".join(f"`{v}`" for v in values)


def readable_type(annotation: object) -> str:
    """A reader's name of a field type: ``Decimal``, ``int``, enum values, ``list[...]``.

    Enum and ``Literal`` types list their values; an optional type ends in ``or none``.
    """
    parts, optional = _optional_parts(annotation)
    names = [_one_type(p) for p in parts]
    return " or ".join(names) + (" or none" if optional else "")


def _one_type(annotation: object) -> str:
    origin = get_origin(annotation)
    if origin is Literal:
        return _values(list(get_args(annotation)))
    if origin in (tuple, list, set, frozenset):
        items = [a for a in get_args(annotation) if a is not Ellipsis]
        if not items:
            return "list"
        inner = readable_type(items[0])
        return f"list, each {inner}" if inner.startswith("one of") else f"list[{inner}]"
    if isinstance(annotation, type):
        if issubclass(annotation, Enum):
            return _values([m.value for m in annotation])
        if issubclass(annotation, (bool, int, float, str, Decimal)):
            return annotation.__name__
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def allowed_values(info: FieldInfo) -> str:
    """The range a field's constraints allow (``> 0, ≤ 1``), or ``—`` when it has none."""
    found: list[str] = []
    for item in info.metadata:
        found += [
            text.format(getattr(item, attr))
            for kind, attr, text in _BOUNDS
            if isinstance(item, kind)
        ]
        pattern = getattr(item, "pattern", None)
        if pattern is not None:
            found.append(f"pattern `{pattern}`")
    return ", ".join(found) or NONE_ALLOWED


def _fmt_default(info: FieldInfo) -> str:
    if info.is_required():
        return "**required**"
    if info.default is PydanticUndefined and info.default_factory is not None:
        default = info.default_factory()  # type: ignore[call-arg]
    else:
        default = info.default
    if default is None:
        return "none"
    if isinstance(default, (tuple, list)):
        return ", ".join(f"`{getattr(v, 'value', v)}`" for v in default) or "none"
    value = getattr(default, "value", default)
    if isinstance(value, bool):
        return str(value).lower()
    return f"`{value}`"


def config_fields(
    model: type[BaseModel] = AppConfig, prefix: str = ""
) -> Iterator[tuple[str, FieldInfo]]:
    """Every leaf field of ``model`` as (dotted name, field), sections walked depth-first."""
    for name, info in model.model_fields.items():
        section = _model_of(info.annotation)
        if section is not None:
            yield from config_fields(section, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", info


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def config_reference() -> str:
    """Markdown table of every configuration field: name, type, default, allowed, meaning."""
    lines = ["| field | type | default | allowed | meaning |", "|---|---|---|---|---|"]
    for name, info in config_fields():
        cells = (
            f"`{name}`",
            readable_type(info.annotation),
            _fmt_default(info),
            allowed_values(info),
            info.description or "",
        )
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def undocumented_fields() -> list[str]:
    """Dotted names of the configuration fields that have no ``description``."""
    return [name for name, info in config_fields() if not (info.description or "").strip()]
