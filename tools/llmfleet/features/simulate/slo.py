"""The latency objective a simulated overlay is judged against.

Each overlay may state one in ``overlays/<name>/capacity.yaml`` (key ``slo``); without it the
interactive default applies.  An objective looser than the default (any bound above it) must
carry ``reason``: who the model serves and why they tolerate the wait -- a relaxed objective
is a decision about users, not a way to make the check pass (docs/deploying.md §9.5).
``llmfleet simulate`` and ``llmfleet diff`` fail (exit 1) when a simulated percentile is above
its objective.

The simulation knows each request's queue wait exactly; its time to first token is estimated
as the wait plus the prefill of its prompt on the replica (compute bound, calibrated) plus one
engine step -- the first token leaves with the step that finishes the prefill.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

#: The interactive default: a user waits at most a minute in 95 % of cases, five in 99 %.
DEFAULT_QUEUE_WAIT_P95_S = 60.0
DEFAULT_QUEUE_WAIT_P99_S = 300.0
DEFAULT_TTFT_P95_S = 65.0
DEFAULT_TTFT_P99_S = 310.0
FIELDS = ("queue_wait_p95_s", "queue_wait_p99_s", "ttft_p95_s", "ttft_p99_s")
#: The keys of a capacity file's ``slo`` mapping: the bounds and the reason for them.
KEYS = (*FIELDS, "reason")


class SloError(ValueError):
    """An objective that is not a positive number; the message names the field."""


@dataclass(frozen=True)
class Slo:
    queue_wait_p95_s: float = DEFAULT_QUEUE_WAIT_P95_S
    queue_wait_p99_s: float = DEFAULT_QUEUE_WAIT_P99_S
    ttft_p95_s: float = DEFAULT_TTFT_P95_S
    ttft_p99_s: float = DEFAULT_TTFT_P99_S
    source: str = "default (interactive)"
    #: Why the overlay's users accept this objective (required when it is looser than the default).
    reason: str = ""

    def __post_init__(self):
        for name in FIELDS:
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value <= 0
            ):
                raise SloError(f"slo.{name}: must be a number of seconds > 0, got {value!r}")
        if not isinstance(self.reason, str):
            raise SloError(f"slo.reason: must be text, got {type(self.reason).__name__}")

    def looser_than_default(self) -> list[str]:
        """The bounds above the interactive default."""
        default = Slo()
        return [name for name in FIELDS if getattr(self, name) > getattr(default, name)]

    @classmethod
    def from_mapping(cls, data: Any, where: str) -> Slo:
        """``data``: the ``slo`` mapping of a capacity file (unset fields keep the defaults)."""
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise SloError(f"{where}: slo must be a mapping of {', '.join(FIELDS)}")
        unknown = sorted(set(data) - set(KEYS))
        if unknown:
            raise SloError(f"{where}: slo.{unknown[0]}: unknown field (known: {', '.join(KEYS)})")
        try:
            slo = cls(**{k: data[k] for k in KEYS if k in data}, source=where)
        except SloError as err:
            raise SloError(f"{where}: {err}") from None
        looser = slo.looser_than_default()
        if looser and not slo.reason.strip():
            raise SloError(
                f"{where}: slo.reason: missing; slo.{looser[0]} ({getattr(slo, looser[0]):g} s) is looser "
                f"than the interactive default ({getattr(cls(), looser[0]):g} s): say who the model "
                "serves and why they accept the wait (docs/deploying.md §9.5)"
            )
        return slo

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def ttft_s(wait_s: float, replica, input_tokens: float) -> float:
    """Time to first token of a request that waited ``wait_s`` (module docstring)."""
    return wait_s + replica.prefill_s(input_tokens) + replica.decode_step_s(1, input_tokens)


def breaches(summary: dict[str, float], slo: Slo) -> list[tuple[str, float, float]]:
    """``(objective, simulated, bound)`` for every objective the summary is above."""
    pairs = (
        ("queue_wait_p95_s", summary["wait_p95_s"]),
        ("queue_wait_p99_s", summary["wait_p99_s"]),
        ("ttft_p95_s", summary["ttft_p95_s"]),
        ("ttft_p99_s", summary["ttft_p99_s"]),
    )
    return [(name, value, getattr(slo, name)) for name, value in pairs if value > getattr(slo, name)]


__all__ = ["Slo", "SloError", "breaches", "ttft_s", "FIELDS", "KEYS"]
