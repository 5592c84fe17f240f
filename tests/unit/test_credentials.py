"""Credentials come from the environment or a secrets file, never from the configuration."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from market_maker.config.app import VenueConfig
from market_maker.config.credentials import (
    API_KEY_ENV,
    API_SECRET_ENV,
    PAPER_API_KEY,
    CredentialsError,
    load_credentials,
)
from market_maker.config.loader import ConfigError, load_config
from market_maker.config.urls import INVALID_SETTING

SECRET = "s3cr3t-Value-that-must-never-show"


def test_the_environment_supplies_key_and_secret_and_repr_hides_both() -> None:
    creds = load_credentials(VenueConfig(), env={API_KEY_ENV: "k-123", API_SECRET_ENV: SECRET})
    assert (creds.api_key, creds.secret, creds.source) == ("k-123", SECRET, "environment")
    assert SECRET not in repr(creds) and "k-123" not in repr(creds)


def test_a_secrets_file_wins_over_the_environment(tmp_path: Path) -> None:
    (tmp_path / "keys.yaml").write_text(f"api_key: file-key\napi_secret: {SECRET}\n")
    venue = VenueConfig(secrets_file="keys.yaml")
    creds = load_credentials(venue, env={API_KEY_ENV: "env", API_SECRET_ENV: "env"}, base=tmp_path)
    assert (creds.api_key, creds.secret) == ("file-key", SECRET)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "does not exist"),
        ("- a list\n", "not a YAML mapping"),
        ("api_key: k\n", "has no api_secret"),
        (f"api_key: [unclosed {SECRET}\n", "cannot be read"),
    ],
)
def test_a_bad_secrets_file_is_named_without_its_content(
    tmp_path: Path, content: str | None, expected: str
) -> None:
    if content is not None:
        (tmp_path / "keys.yaml").write_text(content)
    with pytest.raises(CredentialsError, match=expected) as err:
        load_credentials(VenueConfig(secrets_file="keys.yaml"), env={}, base=tmp_path)
    assert "keys.yaml" in str(err.value) and SECRET not in str(err.value)


def test_one_variable_alone_is_refused_naming_the_missing_one() -> None:
    with pytest.raises(CredentialsError, match=API_SECRET_ENV):
        load_credentials(VenueConfig(), env={API_KEY_ENV: "k"})


def test_a_real_exchange_without_credentials_is_refused_with_the_fix() -> None:
    with pytest.raises(CredentialsError, match=f"set {API_KEY_ENV} and {API_SECRET_ENV}"):
        load_credentials(VenueConfig(exchange="binanceusdm"), env={})


def test_a_local_paper_exchange_falls_back_to_its_development_keys() -> None:
    creds = load_credentials(VenueConfig(url="http://127.0.0.1:8765"), env={})
    assert (creds.api_key, creds.source) == (PAPER_API_KEY, "paper defaults")


@pytest.mark.parametrize("key", ["api_key", "secret", "API_SECRET", "password"])
def test_credentials_in_the_configuration_file_are_refused(key: str) -> None:
    with pytest.raises(ValidationError, match="never read from the configuration file") as err:
        VenueConfig.model_validate({key: SECRET})
    assert SECRET not in str(err.value).split("input_value")[0]


@pytest.mark.parametrize("url", ["127.0.0.1:8765", "ftp://host", "http://"])
def test_a_venue_url_that_is_not_http_is_refused(url: str) -> None:
    with pytest.raises(ValidationError) as err:
        VenueConfig(url=url)
    [error] = err.value.errors()
    assert error["loc"] == ("url",) and error["type"] == INVALID_SETTING


def test_the_config_loader_reports_a_credential_without_its_value(tmp_path: Path) -> None:
    path = tmp_path / "bot.yaml"
    path.write_text(f"bot_id: b\nsymbol: BTC/USDT\nvenue:\n  api_secret: {SECRET}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    [problem] = [p for p in err.value.problems if p.field == "venue"]
    assert problem.field == "venue" and problem.value == "(hidden)"
    assert "MARKET_MAKER_API_SECRET" in problem.fix
    assert SECRET not in f"{problem.field} {problem.value} {problem.message} {problem.fix}"
