"""The config loader: exact decimals, and one clear problem (field, value, fix) per mistake."""

from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml

from market_maker.config.app import AppConfig
from market_maker.config.loader import (
    ConfigError,
    ConfigProblem,
    DecimalSafeLoader,
    default_config_path,
    load_config,
)
from market_maker.domain.enums import GridMode
from market_maker.domain.errors import MarketMakerError

GOOD_YAML = """\
bot_id: demo
symbol: BTC/USDT
instrument:
  tick_size: 0.01
  step_size: 0.00001
grid:
  base_interval: 100
  order_qty: 0.001
  max_inventory: 0.01
"""

GOOD_TOML = """\
bot_id = "demo"
symbol = "BTC/USDT"

[instrument]
tick_size = 0.01
step_size = 0.00001

[grid]
base_interval = 100
order_qty = 0.001
max_inventory = 0.01
"""


def _edit(text: str, old: str, new: str) -> str:
    assert old in text, f"test setup: {old!r} not in the base config"
    return text.replace(old, new, 1)


class BadConfig(NamedTuple):
    """A broken config file and the problem the loader must report for it."""

    file_name: str
    content: str | None
    """File text; None means the file is not created."""
    field: str
    """Exact dotted field path of the expected problem."""
    value: str
    """Text that must appear in the value shown."""
    fix: str
    """Text that must appear in the fix."""


