#!/usr/bin/env python3
"""Write ``components/gpu-<class>/`` for every GPU class of ``tools/llmfleet/data/gpus.yaml``.

The catalog is the one home of the GPU classes: each component is the templates of
``tools/scripts/templates/gpu-component/`` filled with the class's name, display name and
example node pools.  A component of a class the catalog no longer has is removed.

Usage::

    python tools/scripts/gen_gpu_components.py           # (re)write components/gpu-*
    python tools/scripts/gen_gpu_components.py --check   # exit 1 when a component differs

Exit codes: 0 written (or up to date), 1 out of date (--check), 2 bad catalog entry.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from string import Template

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = Path(__file__).resolve().parent / "templates" / "gpu-component"
CATALOG = REPO_ROOT / "tools" / "llmfleet" / "data" / "gpus.yaml"
PREFIX = "gpu-"


def expected_components(catalog: Path = CATALOG) -> dict[str, dict[str, str]]:
    """``{component folder name: {file name: text}}`` as the catalog dictates."""
    import yaml

    entries = (yaml.safe_load(catalog.read_text(encoding="utf-8")) or {}).get("gpus") or {}
    out: dict[str, dict[str, str]] = {}
    for name, entry in entries.items():
        missing = [field for field in ("display", "node_pools") if not (entry or {}).get(field)]
        if missing:
            raise ValueError(f"{catalog}: gpus.{name}: missing {', '.join(missing)}")
        values = {"name": name, "display": entry["display"], "node_pools": entry["node_pools"]}
        out[PREFIX + name] = {
            template.name: Template(template.read_text(encoding="utf-8")).substitute(values)
            for template in sorted(TEMPLATES.iterdir())
        }
    return out


def differences(components_dir: Path, expected: dict[str, dict[str, str]]) -> list[str]:
    """Each component file that is missing, stale or extra, one line each."""
    found: list[str] = []
    present = {p.name for p in components_dir.glob(PREFIX + "*") if p.is_dir()}
    for folder in sorted(present - set(expected)):
        found.append(f"components/{folder}: no class {folder[len(PREFIX) :]!r} in the catalog")
    for folder, files in expected.items():
        for name, text in files.items():
            path = components_dir / folder / name
            if not path.is_file():
                found.append(f"components/{folder}/{name}: missing")
            elif path.read_text(encoding="utf-8") != text:
                found.append(f"components/{folder}/{name}: differs from the catalog")
        if folder in present:
            for extra in sorted({p.name for p in (components_dir / folder).iterdir()} - set(files)):
                found.append(f"components/{folder}/{extra}: not generated from the catalog")
    return found


def write(components_dir: Path, expected: dict[str, dict[str, str]]) -> None:
    for folder in sorted({p.name for p in components_dir.glob(PREFIX + "*") if p.is_dir()} - set(expected)):
        shutil.rmtree(components_dir / folder)
    for folder, files in expected.items():
        (components_dir / folder).mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (components_dir / folder / name).write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report differences, write nothing")
    parser.add_argument("--components", type=Path, default=REPO_ROOT / "components")
    args = parser.parse_args(argv)
    try:
        expected = expected_components()
    except (ValueError, KeyError) as exc:
        print(f"gen_gpu_components: {exc}", file=sys.stderr)
        return 2
    if args.check:
        found = differences(args.components, expected)
        for line in found:
            print(line)
        if found:
            print("run: python tools/scripts/gen_gpu_components.py", file=sys.stderr)
        return 1 if found else 0
    write(args.components, expected)
    return 0


if __name__ == "__main__":
    sys.exit(main())
