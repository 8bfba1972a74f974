"""Shared fixtures: the repository, its vendored schemas, a CLI runner and throw-away
repository copies.  No test reaches for the network: LLMFLEET_OFFLINE=1 is set for the
session (a test of the download path unsets it and points at a local or unroutable URL)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from llmfleet_testlib import REPO_ROOT, SCHEMAS, git


@pytest.fixture(scope="session", autouse=True)
def offline():
    """Schema downloads are off for every test (and for the llmfleet processes they start)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LLMFLEET_OFFLINE", "1")
        yield


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def schemas_dir() -> Path:
    """The repository's vendored schemas (crds/, other/)."""
    return SCHEMAS


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None


@pytest.fixture
def cli(monkeypatch):
    """Run ``llmfleet ARGS`` in-process from a folder; never lets a traceback pass unseen."""
    from llmfleet.cli import main

    def run(args: list[str], cwd: Path | None = None, input: bytes | str | None = None) -> CliResult:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        monkeypatch.delenv("LLMFLEET_ROOT", raising=False)
        result = CliRunner().invoke(main, args, input=input, catch_exceptions=True)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise AssertionError(
                f"llmfleet {' '.join(args)} raised {result.exception!r}:\n{result.output}"
            ) from result.exception
        return CliResult(result.exit_code, result.stdout, result.stderr, result.exception)

    return run


def write_config(root: Path, schema_dir: Path | None) -> None:
    config = yaml.safe_load((REPO_ROOT / "llmfleet.yaml").read_text())
    if schema_dir is not None:
        config["validate"]["schema-locations"] = [
            str(schema_dir / "crds" / "{{.Group}}" / "{{.ResourceKind}}_{{.ResourceAPIVersion}}.json")
        ]
    (root / "llmfleet.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


@pytest.fixture
def repo_copy(tmp_path, schemas_dir) -> Path:
    """A copy of the repository's manifests and configuration, safe to break."""
    root = tmp_path / "repo"
    root.mkdir()
    for folder in ("base", "base-multinode", "components", "overlays", "platform", "argocd"):
        if (REPO_ROOT / folder).is_dir():
            shutil.copytree(REPO_ROOT / folder, root / folder)
    write_config(root, schemas_dir)
    return root


@pytest.fixture
def empty_repo(tmp_path, schemas_dir) -> Path:
    """A repository with only a configuration file (for inputs given as files)."""
    root = tmp_path / "empty"
    root.mkdir()
    write_config(root, schemas_dir)
    return root


@pytest.fixture
def git_repo(repo_copy) -> Path:
    """The repository copy, committed on `main` in a new git repository."""
    git(repo_copy, "init", "-q")
    git(repo_copy, "add", "-A")
    git(repo_copy, "commit", "-q", "-m", "initial")
    return repo_copy


# -- the real repository, rendered once per test session ---------------------------------------


def pytest_addoption(parser):
    parser.addoption(
        "--fuzz-examples",
        type=int,
        default=None,
        help="Examples of the fuzz test (tests/test_fuzz.py); default 100, or LLMFLEET_FUZZ_EXAMPLES.",
    )


def pytest_configure(config):
    """One content-addressed render cache for the whole session (in-process and CLI runs in
    subprocesses alike): each real overlay is rendered once, repository copies whose files
    are unchanged hit the same entries, and changed copies get their own."""
    import os
    import tempfile

    if "LLMFLEET_CACHE_DIR" not in os.environ:
        os.environ["LLMFLEET_CACHE_DIR"] = tempfile.mkdtemp(prefix="llmfleet-test-cache-")


def pytest_generate_tests(metafunc):
    if "overlay_name" in metafunc.fixturenames:
        from llmfleet_testlib import overlay_names

        metafunc.parametrize("overlay_name", overlay_names())


@pytest.fixture(scope="session")
def repository_model():
    """The FleetModel of this repository: every overlay and platform kustomization rendered
    once (through the render cache)."""
    from llmfleet.model import FleetModel, OverlayModel
    from llmfleet.pipeline.config import load_config
    from llmfleet.pipeline.runner import iter_overlay_models

    config = load_config(REPO_ROOT)
    overlays = {}
    for loaded, model in iter_overlay_models(config):
        assert not loaded.findings, [f.message for f in loaded.findings]
        overlays[loaded.name] = model
    platform = []
    for loaded, _ in iter_overlay_models(config, directories=config.platform_dirs()):
        assert not loaded.findings, [f.message for f in loaded.findings]
        platform += loaded.resources
    routes = config.root / config.routes_file if config.routes_file else None
    return FleetModel(
        overlays,
        OverlayModel("platform", platform, config.cluster),
        config.cluster,
        config.routes_file,
        routes.read_text() if routes and routes.is_file() else None,
    )
