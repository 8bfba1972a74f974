"""Recovery of the overlay transaction (llmfleet.infra.transaction), in-process: a run stopped at
each point of its commit (the fault point raising instead of SIGKILL) leaves what the next
run's recovery turns back into the repository before it, or after it once committed; and the
leftovers of interrupted runs are removed, restored or kept as the module says."""

from __future__ import annotations

from pathlib import Path

import pytest

import llmfleet.infra.transaction as transaction
from llmfleet.infra.transaction import OverlayTransaction, recover

ROUTES = "gateway/routes.yaml"
OLD_ROUTES = "routes: [old]\n"
NEW_ROUTES = "routes: [old, new]\n"


class Stopped(Exception):
    pass


def repo(tmp_path: Path, old_overlay: bool = True, routes: bool = True) -> Path:
    (tmp_path / "overlays").mkdir()
    (tmp_path / "gateway").mkdir()
    if old_overlay:
        (tmp_path / "overlays" / "m").mkdir()
        (tmp_path / "overlays" / "m" / "kustomization.yaml").write_text("old: true\n")
    if routes:
        (tmp_path / ROUTES).write_text(OLD_ROUTES)
    return tmp_path


def tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".llmfleet-cache" not in p.parts
    }


def stop_at(monkeypatch, point: str) -> None:
    def fault(name: str) -> None:
        if name == point:
            raise Stopped(name)

    monkeypatch.setattr(transaction, "fault_point", fault)


COMMIT_POINTS = ["journal", "old-aside", "new-in-place", "routes-in-place", "committed", "cleaned"]


# Without an old overlay there is nothing to put aside: "old-aside" is not reached.
CASES = [(point, True) for point in COMMIT_POINTS] + [
    (point, False) for point in COMMIT_POINTS if point != "old-aside"
]


@pytest.mark.parametrize(
    ("point", "old_overlay"), CASES, ids=[f"{p}-{'replace' if o else 'new'}" for p, o in CASES]
)
def test_a_run_stopped_during_the_commit_is_recovered(tmp_path, monkeypatch, point, old_overlay):
    root = repo(tmp_path, old_overlay=old_overlay)
    before = tree(root)
    t = OverlayTransaction(root, root / "overlays", "m", ROUTES)
    t.stage({"kustomization.yaml": "new: true\n"})
    t.stage_routes(NEW_ROUTES)
    stop_at(monkeypatch, point)
    with pytest.raises(Stopped):
        t.commit()
    monkeypatch.undo()
    notes = recover(root, root / "overlays", ROUTES)
    after = tree(root)
    if point in ("committed", "cleaned"):
        assert after == {"gateway/routes.yaml": NEW_ROUTES, "overlays/m/kustomization.yaml": "new: true\n"}
    else:
        assert after == before, notes
    # Nothing is left behind: no staged, old or backup copies, no journal.
    assert sorted(p.name for p in (root / "overlays").iterdir()) == (
        ["m"] if old_overlay or point in ("committed", "cleaned") else []
    )
    assert sorted(p.name for p in (root / "gateway").iterdir()) == ["routes.yaml"]
    assert not (root / ".llmfleet-cache" / transaction.JOURNAL_FILE).exists()
    # A second recovery has nothing left to do.
    assert recover(root, root / "overlays", ROUTES) == []


def test_a_stop_before_the_commit_leaves_only_temporaries_that_recovery_removes(tmp_path, monkeypatch):
    root = repo(tmp_path)
    before = tree(root)
    t = OverlayTransaction(root, root / "overlays", "m", ROUTES)
    t.stage({"kustomization.yaml": "new: true\n"})
    t.stage_routes(NEW_ROUTES)
    staged, routes_staged = t.staged, t.routes_staged
    assert staged is not None and staged.name.startswith(".tmp-m-") and staged.parent == root / "overlays"
    assert routes_staged is not None and routes_staged.name.startswith(".routes.yaml.")
    assert routes_staged.suffix == ".tmp" and routes_staged.read_text() == NEW_ROUTES
    assert (staged / "kustomization.yaml").read_text() == "new: true\n"
    notes = recover(root, root / "overlays", ROUTES)
    assert tree(root) == before
    assert notes == [
        f"removed overlays/{staged.name}/, a half-written overlay left by an interrupted run",
        f"removed gateway/{routes_staged.name}, a routes file left half-written by an interrupted run",
    ]


