"""Fault injection is armed once at start-up; a workflow never reads the environment."""

import os
import subprocess
import sys

import pytest

from market_maker.durable import faults


@pytest.fixture(autouse=True)
def disarmed() -> object:
    yield
    faults.arm(None)


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("nowhere:1", ["unknown kill point", "nowhere", "intents"]),
        ("intents:0", ["whole number from 1"]),
        ("intents:x", ["whole number from 1"]),
    ],
)
def test_a_bad_kill_point_is_refused_naming_it(spec: str, words: list[str]) -> None:
    with pytest.raises(ValueError, match=words[0]) as caught:
        faults.arm(spec)
    for word in words:
        assert word in str(caught.value)


def test_the_environment_alone_arms_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading the variable at every step was the old way; now only ``arm`` counts."""
    monkeypatch.setenv(faults.ENV, "intents:1")
    faults.point("intents")  # this process is still alive
    faults.arm_from_environment()
    assert faults._armed == {"intents": 1}


def test_an_armed_point_kills_at_its_count_and_no_other() -> None:
    code = (
        "from market_maker.durable import faults\n"
        "faults.arm('reports:2')\n"
        "faults.point('intents'); faults.point('reports'); print('first', flush=True)\n"
        "faults.point('reports'); print('second', flush=True)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert run.stdout.split() == ["first"]
    assert run.returncode == -9  # SIGKILL


def test_run_refuses_a_bad_kill_point_with_exit_2() -> None:
    env = {**os.environ, faults.ENV: "bogus"}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "market_maker",
            "run",
            "--config",
            "src/market_maker/examples/backtest.yaml",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert run.returncode == 2, run.stderr
    assert run.stderr.startswith("error: ") and "unknown kill point" in run.stderr
    assert "Traceback" not in run.stderr