# (case id, file name, content, field, value shown, words of the fix)
BAD_CONFIGS: list[tuple[str, str, str | None, str, str, str]] = [
    ("unknown-key", "c.yaml", GOOD_YAML + "colour: blue\n", "colour", "'blue'", "valid keys"),
    (
        "misspelled-nested-key",
        "c.toml",
        _edit(GOOD_TOML, "base_interval =", "base_intervl ="),
        "grid.base_intervl",
        "100",
        "did you mean `base_interval`",
    ),
    (
        "missing-max-inventory-yaml",
        "c.yaml",
        _edit(GOOD_YAML, "  max_inventory: 0.01\n", ""),
        "grid.max_inventory",
        "(missing)",
        "add `max_inventory: <a number > 0>` under `grid:`",
    ),
    (
        "missing-max-inventory-toml",
        "c.toml",
        _edit(GOOD_TOML, "max_inventory = 0.01\n", ""),
        "grid.max_inventory",
        "(missing)",
        "add `max_inventory = <a number > 0>` under `[grid]`",
    ),
    (
        "missing-section",
        "c.toml",
        GOOD_TOML.split("[grid]", maxsplit=1)[0],
        "grid",
        "(missing)",
        "`[grid]` section",
    ),
    (
        "negative-interval",
        "c.yaml",
        _edit(GOOD_YAML, "base_interval: 100", "base_interval: -5"),
        "grid.base_interval",
        "-5",
        "write a number > 0",
    ),
    (
        "infinite-interval",
        "c.yaml",
        _edit(GOOD_YAML, "base_interval: 100", "base_interval: .inf"),
        "grid.base_interval",
        "Infinity",
        "> 0",
    ),
    (
        "string-for-number",
        "c.toml",
        _edit(GOOD_TOML, "base_interval = 100", 'base_interval = "wide"'),
        "grid.base_interval",
        "'wide'",
        "write a number > 0",
    ),
    (
        "fraction-for-integer",
        "c.yaml",
        GOOD_YAML + "  buy_window: 2.5\n",
        "grid.buy_window",
        "2.5",
        "whole number >= 0 and <= 500",
    ),
    (
        "null-for-number",
        "c.yaml",
        _edit(GOOD_YAML, "max_inventory: 0.01", "max_inventory: null"),
        "grid.max_inventory",
        "null",
        "write a number > 0",
    ),
    (
        "text-for-optional-number",
        "c.yaml",
        GOOD_YAML + "  min_interval: abc\n",
        "grid.min_interval",
        "'abc'",
        "write a number > 0",
    ),
    (
        "text-for-bool",
        "c.yaml",
        GOOD_YAML + "  post_only: maybe\n",
        "grid.post_only",
        "'maybe'",
        "write true or false",
    ),
    (
        "symbol-too-short",
        "c.toml",
        _edit(GOOD_TOML, '"BTC/USDT"', '"AB"'),
        "symbol",
        "'AB'",
        "write text at least 3 characters long",
    ),
    (
        "section-not-a-mapping",
        "c.yaml",
        GOOD_YAML.split("grid:", maxsplit=1)[0] + "grid: 5\n",
        "grid",
        "5",
        "write `grid` as a section holding: mode, spacing, base_interval",
    ),
    (
        "out-of-range-fraction",
        "c.toml",
        GOOD_TOML + "skew_factor = 1\n",
        "grid.skew_factor",
        "1",
        ">= 0 and < 1",
    ),
    (
        "both-qty-and-notional",
        "c.yaml",
        GOOD_YAML + "  order_notional: 50\n",
        "grid",
        "order_qty=0.001, order_notional=50",
        "order_notional: Fixed order value per level",
    ),
    (
        "neither-qty-nor-notional",
        "c.toml",
        _edit(GOOD_TOML, "order_qty = 0.001\n", ""),
        "grid",
        "order_qty=(missing), order_notional=(missing)",
        "order_qty: Fixed order size per level",
    ),
    (
        "min-interval-above-base",
        "c.yaml",
        GOOD_YAML + "  min_interval: 200\n",
        "grid.min_interval",
        "200",
        "min_interval: Lower clamp",
    ),
    (
        "bad-enum",
        "c.yaml",
        GOOD_YAML + "  mode: sideways\n",
        "grid.mode",
        "'sideways'",
        "use one of: long, short, neutral",
    ),
    (
        "bot-id-too-long",
        "c.yaml",
        _edit(GOOD_YAML, "bot_id: demo", "bot_id: toolongbotid"),
        "bot_id",
        "'toolongbotid'",
        "1-8 letters or digits",
    ),
    (
        "bot-id-invalid-chars",
        "c.toml",
        _edit(GOOD_TOML, 'bot_id = "demo"', 'bot_id = "my-bot"'),
        "bot_id",
        "'my-bot'",
        "1-8 letters or digits",
    ),
    (
        "bot-id-number",
        "c.yaml",
        _edit(GOOD_YAML, "bot_id: demo", "bot_id: 42"),
        "bot_id",
        "42",
        "put the value in quotes",
    ),
    (
        "geometric-interval-not-a-fraction",
        "c.yaml",
        _edit(GOOD_YAML, "base_interval: 100", "base_interval: 1.5\n  spacing: geometric"),
        "grid",
        "base_interval=1.5",
        "base_interval: Distance between levels",
    ),
    (
        "yaml-syntax-error",
        "c.yaml",
        "bot_id: demo\ngrid: : 2\n",
        "(syntax)",
        "'grid: : 2'",
        "fix the YAML at line 2",
    ),
    (
        "yaml-duplicate-key",
        "c.yaml",
        GOOD_YAML + "bot_id: other\n",
        "(syntax)",
        "'bot_id: other'",
        "write each key once",
    ),
    (
        "toml-syntax-error",
        "c.toml",
        'bot_id = "demo"\nsymbol = \n',
        "(syntax)",
        "'symbol ='",
        "fix the TOML at line 2",
    ),
    ("empty-yaml", "c.yaml", "", "(top level)", "(empty file)", "packaged example"),
    ("top-level-list", "c.yml", "- 1\n- 2\n", "(top level)", "a list: [1, 2]", "packaged example"),
    ("top-level-scalar", "c.yaml", "just text\n", "(top level)", "'just text'", "example"),
    ("missing-file", "absent.yaml", None, "(file)", "absent.yaml", "check the path"),
    ("unknown-extension", "c.json", "{}", "(file)", "c.json", ".yaml, .yml or .toml"),
]


