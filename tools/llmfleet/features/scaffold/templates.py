"""The YAML of a new overlay, as data: Jinja2 templates in ``data/scaffold/`` (one per file
that ``new-model`` writes, ``multinode/`` for the multi-node unit, and the partials they
include). The numbers and phrases are computed in Python (:mod:`llmfleet.features.scaffold.write`); the
text, comments, keys and structure live in the templates."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jinja2

from llmfleet import DATA_DIR

TEMPLATE_DIR = DATA_DIR / "scaffold"


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # YAML, not HTML
    )


def render(template: str, /, **context: Any) -> str:
    """``data/scaffold/<template>`` rendered with ``context`` (every name it uses must be given)."""
    return _environment().get_template(template).render(**context)