def test_leftovers_of_older_runs(tmp_path):
    root = repo(tmp_path)
    overlays = root / "overlays"
    (overlays / ".old-llama-3-1-8b-abc123").mkdir()  # its overlay is gone: restored
    (overlays / ".old-llama-3-1-8b-abc123" / "kustomization.yaml").write_text("restored: true\n")
    (overlays / ".old-m-def456").mkdir()  # overlays/m exists: kept
    (overlays / ".tmp-file").write_text("a file, not a staged overlay\n")
    (root / "gateway" / ".routes.yaml.x1.bak").write_text(OLD_ROUTES)
    notes = recover(root, overlays, ROUTES)
    assert (overlays / "llama-3-1-8b" / "kustomization.yaml").read_text() == "restored: true\n"
    assert (overlays / ".old-m-def456").is_dir()
    assert (overlays / ".tmp-file").is_file()
    assert (root / "gateway" / ".routes.yaml.x1.bak").is_file()
    assert notes == [
        "restored overlays/llama-3-1-8b/ from overlays/.old-llama-3-1-8b-abc123/, the overlay an "
        "interrupted new-model --force was replacing",
        "kept overlays/.old-m-def456/: an overlay an interrupted new-model --force replaced; "
        "overlays/m/ exists, so delete it once you have checked nothing in it is needed",
        "kept gateway/.routes.yaml.x1.bak: a copy of gateway/routes.yaml from an interrupted run; "
        "delete it once you have checked it is not needed",
    ]


def test_recovery_without_overlays_or_routes(tmp_path):
    assert recover(tmp_path, tmp_path / "overlays", "") == []
    assert recover(tmp_path, tmp_path / "overlays", "gateway/routes.yaml") == []


def test_an_unreadable_journal_falls_back_to_the_leftovers(tmp_path):
    root = repo(tmp_path)
    (root / ".llmfleet-cache").mkdir()
    (root / ".llmfleet-cache" / transaction.JOURNAL_FILE).write_text("{not json")
    (root / "overlays" / ".tmp-m-zzz").mkdir()
    notes = recover(root, root / "overlays", ROUTES)
    assert notes == ["removed overlays/.tmp-m-zzz/, a half-written overlay left by an interrupted run"]
    assert not (root / ".llmfleet-cache" / transaction.JOURNAL_FILE).exists()


@pytest.mark.parametrize("point", ["journal", "old-aside", "new-in-place", "routes-in-place"])
def test_abort_after_a_stop_inside_the_commit_restores_the_repository(tmp_path, monkeypatch, point):
    """The same stops, undone by the run itself (new-model's abort), not by a later recovery."""
    root = repo(tmp_path)
    before = tree(root)
    t = OverlayTransaction(root, root / "overlays", "m", ROUTES)
    t.stage({"kustomization.yaml": "new: true\n"})
    t.stage_routes(NEW_ROUTES)
    stop_at(monkeypatch, point)
    with pytest.raises(Stopped):
        t.commit()
    monkeypatch.undo()
    t.abort()
    assert tree(root) == before  # the routes backup is consumed by the restore
    assert (root / ROUTES).read_text() == OLD_ROUTES
    assert (root / "overlays/m/kustomization.yaml").read_text() == "old: true\n"
    assert not (root / ".llmfleet-cache" / transaction.JOURNAL_FILE).exists()
    assert sorted(p.name for p in (root / "overlays").iterdir()) == ["m"]


def test_an_overlay_without_routes_commits_alone(tmp_path):
    root = repo(tmp_path, routes=False)
    t = OverlayTransaction(root, root / "overlays", "m", "")
    t.stage({"kustomization.yaml": "new: true\n"})
    t.stage_routes(NEW_ROUTES)  # no routes file configured: nothing staged
    assert t.routes_staged is None
    t.commit()
    assert t.done == ["overlays/m/"]
    assert tree(root) == {"overlays/m/kustomization.yaml": "new: true\n"}
    assert (
        t.describe_interrupt()
        == "overlays/m/ were written and checked before the interrupt; both are in place"
    )
