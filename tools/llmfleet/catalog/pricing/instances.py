"""The instance price table (``llmfleet/data/instance_prices.yaml``): one row per cloud,
instance type and region, each with its source and the date it was read."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from llmfleet import DATA_DIR
from llmfleet.kube import safe_yaml

DATA_FILE = DATA_DIR / "instance_prices.yaml"
CLOUDS = ("gke", "eks", "aks")


class PriceTableError(ValueError):
    """The shipped price table is malformed (a bug in the data file, not user input)."""


@dataclass(frozen=True)
class PriceSource:
    id: str
    what: str
    url: str
    read: str
    basis: str


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
        sources[str(key)] = PriceSource(
            str(key),
            str(entry.get("what", "")).strip(),
            str(entry["url"]),
            str(entry["read"]),
            str(entry.get("basis", "")),
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
        rows.append(
            InstancePrice(
                cloud=cloud,
                name=str(row.get("name")),
                gpu_class=str(row.get("gpu_class")),
                gpus=int(_number(row, "gpus", where) or 0),
                vcpu=int(_number(row, "vcpu", where) or 0),
                memory_gib=float(_number(row, "memory_gib", where) or 0),
                region=str(row.get("region")),
                on_demand=float(_number(row, "on_demand", where) or 0),
                spot=_number(row, "spot", where, optional=True),
                source=source,
            )
        )
    return PriceTable(tuple(rows), tuple(sources.values()))


@lru_cache(maxsize=1)
def table() -> PriceTable:
    return parse(safe_yaml.load(DATA_FILE.read_text(encoding="utf-8")))
