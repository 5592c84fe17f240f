"""Load an ``AppConfig`` from a YAML or TOML file, with exact decimals and clear errors.

Numbers reach the model exactly as written: a YAML or TOML ``0.1`` becomes
``Decimal("0.1")``, never a binary float. Every way loading can fail -- a missing file, a
syntax error, an unknown key, a value out of range -- becomes one ``ConfigError`` that lists
each problem with the field, the value found, what is wrong and how to fix it.
"""

import difflib
import re
import tomllib
import types
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types as at
import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from market_maker.config.app import CREDENTIALS_ERROR, AppConfig
from market_maker.config.urls import INVALID_SETTING
from market_maker.domain.errors import MarketMakerError

Style = Literal["yaml", "toml"]
_EXTENSIONS: dict[str, Style] = {".yaml": "yaml", ".yml": "yaml", ".toml": "toml"}
_MAX_VALUE_CHARS = 80
FILE_FIELD = "(file)"
"""Pseudo field of problems with the file itself: missing, unreadable, wrong extension."""
SYNTAX_FIELD = "(syntax)"
"""Pseudo field of YAML or TOML syntax errors."""
TOP_LEVEL_FIELD = "(top level)"
"""Pseudo field of problems with the document as a whole."""
MISSING = "(missing)"
"""The value shown for a setting that is not in the file."""


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong with a configuration file.

    Attributes:
        field: Dotted path of the setting, e.g. ``grid.base_interval``, or a pseudo field
            such as ``(file)`` or ``(syntax)``.
        value: The value as written in the file (or ``(missing)``).
        message: What is wrong, in plain words.
        fix: A concrete hint on what to write instead.

    """

    field: str
    value: str
    message: str
    fix: str

    def render(self) -> str:
        """Two lines: ``<field>: <message> (got <value>)`` and an indented ``fix:`` line."""
        return f"{self.field}: {self.message} (got {self.value})\n  fix: {self.fix}"


class ConfigError(MarketMakerError):
    """A configuration file could not be loaded; ``problems`` lists every reason."""

    def __init__(self, problems: Sequence[ConfigProblem], path: Path | None = None) -> None:
        self.problems: tuple[ConfigProblem, ...] = tuple(problems)
        self.path = path
        where = f" in {path}" if path is not None else ""
        count = len(self.problems)
        lines = [f"invalid configuration{where}: {count} problem{'s' if count != 1 else ''}"]
        lines += [p.render() for p in self.problems]
        super().__init__("\n".join(lines))


def default_config_path() -> Path:
    """Path of the packaged example configuration, ``market_maker/examples/demo.yaml``."""
    # The package is installed as plain files (never zipped), so the resource is a real path.
    return Path(str(files("market_maker.examples").joinpath("demo.yaml")))


def default_backtest_config_path() -> Path:
    """The packaged backtest configuration for the bundled sample data."""
    return Path(str(files("market_maker.examples").joinpath("backtest.yaml")))


def default_ticks_config_path() -> Path:
    """The packaged configuration for the bundled trade sample (``examples/ticks.yaml``)."""
    return Path(str(files("market_maker.examples").joinpath("ticks.yaml")))


def load_config(path: Path) -> AppConfig:
    """Read, parse and validate a ``.yaml``/``.yml`` or ``.toml`` configuration file.

    Raises:
        ConfigError: The file is missing, unreadable, not valid YAML/TOML, or its content
            does not validate; every problem found is listed.

    """
    path = Path(path)
    data = _read(path)
    try:
        return AppConfig.model_validate(data)
    except ValidationError as exc:
        style = _EXTENSIONS[path.suffix.lower()]
        problems = [_problem_from_error(err, style) for err in exc.errors()]
        raise ConfigError(problems, path) from None


# --- reading and parsing -------------------------------------------------------------------


class DecimalSafeLoader(yaml.SafeLoader):
    """A safe YAML loader that turns float literals into exact ``Decimal`` values.

    It also rejects duplicate keys, which plain YAML silently resolves to the last one.
    """


_FLOAT_TAG = "tag:yaml.org,2002:float"
# YAML 1.2 style floats ("1e-5" too, which YAML 1.1 reads as text); a dot or an exponent is
# required, so plain integers stay ints. It replaces the float pattern in the same places.
_FLOAT = re.compile(
    r"""^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
    |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$""",
    re.VERBOSE,
)
DecimalSafeLoader.yaml_implicit_resolvers = {
    first: [(tag, _FLOAT if tag == _FLOAT_TAG else regex) for tag, regex in resolvers]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    assert isinstance(node, yaml.ScalarNode)
    text = loader.construct_scalar(node).replace("_", "")
    special = {".inf": "Infinity", "+.inf": "Infinity", "-.inf": "-Infinity", ".nan": "NaN"}
    return Decimal(special.get(text.lower(), text))


def _construct_unique_mapping(loader: yaml.SafeLoader, node: yaml.Node) -> dict[Any, Any]:
    assert isinstance(node, yaml.MappingNode)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if not isinstance(key, Hashable):
            continue  # construct_mapping reports unhashable keys itself
        if key in seen:
            raise yaml.constructor.ConstructorError(
                problem=f"duplicate key {key!r}", problem_mark=key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


DecimalSafeLoader.add_constructor(_FLOAT_TAG, _construct_decimal)
DecimalSafeLoader.add_constructor("tag:yaml.org,2002:map", _construct_unique_mapping)


def _read(path: Path) -> dict[str, Any]:
    def fail(field: str, value: str, message: str, fix: str) -> ConfigError:
        return ConfigError([ConfigProblem(field, value, message, fix)], path)

    shown = repr(str(path))
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "does not exist"
        raise fail(FILE_FIELD, shown, f"the configuration file {what}", _fix_path(path))
    style = _EXTENSIONS.get(path.suffix.lower())
    if style is None:
        raise fail(
            FILE_FIELD,
            shown,
            f"unknown file type {path.suffix or '(no extension)'!r}",
            "name the file with .yaml, .yml or .toml so its format is known",
        )
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig")
    except OSError as exc:
        raise fail(
            FILE_FIELD,
            shown,
            f"cannot read the file: {exc.strerror}",
            "check its permissions and that it is a regular file",
        ) from None
    except UnicodeDecodeError as exc:
        raise fail(
            FILE_FIELD, shown, f"not UTF-8 text (byte {exc.start})", "save the file as UTF-8 text"
        ) from None
    try:
        data = _parse_yaml(text) if style == "yaml" else _parse_toml(text)
    except ConfigError as exc:  # name the file in the message
        raise ConfigError(exc.problems, path) from None
    if not isinstance(data, dict):
        value = "(empty file)" if data is None else f"a {type(data).__name__}: {_show(data)}"
        raise fail(
            TOP_LEVEL_FIELD,
            value,
            "the file must hold a mapping of settings (bot_id, symbol, instrument, grid)",
            f"start from the packaged example: {default_config_path()}",
        )
    return data


def _fix_path(path: Path) -> str:
    near = difflib.get_close_matches(path.name, _siblings(path), n=1, cutoff=0.8)
    hint = f"did you mean {str(path.with_name(near[0]))!r}? " if near else ""
    return (
        f"{hint}check the path (relative paths start at {Path.cwd()}); the packaged example "
        f"is {default_config_path()}"
    )


def _siblings(path: Path) -> list[str]:
    try:
        return [p.name for p in path.parent.iterdir() if p.suffix.lower() in _EXTENSIONS]
    except OSError:
        return []


def _parse_yaml(text: str) -> Any:
    try:
        # A SafeLoader subclass: builds only plain data, never arbitrary objects.
        return yaml.load(text, Loader=DecimalSafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise _syntax_error(
            text,
            line,
            f"YAML syntax error at line {line}, column {column}: {problem}",
            f"fix the YAML at line {line}: indent with spaces (not tabs), put a space after "
            "each ':', write each key once, and quote values containing ': ' or ' #'",
        ) from None
    except yaml.YAMLError as exc:
        raise _syntax_error(text, 0, f"YAML error: {exc}", "fix the YAML syntax") from None


def _parse_toml(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+), column (\d+)", str(exc))
        line = int(found.group(1)) if found else 0
        raise _syntax_error(
            text,
            line,
            f"TOML syntax error: {exc}",
            f"fix the TOML at line {line}: settings are `key = value`, sections are "
            "`[grid]`, text values are quoted, and each key appears once",
        ) from None


def _syntax_error(text: str, line: int, message: str, fix: str) -> ConfigError:
    lines = text.splitlines()
    value = repr(lines[line - 1].strip()) if 0 < line <= len(lines) else "(end of file)"
    return ConfigError([ConfigProblem(SYNTAX_FIELD, value, message, fix)])


# --- validation errors to problems -----------------------------------------------------------


def _problem_from_error(err: Mapping[str, Any], style: Style) -> ConfigProblem:
    loc: tuple[int | str, ...] = tuple(err["loc"])
    kind: str = err["type"]
    message = _readable(str(err["msg"]))
    model = _model_at(AppConfig, loc)
    if model is not None and kind in {"value_error", "assertion_error"}:
        return _model_problem(loc, model, message, err["input"])
    parent = _model_at(AppConfig, loc[:-1]) if loc else None
    name = str(loc[-1]) if loc else ""
    info = parent.model_fields.get(name) if parent is not None else None
    field = _dotted(loc)
    if kind == CREDENTIALS_ERROR:
        return ConfigProblem(
            field,
            "(hidden)",
            message,
            "remove them from the file; set MARKET_MAKER_API_KEY and MARKET_MAKER_API_SECRET "
            "in the environment, or name a YAML file holding api_key and api_secret in "
            "venue.secrets_file",
        )
    if kind == INVALID_SETTING:  # a check with its own fix; the value is shown as it says
        context = err["ctx"]
        return ConfigProblem(field, str(context["shown"]), message, str(context["fix"]))
    if kind == "missing":
        return ConfigProblem(
            field, MISSING, "required setting is missing", _fix_missing(loc, info, style)
        )
    value = _show(err["input"])
    if kind == "extra_forbidden":
        valid = list(parent.model_fields) if parent is not None else []
        near = difflib.get_close_matches(name, valid, n=1)
        hint = f"did you mean `{near[0]}`? " if near else ""
        fix = f"{hint}remove it, or check the spelling; valid keys here: {', '.join(valid)}"
        return ConfigProblem(field, value, "unknown setting", fix)
    return ConfigProblem(field, value, message, _fix_value(kind, name, info, err))


_PLAIN_WORDS = (
    (r"^(Value error|Assertion failed), ", ""),
    (r"^(Input|String|Decimal input|Value) should", "must"),
    (r"a valid dictionary or instance of \w+", "a section of settings"),
    (r"a valid decimal", "a number"),
    (r"an integer, float, string or Decimal object", "a number"),
    (r"a valid integer(, .*)?$", "a whole number"),
    (r"a valid boolean(, .*)?$", "true or false"),
    (r"a valid string", "text"),
)


def _readable(msg: str) -> str:
    for pattern, replacement in _PLAIN_WORDS:
        msg = re.sub(pattern, replacement, msg)
    return msg


def _dotted(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _unwrap(annotation: Any) -> Any:
    """``X | None`` -> ``X``; anything else unchanged."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _model_at(root: type[BaseModel], loc: Sequence[int | str]) -> type[BaseModel] | None:
    """Return the model class validating the value at ``loc``, or None if not a model."""
    model: type[BaseModel] = root
    for part in loc:
        info = model.model_fields.get(str(part))
        annotation = _unwrap(info.annotation) if info is not None else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def _model_problem(
    loc: tuple[int | str, ...], model: type[BaseModel], message: str, raw: Any
) -> ConfigProblem:
    """Explain a failed cross-field check, blaming the field its message starts with."""
    found = {n: m.start() for n in model.model_fields if (m := re.search(rf"\b{n}\b", message))}
    mentioned = sorted(found, key=found.__getitem__)
    given = raw if isinstance(raw, dict) else {}
    lead = mentioned[0] if mentioned and message.startswith(mentioned[0]) else None
    if lead is not None:
        field = _dotted((*loc, lead))
        value = _show(given[lead]) if lead in given else MISSING
    else:
        field = _dotted(loc) or TOP_LEVEL_FIELD
        shown = [f"{n}={_show(given[n]) if n in given else MISSING}" for n in mentioned]
        value = ", ".join(shown) or _show(raw)
    meanings = [
        f"{n}: {str(model.model_fields[n].description).rstrip('.')}"
        for n in mentioned
        if model.model_fields[n].description
    ]
    fix = "change the values so they agree"
    return ConfigProblem(field, value, message, "; ".join([fix, *meanings]))


