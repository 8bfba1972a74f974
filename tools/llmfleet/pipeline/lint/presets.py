"""Rule presets: ``fleet`` (this repository's overlays and what they render), ``foreign``
(manifests written elsewhere) and ``auto``, which picks one per input.

On a foreign input a rule's ``foreign`` attribute decides: ``off`` for checks of this
repository's fleet conventions (``alert-coverage`` expects a PrometheusRule beside every
model, which a single workload file never carries), ``info`` for policies a foreign file
has no reason to follow (``pod-security``'s restricted profile), ``on`` for the rest.

``auto`` takes an input as this repository's when it is a rendered overlay, or when any of
its objects carries the label every overlay renders (``app.kubernetes.io/part-of:
llmfleet``, docs/architecture.md "Labels and selectors"), as in ``make build | llmfleet
lint -``.
"""

from __future__ import annotations

from llmfleet.model import OverlayModel

PRESETS = ("auto", "fleet", "foreign")
PART_OF = ("app.kubernetes.io/part-of", "llmfleet")


def is_own(model: OverlayModel) -> bool:
    """The input is this repository's: an overlay, or objects labelled as its output."""
    if model.is_overlay:
        return True
    key, value = PART_OF
    return any(res.labels.get(key) == value for res in model.resources)


def foreign(preset: str, model: OverlayModel) -> bool:
    """Whether ``model`` is linted with the foreign preset."""
    if preset == "foreign":
        return True
    if preset == "fleet":
        return False
    return not is_own(model)
