"""Two signals: the second is told from the first wherever it lands inside the first.

Python runs a signal handler between two bytecodes of whatever runs, the first handler
included. Each test plays a second signal at every bytecode of the first handler in turn
(a tracer with opcode events): the second must always be taken for a second (stop at
once) and the first must still have stopped gracefully. Handlers: the live bot's
(``SignalStop``: graceful stop, then exit 130) and ``market-maker run``'s paper run
(``EndOfData.interrupt``: halt market time, then ``KeyboardInterrupt``).
"""

import sys
from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any

from market_maker.cli.paper_trading import EndOfData
from market_maker.live.session import SignalStop


class Pacer:
    def __init__(self) -> None:
        self.halts = 0

    def halt(self) -> None:
        self.halts += 1


class Runner:
    def __init__(self) -> None:
        self.stops = 0

    def request_stop(self) -> None:
        self.stops += 1


def second_signal_at(
    code: CodeType, opcode: int, first: Callable[[], None], second: Callable[[], None]
) -> bool:
    """Run ``first``; run ``second`` before the ``opcode``-th bytecode of ``code``.

    Returns whether ``second`` ran (``first`` may run fewer bytecodes than that).
    """
    seen = [0]

    def trace(frame: FrameType, event: str, arg: object) -> Any:
        if frame.f_code is not code:
            return None
        frame.f_trace_opcodes = True
        if event == "opcode":
            seen[0] += 1
            if seen[0] == opcode:
                sys.settrace(None)
                frame.f_trace = None
                second()
        return trace

    sys.settrace(trace)
    try:
        first()
    finally:
        sys.settrace(None)
    return seen[0] >= opcode


def positions(code: CodeType) -> range:
    return range(1, len(code.co_code) // 2 + 1)


def live_case(opcode: int) -> tuple[bool, list[int], Runner]:
    runner, exits = Runner(), []
    handler = SignalStop(runner, exit_now=exits.append)  # type: ignore[arg-type]

    def signal_arrives() -> None:
        handler(15, None)

    nested = second_signal_at(SignalStop.__call__.__code__, opcode, signal_arrives, signal_arrives)
    return nested, exits, runner


def paper_case(opcode: int) -> tuple[bool, list[int], Pacer, EndOfData]:
    pacer, stops = Pacer(), []
    hook = EndOfData(control=Any, progress=lambda runner: None, pacer=pacer)  # type: ignore[arg-type]

    def ctrl_c() -> None:
        try:
            hook.interrupt()
        except KeyboardInterrupt:
            stops.append(1)

    nested = second_signal_at(EndOfData.interrupt.__code__, opcode, ctrl_c, ctrl_c)
    return nested, stops, pacer, hook


def test_the_live_bots_second_signal_anywhere_inside_the_first_exits() -> None:
    tried = 0
    for opcode in positions(SignalStop.__call__.__code__):
        nested, exits, runner = live_case(opcode)
        if not nested:  # the handler ran fewer bytecodes than that
            continue
        tried += 1
        assert exits == [130], f"a second signal before bytecode {opcode} did not exit"
        assert runner.stops == 1, opcode  # the first one asked for the graceful stop
    assert tried >= 3


def test_the_paper_runs_second_ctrl_c_anywhere_inside_the_first_stops_at_once() -> None:
    tried = 0
    for opcode in positions(EndOfData.interrupt.__code__):
        nested, stops, pacer, hook = paper_case(opcode)
        if not nested:
            continue
        tried += 1
        assert stops == [1], f"a second Ctrl-C before bytecode {opcode} was not the second"
        assert pacer.halts == 1 and hook.interrupted, opcode
    assert tried >= 3