def _annotation(info: FieldInfo | None) -> Any:
    return _unwrap(info.annotation) if info is not None else None


def _kind(info: FieldInfo | None) -> str:
    annotation = _annotation(info)
    if isinstance(annotation, type):
        if issubclass(annotation, Enum):
            return "|".join(str(m.value) for m in annotation)
        if issubclass(annotation, bool):
            return "true or false"
        if issubclass(annotation, int):
            return "a whole number"
        if issubclass(annotation, Decimal):
            return "a number"
        if issubclass(annotation, str):
            return "text"
    return "a value"


_BOUNDS = (
    (at.Gt, "gt", "> {}"),
    (at.Ge, "ge", ">= {}"),
    (at.Lt, "lt", "< {}"),
    (at.Le, "le", "<= {}"),
    (at.MinLen, "min_length", "at least {} characters long"),
    (at.MaxLen, "max_length", "at most {} characters long"),
)


def _bounds(info: FieldInfo | None) -> str:
    items = info.metadata if info is not None else []
    return " and ".join(
        text.format(getattr(item, attr))
        for item in items
        for kind, attr, text in _BOUNDS
        if isinstance(item, kind)
    )


def _with_meaning(action: str, name: str, info: FieldInfo | None) -> str:
    if info is not None and info.description:
        return f"{action}; {name}: {info.description}"
    return action


