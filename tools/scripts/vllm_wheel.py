"""What the vLLM table extractors (extract_vllm_flags.py, extract_vllm_metrics.py) share:
reading a wheel or source tree without importing it, the wheel's identity, and the
command line (one wheel to stdout, ``--pypi`` releases into a folder, ``--history``)."""

from __future__ import annotations

import ast
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path


class Source:
    """A vLLM wheel, or an unpacked source tree (the folder that holds ``vllm/``)."""

    def __init__(self, path: Path):
        self.path = path
        self.zip = zipfile.ZipFile(path) if path.is_file() else None

    def has(self, name: str) -> bool:
        if self.zip is not None:
            return name in self.zip.namelist()
        return (self.path / name).is_file()

    def read(self, name: str) -> str:
        if self.zip is not None:
            return self.zip.read(name).decode("utf-8")
        return (self.path / name).read_text(encoding="utf-8")

    def names(self) -> list[str]:
        """The Python modules under ``vllm/`` (a wheel's in its own order)."""
        if self.zip is not None:
            return [n for n in self.zip.namelist() if n.startswith("vllm/") and n.endswith(".py")]
        return sorted(str(p.relative_to(self.path)) for p in (self.path / "vllm").rglob("*.py"))

    def version(self) -> str:
        try:
            tree = ast.parse(self.read("vllm/_version.py"))
        except (KeyError, FileNotFoundError):
            return "unknown"
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Constant)
                and any(isinstance(t, ast.Name) and t.id in ("__version__", "version") for t in node.targets)
            ):
                return str(node.value.value)
        return "unknown"

    def digest(self) -> str:
        """The wheel's sha256, for the table header."""
        return hashlib.sha256(self.path.read_bytes()).hexdigest() if self.zip is not None else "(source tree)"


def from_pypi(
    versions: list[str], out: Path, render: Callable[[Path], str], file_name: Callable[[str], str]
) -> int:
    """Download each release's wheel with pip (no dependencies), write its table, delete it."""
    for version in versions:
        with tempfile.TemporaryDirectory(prefix="vllm-wheel-") as tmp:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", f"vllm=={version}", "--no-deps"]
                + ["--only-binary=:all:", "--quiet", "-d", tmp],
                check=True,
            )
            wheels = sorted(Path(tmp).glob("vllm-*.whl"))
            if not wheels:
                print(f"no wheel downloaded for vllm=={version}", file=sys.stderr)
                return 1
            (out / file_name(version)).write_text(render(wheels[0]), encoding="utf-8")
            print(f"wrote {out / file_name(version)}", file=sys.stderr)
    return 0


def main(
    argv: list[str],
    usage: str,
    render: Callable[[Path], str],
    history: Callable[[Path], str],
    file_name: Callable[[str], str],
) -> int:
    if len(argv) >= 3 and argv[1] == "--pypi":
        args = argv[2:]
        out = Path(".")
        if "--out" in args:
            i = args.index("--out")
            out = Path(args[i + 1])
            args = args[:i] + args[i + 2 :]
        return from_pypi(args, out, render, file_name)
    if len(argv) == 3 and argv[1] == "--history":
        sys.stdout.write(history(Path(argv[2])))
        return 0
    if len(argv) != 2:
        print(usage, file=sys.stderr)
        return 2
    sys.stdout.write(render(Path(argv[1])))
    return 0
