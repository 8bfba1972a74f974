"""YAML reading for the model's data files and embedded documents.

libyaml's C loader when PyYAML was built with it (it is, in the wheels on PyPI): the
same safe semantics as ``yaml.safe_load``, several times faster, which matters because
every run reads the data tables (node shapes, accelerators, models) before checking.
"""

from __future__ import annotations

from typing import Any

import yaml

Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` with the C loader; raises ``yaml.YAMLError`` the same way."""
    return yaml.load(text, Loader=Loader)