def _fix_value(kind: str, name: str, info: FieldInfo | None, err: Mapping[str, Any]) -> str:
    annotation = _annotation(info)
    if kind == "enum" and isinstance(annotation, type) and issubclass(annotation, Enum):
        allowed = [str(m.value) for m in annotation]
        near = difflib.get_close_matches(str(err["input"]), allowed, n=1)
        action = f"use one of: {', '.join(allowed)}" + (
            f" (did you mean {near[0]}?)" if near else ""
        )
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        action = f"write `{name}` as a section holding: {', '.join(annotation.model_fields)}"
    elif kind == "string_type" and isinstance(err["input"], (int, Decimal)):
        action = f"put the value in quotes so it is text, e.g. '{_show(err['input'])}'"
    else:
        action = f"write {_kind(info)} {_bounds(info)}".rstrip()
    return _with_meaning(action, name, info)


def _fix_missing(loc: tuple[int | str, ...], info: FieldInfo | None, style: Style) -> str:
    name = str(loc[-1])
    section = _dotted(loc[:-1])
    model = _model_at(AppConfig, loc)
    if model is not None:
        keys = ", ".join(
            f"{n} (required)" if f.is_required() else n for n, f in model.model_fields.items()
        )
        header = f"`{name}:`" if style == "yaml" else f"`[{_dotted(loc)}]`"
        return _with_meaning(f"add the {header} section with the keys {keys}", name, info)
    placeholder = f"<{_kind(info)} {_bounds(info)}".rstrip() + ">"
    if style == "yaml":
        line = f"`{name}: {placeholder}`"
        where = f" under `{section}:`" if section else " at the top level"
    else:
        line = f"`{name} = {placeholder}`"
        where = f" under `[{section}]`" if section else " at the top, before any [section]"
    return _with_meaning(f"add {line}{where}", name, info)


def _show(value: Any) -> str:
    """Write a value as the user wrote it: numbers bare, text quoted, true/false/null."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = "null"
    elif isinstance(value, (int, Decimal)):
        text = str(value)
    elif isinstance(value, dict):
        text = "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    elif isinstance(value, list):
        text = "[" + ", ".join(_show(v) for v in value) + "]"
    else:
        text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 3] + "..."
