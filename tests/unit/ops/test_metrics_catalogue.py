"""The metric catalogue (dashboard, alerts, docs) is exactly what the bot registers."""

from decimal import Decimal

from devtools.bot_metrics import COMMON_LABELS, bot_metric_families
from market_maker.ops.metrics import BotMetrics


def registered() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Name -> (type, label names) of every family the bot's registry holds."""
    metrics = BotMetrics("cat", "BTC/USDT", Decimal("0.02"))
    found = {}
    for collector in list(metrics.registry._collector_to_names):
        labels = tuple(getattr(collector, "_labelnames", ()))
        for family in collector.describe():
            found[family.name] = (family.type, labels)
    return found


def test_the_catalogue_names_every_registered_family_with_its_type_and_labels() -> None:
    catalogue = {f.name: (f.kind.value, f.all_labels) for f in bot_metric_families()}
    actual = registered()
    assert set(catalogue) == set(actual)
    for name, (kind, labels) in catalogue.items():
        assert actual[name][0] == kind, name
        assert actual[name][1] == labels, name
        assert actual[name][1][: len(COMMON_LABELS)] == COMMON_LABELS
