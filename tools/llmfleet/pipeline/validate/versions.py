"""The installed version of a Python distribution, cheaply.

``importlib.metadata`` costs some 60 ms to import, a tenth of a ``check`` whose renders and
validations all come from the cache; the version is read from the name of the
distribution's ``.dist-info`` folder beside its package instead (pip and every PEP 376
installer write ``<name>-<version>.dist-info``), with ``importlib.metadata`` as the
fallback for other layouts.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path


@cache
def distribution_version(distribution: str, package: str | None = None) -> str:
    """The version of ``distribution`` (whose import name is ``package``, by default the
    distribution name with ``-`` as ``_``), or ``"unknown"``."""
    normalized = distribution.replace("-", "_").lower()
    spec = importlib.util.find_spec(package or normalized)
    if spec is not None and spec.origin:
        site = Path(spec.origin).parent.parent
        for folder in site.glob("*.dist-info"):
            name, _, version = folder.name[: -len(".dist-info")].partition("-")
            if name.replace("-", "_").replace(".", "_").lower() == normalized and version:
                return version
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"
