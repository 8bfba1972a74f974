"""The overlay transaction (llmfleet.infra.transaction) in-process, file by file: an abort after
the commit keeps what was committed, and a rollback restores the routes file byte for byte
from its backup (no command regenerates the routes afterwards to hide a wrong restore)."""

from __future__ import annotations

import json
from pathlib import Path

from llmfleet.infra.transaction import JOURNAL_FILE, STATE_DIR, Journal, OverlayTransaction, recover

ROUTES = "gateway/routes.yaml"
OLD_ROUTES = "# the routes before\nroutes: [old]\n"
NEW_ROUTES = "# the routes after\nroutes: [old, new]\n"


def repo(tmp_path: Path, old_overlay: bool = True, routes: bool = True) -> Path:
    (tmp_path / "overlays").mkdir()
    (tmp_path / "gateway").mkdir()
    if old_overlay:
        (tmp_path / "overlays" / "m").mkdir()
        (tmp_path / "overlays" / "m" / "kustomization.yaml").write_text("old: true\n")
    if routes:
        (tmp_path / ROUTES).write_text(OLD_ROUTES)
    return tmp_path


def transaction(root: Path) -> OverlayTransaction:
    return OverlayTransaction(root, root / "overlays", "m", ROUTES)


def listing(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


def test_commit_replaces_overlay_and_routes_and_leaves_nothing_else(tmp_path):
    root = repo(tmp_path)
    t = transaction(root)
    t.stage({"kustomization.yaml": "new: true\n"})
    t.stage_routes(NEW_ROUTES)
    t.commit()
    assert (root / "overlays/m/kustomization.yaml").read_text() == "new: true\n"
    assert (root / ROUTES).read_text() == NEW_ROUTES
    assert t.done == ["overlays/m/", ROUTES]
    assert listing(root) == [
        ".llmfleet-cache",
        "gateway",
        ROUTES,
        "overlays",
        "overlays/m",
        "overlays/m/kustomization.yaml",
    ]


def test_abort_after_commit_keeps_what_was_committed(tmp_path):
    root = repo(tmp_path)
    t = transaction(root)
    t.stage({"kustomization.yaml": "new: true\n"})
    t.stage_routes(NEW_ROUTES)
    t.commit()
    t.abort()  # e.g. an interrupt that arrives after the commit completed
    assert (root / "overlays/m/kustomization.yaml").read_text() == "new: true\n"
    assert (root / ROUTES).read_text() == NEW_ROUTES
    assert "both are in place" in t.describe_interrupt()


def test_abort_before_commit_removes_the_staged_files_only(tmp_path):
    root = repo(tmp_path)
    t = transaction(root)
    t.stage({"kustomization.yaml": "new: true\n"})
    t.stage_routes(NEW_ROUTES)
    t.abort()
    assert (root / "overlays/m/kustomization.yaml").read_text() == "old: true\n"
    assert (root / ROUTES).read_text() == OLD_ROUTES
    assert listing(root) == ["gateway", ROUTES, "overlays", "overlays/m", "overlays/m/kustomization.yaml"]
    assert t.describe_interrupt() == "nothing was written (overlays/m/ and gateway/routes.yaml are as before)"


def crashed_after_routes_in_place(root: Path) -> None:
    """The repository as a run killed right after renaming the new routes into place leaves
    it: the old overlay aside, the new one in place, the routes backup, the journal not
    committed."""
    overlays = root / "overlays"
    (overlays / "m").rename(overlays / ".old-m-abc123")
    (overlays / "m").mkdir()
    (overlays / "m" / "kustomization.yaml").write_text("new: true\n")
    (root / "gateway" / ".routes.yaml.xyz.bak").write_text(OLD_ROUTES)
    (root / ROUTES).write_text(NEW_ROUTES)
    journal = Journal(
        name="m",
        target="overlays/m",
        staged="overlays/.tmp-m-def456",
        had_old=True,
        old="overlays/.old-m-abc123",
        routes=ROUTES,
        routes_staged="gateway/.routes.yaml.qrs.tmp",
        routes_backup="gateway/.routes.yaml.xyz.bak",
        had_routes=True,
    )
    journal.save(root)


def test_recovery_restores_the_routes_byte_for_byte_and_the_old_overlay(tmp_path):
    root = repo(tmp_path)
    crashed_after_routes_in_place(root)
    notes = recover(root, root / "overlays", ROUTES)
    assert (root / ROUTES).read_text() == OLD_ROUTES
    assert (root / "overlays/m/kustomization.yaml").read_text() == "old: true\n"
    assert notes == [
        "restored gateway/routes.yaml as it was before an interrupted new-model of m",
        "restored overlays/m/ (the overlay an interrupted new-model --force of m was replacing)",
    ]
    assert listing(root) == [
        ".llmfleet-cache",
        "gateway",
        ROUTES,
        "overlays",
        "overlays/m",
        "overlays/m/kustomization.yaml",
    ]


def test_recovery_removes_routes_the_interrupted_run_created(tmp_path):
    root = repo(tmp_path, old_overlay=False, routes=False)
    (root / "overlays" / "m").mkdir()
    (root / "overlays" / "m" / "kustomization.yaml").write_text("new: true\n")
    (root / ROUTES).write_text(NEW_ROUTES)
    Journal(
        name="m",
        target="overlays/m",
        staged="overlays/.tmp-m-def456",
        had_old=False,
        routes=ROUTES,
        routes_staged="gateway/.routes.yaml.qrs.tmp",
        had_routes=False,
    ).save(root)
    notes = recover(root, root / "overlays", ROUTES)
    assert not (root / ROUTES).exists()
    assert not (root / "overlays" / "m").exists()
    assert notes == [
        "removed gateway/routes.yaml, created by an interrupted new-model of m",
        "removed overlays/m/, placed by an interrupted new-model of m before it completed",
    ]


def test_recovery_finishes_a_committed_journal_without_undoing_it(tmp_path):
    root = repo(tmp_path)
    crashed_after_routes_in_place(root)
    path = root / STATE_DIR / JOURNAL_FILE
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "committed": True}))
    recover(root, root / "overlays", ROUTES)
    assert (root / ROUTES).read_text() == NEW_ROUTES
    assert (root / "overlays/m/kustomization.yaml").read_text() == "new: true\n"
    assert not (root / "overlays" / ".old-m-abc123").exists()
    assert not (root / "gateway" / ".routes.yaml.xyz.bak").exists()
    assert not path.exists()


