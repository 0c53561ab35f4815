"""`cercle_sends_failed_total{adapter, reason}`: what the platforms refused for good."""

from __future__ import annotations

from collections import Counter

from adapters.metrics import Metrics


class RefusedAdapter:
    name = "matrix"
    reconnects = 0

    def __init__(self) -> None:
        self.sends_failed: Counter[str] = Counter({"forbidden": 2, "not_found": 1})

    def send_queue_length(self) -> int:
        return 0


class Console:
    name = "console"
    reconnects = 0

    def send_queue_length(self) -> int:
        return 0


def test_refusals_are_counted_by_adapter_and_reason() -> None:
    metrics = Metrics()
    adapter = RefusedAdapter()
    metrics.watch_adapter(adapter)
    metrics.watch_adapter(Console())  # shows no refusals: no series
    text = metrics.latest().decode()
    assert 'cercle_sends_failed_total{adapter="matrix",reason="forbidden"} 2.0' in text
    assert 'cercle_sends_failed_total{adapter="matrix",reason="not_found"} 1.0' in text
    assert 'adapter="console",reason=' not in text
    adapter.sends_failed["forbidden"] += 1  # read at each scrape
    assert 'reason="forbidden"} 3.0' in metrics.latest().decode()
