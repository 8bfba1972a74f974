"""The instance price table (``llmfleet/data/instance_prices.yaml``): one row per cloud,
instance type and region, each with its source, the date it was read and the date of the
prices; a spot price may come from another source than the on-demand one, and per zone (the
row's spot price is then the median zone's)."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from llmfleet import DATA_DIR
from llmfleet.kube import safe_yaml

DATA_FILE = DATA_DIR / "instance_prices.yaml"
CLOUDS = ("gke", "eks", "aks")
#: A source's price_date: the date of its prices, or an upper bound where that is all it gives.
PRICE_DATE = re.compile(r"(before )?\d{4}-\d{2}-\d{2}")


class PriceTableError(ValueError):
    """The shipped price table is malformed (a bug in the data file, not user input)."""


@dataclass(frozen=True)
class PriceSource:
    id: str
    what: str
    url: str
    read: str
    basis: str
    price_date: str = ""

    @property
    def dated(self) -> str:
        """The date of the prices in words: "prices of 2024-08-18", "prices from before 2026-09-24"."""
        return (
            f"prices from {self.price_date}"
            if self.price_date.startswith("before")
            else f"prices of {self.price_date}"
        )


@dataclass(frozen=True)
class InstancePrice:
    cloud: str
    name: str
    gpu_class: str
    gpus: int
    vcpu: int
    memory_gib: float
    region: str
    on_demand: float
    spot: float | None
    source: PriceSource
    #: Where the spot price comes from (the on-demand source when the row names none).
    spot_source: PriceSource | None = None
    #: The spot price per availability zone, when the source gives one per zone.
    spot_zones: dict[str, float] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.cloud} {self.region}"


@dataclass(frozen=True)
class PriceTable:
    rows: tuple[InstancePrice, ...]
    sources: tuple[PriceSource, ...]

    def find(self, cloud: str, name: str) -> InstancePrice | None:
        for row in self.rows:
            if row.cloud == cloud and row.name == name:
                return row
        return None


def _number(row: dict[str, Any], key: str, where: str, optional: bool = False) -> float | None:
    value = row.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise PriceTableError(f"{DATA_FILE.name}: {where}: {key} must be a positive number, not {value!r}")
    return float(value)


def parse(raw: Any) -> PriceTable:
    """The table from the loaded YAML; PriceTableError naming the row and field otherwise."""
    if not isinstance(raw, dict) or raw.get("version") != 1:
        raise PriceTableError(f"{DATA_FILE.name}: expected a mapping with version: 1")
    sources: dict[str, PriceSource] = {}
    for key, entry in (raw.get("sources") or {}).items():
        if not isinstance(entry, dict) or not entry.get("url") or not entry.get("read"):
            raise PriceTableError(f"{DATA_FILE.name}: sources.{key}: needs url and read")
        if not PRICE_DATE.fullmatch(str(entry.get("price_date", ""))):
            raise PriceTableError(
                f"{DATA_FILE.name}: sources.{key}: price_date must be YYYY-MM-DD or 'before YYYY-MM-DD', "
                f"not {entry.get('price_date')!r}"
            )
        sources[str(key)] = PriceSource(
            str(key),
            str(entry.get("what", "")).strip(),
            str(entry["url"]),
            str(entry["read"]),
            str(entry.get("basis", "")),
            str(entry["price_date"]),
        )
    rows: list[InstancePrice] = []
    seen: set[tuple[str, str, str]] = set()
    for index, row in enumerate(raw.get("instances") or []):
        where = f"instances[{index}]"
        if not isinstance(row, dict):
            raise PriceTableError(f"{DATA_FILE.name}: {where}: expected a mapping")
        where = f"{where} ({row.get('name')})"
        cloud = str(row.get("cloud"))
        if cloud not in CLOUDS:
            raise PriceTableError(f"{DATA_FILE.name}: {where}: cloud must be one of {', '.join(CLOUDS)}")
        source = sources.get(str(row.get("source")))
        if source is None:
            raise PriceTableError(
                f"{DATA_FILE.name}: {where}: source {row.get('source')!r} is not in sources"
            )
        key = (cloud, str(row.get("name")), str(row.get("region")))
        if key in seen:
            raise PriceTableError(f"{DATA_FILE.name}: {where}: listed twice")
        seen.add(key)
        on_demand = float(_number(row, "on_demand", where) or 0)
        zones = _zones(row, where)
        spot = statistics.median(zones.values()) if zones else _number(row, "spot", where, optional=True)
        if spot is not None and spot >= on_demand:
            raise PriceTableError(
                f"{DATA_FILE.name}: {where}: spot {spot:g} is not below on_demand {on_demand:g} "
                "(a source that repeats the on-demand price has no spot price: leave spot out)"
            )
        spot_source = source
        if row.get("spot_source") is not None:
            found = sources.get(str(row.get("spot_source")))
            if found is None:
                raise PriceTableError(
                    f"{DATA_FILE.name}: {where}: spot_source {row.get('spot_source')!r} is not in sources"
                )
            spot_source = found
        rows.append(
            InstancePrice(
                cloud=cloud,
                name=str(row.get("name")),
                gpu_class=str(row.get("gpu_class")),
                gpus=int(_number(row, "gpus", where) or 0),
                vcpu=int(_number(row, "vcpu", where) or 0),
                memory_gib=float(_number(row, "memory_gib", where) or 0),
                region=str(row.get("region")),
                on_demand=on_demand,
                spot=spot,
                source=source,
                spot_source=spot_source if spot is not None else None,
                spot_zones=zones,
            )
        )
    return PriceTable(tuple(rows), tuple(sources.values()))


def _zones(row: dict[str, Any], where: str) -> dict[str, float]:
    """The per-zone spot prices of a row (``spot_zones``); a row gives those or ``spot``."""
    raw = row.get("spot_zones")
    if raw is None:
        return {}
    if row.get("spot") is not None:
        raise PriceTableError(f"{DATA_FILE.name}: {where}: give spot or spot_zones, not both")
    if not isinstance(raw, dict) or not raw:
        raise PriceTableError(f"{DATA_FILE.name}: {where}: spot_zones must map zones to prices")
    return {str(zone): float(_number(raw, zone, f"{where} spot_zones") or 0) for zone in raw}


@lru_cache(maxsize=1)
def table() -> PriceTable:
    return parse(safe_yaml.load(DATA_FILE.read_text(encoding="utf-8")))