def test_an_interrupt_during_the_cleanup_after_commit_keeps_the_commit(tmp_path, monkeypatch):
    """The interrupt arrives after the renames, while the old overlay is being deleted: the
    abort that follows must not put the old overlay (still aside) back."""
    import llmfleet.infra.transaction as transaction_module

    root = repo(tmp_path)
    t = transaction(root)
    t.stage({"kustomization.yaml": "new: true\n"})
    t.stage_routes(NEW_ROUTES)

    real_remove, calls = transaction_module._remove, []

    def interrupted_once(path):
        calls.append(path)
        if len(calls) == 1:
            raise KeyboardInterrupt
        real_remove(path)

    monkeypatch.setattr(transaction_module, "_remove", interrupted_once)
    try:
        t.commit()
    except KeyboardInterrupt:
        t.abort()
    else:
        raise AssertionError("the cleanup was not reached")
    monkeypatch.undo()
    assert t.committed
    assert (root / "overlays/m/kustomization.yaml").read_text() == "new: true\n"
    assert (root / ROUTES).read_text() == NEW_ROUTES
    # The old overlay is still aside; the next run's recovery finishes the committed journal.
    assert [p.name for p in (root / "overlays").iterdir() if p.name.startswith(".old-m-")]
    recover(root, root / "overlays", ROUTES)
    assert not [p.name for p in (root / "overlays").iterdir() if p.name.startswith(".old-m-")]
    assert (root / "overlays/m/kustomization.yaml").read_text() == "new: true\n"
