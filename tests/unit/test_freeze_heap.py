"""``freeze_startup_heap``: what is alive after start-up is never scanned by the GC again."""

import gc

from market_maker.live.runner import freeze_startup_heap


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the garbage collector can free it


def test_objects_alive_at_start_up_are_frozen_and_later_garbage_is_still_collected() -> None:
    kept = _Node()
    try:
        freeze_startup_heap()
        assert gc.get_freeze_count() > 0
        assert all(o is not kept for o in gc.get_objects())  # frozen: out of every generation
        collected_before = sum(g["collected"] for g in gc.get_stats())
        for _ in range(1000):
            _Node()  # cycles made after start-up
        gc.collect()
        assert sum(g["collected"] for g in gc.get_stats()) >= collected_before + 1000
    finally:
        gc.unfreeze()
