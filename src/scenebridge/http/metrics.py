"""What ``GET /metrics`` exports, in the Prometheus text format (``prometheus_client``, one registry per app).

- ``scenebridge_http_requests_total`` (counter; ``endpoint``: the route template or ``unmatched``, ``method``,
  ``status``) and ``scenebridge_http_request_duration_seconds`` (histogram; ``endpoint``);
- ``scenebridge_turn_queue_depth`` and ``scenebridge_turns_in_flight`` (gauges), ``scenebridge_turn_slots``
  (``[api] max_turns``);
- ``scenebridge_turns_shed_total`` (counter; ``reason``: ``queue_full`` answered 429, ``queue_timeout`` 503);
- ``scenebridge_turn_queue_wait_seconds`` (histogram) and ``scenebridge_turn_stage_seconds`` (histogram; ``stage``:
  each key of a turn's ``timings_ms`` — parse, link, retrieve, rerank, explain, …, total).

Labels never carry user input: the endpoint is the route's template (``/v1/sessions/{session_id}``), not the path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

if TYPE_CHECKING:
    from scenebridge.agent.turn import TurnResult
    from scenebridge.http.gate import TurnGate

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
# From a 2 ms lexical stage to a two-minute LLM turn on a busy 2-core machine.
_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0)


class Metrics:
    """The app's counters, gauges and histograms, and their text exposition."""

    def __init__(self, gate: TurnGate) -> None:
        self.registry = CollectorRegistry()
        reg = self.registry
        self.requests = Counter("scenebridge_http_requests", "HTTP requests answered, by route template, method and "
                                "status.", ["endpoint", "method", "status"], registry=reg)  # fmt: skip
        self.duration = Histogram("scenebridge_http_request_duration_seconds", "Time to the response's start, by "
                                  "route template.", ["endpoint"], buckets=_BUCKETS, registry=reg)  # fmt: skip
        depth = Gauge("scenebridge_turn_queue_depth", "Turns waiting for a slot now.", registry=reg)
        depth.set_function(lambda: gate.waiting)
        flight = Gauge("scenebridge_turns_in_flight", "Turns running now.", registry=reg)
        flight.set_function(lambda: gate.running)
        Gauge("scenebridge_turn_slots", "Turns the server runs at once ([api] max_turns).", registry=reg).set(
            gate.max_running
        )
        self.shed = Counter("scenebridge_turns_shed", "Turn requests refused under overload: queue_full (429) or "
                            "queue_timeout (503).", ["reason"], registry=reg)  # fmt: skip
        for reason in ("queue_full", "queue_timeout"):
            self.shed.labels(reason=reason)  # present at 0 before the first refusal
        self.wait = Histogram("scenebridge_turn_queue_wait_seconds", "How long admitted turns waited for a slot.",
                              buckets=_BUCKETS, registry=reg)  # fmt: skip
        self.stage = Histogram("scenebridge_turn_stage_seconds", "Each stage of a turn (its timings_ms), and total.",
                               ["stage"], buckets=_BUCKETS, registry=reg)  # fmt: skip

    def observe_request(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        """Counts one answered request."""
        self.requests.labels(endpoint=endpoint, method=method, status=str(status)).inc()
        self.duration.labels(endpoint=endpoint).observe(seconds)

    def count_shed(self, reason: str) -> None:
        """Counts one refused turn request."""
        self.shed.labels(reason=reason).inc()

    def observe_turn(self, result: TurnResult) -> None:
        """Adds a finished turn's per-stage times."""
        for stage, ms in result.timings_ms.items():
            self.stage.labels(stage=stage).observe(max(0.0, ms) / 1000.0)

    def render(self) -> bytes:
        """The exposition text."""
        return generate_latest(self.registry)