@pytest.mark.parametrize(
    "case", [pytest.param(BadConfig(*case[1:]), id=case[0]) for case in BAD_CONFIGS]
)
def test_bad_config_names_field_value_and_fix(tmp_path: Path, case: BadConfig) -> None:
    path = tmp_path / case.file_name
    if case.content is not None:
        path.write_text(case.content, encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    problems = {p.field: p for p in caught.value.problems}
    assert case.field in problems, f"expected a problem at {case.field!r}, got {list(problems)}"
    problem = problems[case.field]
    assert case.value in problem.value
    assert case.fix in problem.fix
    assert problem.message
    assert str(path.name) in str(caught.value)
    assert problem.render() in str(caught.value)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = _edit(GOOD_YAML, "base_interval: 100", "base_interval: -1") + "  mode: up\nfoo: 1\n"
    path = tmp_path / "many.yaml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert [p.field for p in caught.value.problems] == ["grid.mode", "grid.base_interval", "foo"]
    assert str(caught.value).startswith(f"invalid configuration in {path}: 3 problems")
    assert isinstance(caught.value, MarketMakerError)


def test_problem_renders_field_message_value_and_fix() -> None:
    problem = ConfigProblem("grid.base_interval", "-5", "must be greater than 0", "write > 0")

    assert (
        problem.render() == "grid.base_interval: must be greater than 0 (got -5)\n  fix: write > 0"
    )


@pytest.mark.parametrize(("name", "text"), [("c.yaml", GOOD_YAML), ("c.toml", GOOD_TOML)])
@pytest.mark.parametrize("literal", ["0.1", "0.30000000000000004", "0.00001", "100.50"])
def test_decimals_arrive_exactly_as_written(
    tmp_path: Path, name: str, text: str, literal: str
) -> None:
    path = tmp_path / name
    old = "tick_size: 0.01" if name.endswith(".yaml") else "tick_size = 0.01"
    path.write_text(_edit(text, old, old.replace("0.01", literal)), encoding="utf-8")

    tick = load_config(path).instrument.tick_size

    assert isinstance(tick, Decimal)
    assert str(tick) == literal  # same digits and exponent, not merely an equal value
    assert tick.as_tuple() == Decimal(literal).as_tuple()


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("0.1", Decimal("0.1")),
        ("-2.50", Decimal("-2.50")),
        ("1e-5", Decimal("1e-5")),
        ("1.5E+3", Decimal("1.5E+3")),
        ("1_000.25", Decimal("1000.25")),
        (".5", Decimal(".5")),
        ("7", 7),
        ("-3", -3),
        ("1_000", 1000),
        ("'0.1'", "0.1"),
        ("true", True),
        ("~", None),
    ],
)
def test_yaml_scalars(yaml_text: str, expected: object) -> None:
    loaded = yaml.load(f"v: {yaml_text}", Loader=DecimalSafeLoader)["v"]

    assert loaded == expected
    assert type(loaded) is type(expected)
    if isinstance(expected, Decimal):
        assert loaded.as_tuple() == expected.as_tuple()


def test_integers_stay_ints_in_toml(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(GOOD_TOML + "atr_window = 20\n", encoding="utf-8")

    config = load_config(path)

    assert config.grid.atr_window == 20
    assert config.grid.base_interval == Decimal(100)


def test_yaml_and_toml_give_the_same_config(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(GOOD_YAML, encoding="utf-8")
    (tmp_path / "c.toml").write_text(GOOD_TOML, encoding="utf-8")

    assert load_config(tmp_path / "c.yaml") == load_config(tmp_path / "c.toml")


def test_packaged_default_loads() -> None:
    path = default_config_path()

    config = load_config(path)

    assert path.name == "demo.yaml"
    assert path.is_file()
    assert isinstance(config, AppConfig)
    assert config.bot_id == "demo"
    assert config.grid.mode is GridMode.LONG
    assert config.instrument.step_size == Decimal("0.00001")


def test_directory_is_not_a_config_file(tmp_path: Path) -> None:
    path = tmp_path / "dir.yaml"
    path.mkdir()

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    (problem,) = caught.value.problems
    assert (problem.field, problem.message) == ("(file)", "the configuration file is a directory")


def test_non_utf8_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("symbol: café\n".encode("latin-1"))

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    (problem,) = caught.value.problems
    assert problem.field == "(file)"
    assert "not UTF-8" in problem.message
    assert "save the file as UTF-8" in problem.fix
