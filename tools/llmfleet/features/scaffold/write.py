"""``new-model``: size a model, write ``overlays/<name>/`` from templates, check it.

The overlay has the structure of the hand-written ones (``overlays/llama-3-1-8b-instruct``,
``mistral-7b-instruct-v0-3``, ``llama-3-1-70b-instruct``): the same base, the GPU component
of the chosen class, ``components/tensor-parallel`` when TP > 1, the model cache, API key,
network policy, egress policy and PDB components, ``serve.yaml`` in the generated ConfigMap,
named patches for the replica range, the GPU count, CPU/memory, the startup window and the
cache size where the model needs them, and always the KEDA thresholds derived from the
sizing (``patch-autoscaling-targets.yaml``, :mod:`llmfleet.model.autoscaling`).  Output is deterministic: the same options give the same
bytes.

Writing is a transaction (:mod:`llmfleet.infra.transaction`): under the repository's write lock,
the files go to ``overlays/.tmp-<name>-XXXX``, are checked there as overlay ``<name>``, the
gateway routes are regenerated with them into a temporary file, and only then is everything
renamed into place (with ``--force``, the old overlay aside first, deleted at the end).  On
a failed check, an error or a signal nothing is left changed; after a SIGKILL the next
``new-model`` or ``gateway-routes`` run restores or completes it and says which."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from llmfleet.catalog import planning
from llmfleet.features.scaffold import pricing as scaffold_pricing
from llmfleet.features.scaffold.plan import (
    NewModelOptions,
    Scaffold,
    _display,
    check_served_name_is_free,
    describe_cost,
)
from llmfleet.features.scaffold.prepare import overlay_files, prepare
from llmfleet.infra import exitcodes
from llmfleet.infra.errors import UsageError


def write_overlay(
    overlays_dir: Path,
    name: str,
    files: dict[str, str],
    force: bool,
    after: Callable[[Path], bool] | None = None,
) -> Path:
    """Write ``files`` as ``overlays_dir/name`` as one transaction, without the routes (the
    module docstring; ``run_new_model`` is the whole command).

    ``after(staged)`` runs on the staged overlay before anything is renamed into place; when
    it returns False nothing is written.
    """
    from llmfleet.infra.transaction import OverlayTransaction

    target = overlays_dir / name
    if target.exists() and not force:
        raise UsageError(f"overlay {target} already exists; pass --force to replace it")
    txn = OverlayTransaction(overlays_dir.parent, overlays_dir, name)
    try:
        staged = txn.stage(files)
        if after is not None and not after(staged):
            txn.abort()
            return target
        txn.commit()
    except BaseException:
        txn.abort()
        raise
    return target


def run_new_model(config, options: NewModelOptions, echo: Callable[..., None]) -> int:
    """The whole command; returns the exit code.  ``echo(text, err=False)`` prints."""
    root = config.root
    overlays_dir = config.overlays_path
    shapes = None
    cluster = getattr(config, "cluster", None)
    if cluster is not None and cluster.node_shapes:
        from llmfleet.catalog.node_shapes import cluster_shapes

        shapes = cluster_shapes(cluster.node_shapes)
    sc = prepare(options, overlays_dir, root, shapes, scaffold_pricing.cluster_offer(config))
    rel = _display(overlays_dir / sc.name, root)
    echo(f"new-model {sc.model.id} -> {rel}/")
    for line in planning.describe(sc.plan) + describe_cost(sc):
        echo("  " + line)
    if sc.model.gated:
        echo(
            f"  gated      {sc.model.id} is gated on Hugging Face: the Secret hf-token must hold a "
            "token with access (docs/deploying.md)"
        )
    if sc.multinode:
        from llmfleet.features.scaffold import multinode as scaffold_multinode

        for note in scaffold_multinode.notes(sc, root):
            echo(f"  note       {note}")
    if options.dry_run:
        for filename in sorted(sc.files):
            echo(f"--- {rel}/{filename}")
            echo(sc.files[filename], nl=False)
        return _dry_run_check(config, sc, options, rel, echo)

    from llmfleet.infra.transaction import OverlayTransaction, recover, repository_lock

    with repository_lock(root, config.limits.lock_timeout_s, echo, f"writing {rel}/"):
        for note in recover(root, overlays_dir, _routes_file(config)):
            echo(f"llmfleet: recovered: {note}", err=True)
        if (overlays_dir / sc.name).exists() and not options.force:  # written meanwhile
            raise UsageError(f"overlay {rel} already exists; pass --force to replace it")
        check_served_name_is_free(sc, overlays_dir, options.force)  # another run's, meanwhile
        txn = OverlayTransaction(root, overlays_dir, sc.name, routes_file=_routes_file(config))
        try:
            return _write_checked(config, options, sc, txn, echo)
        except KeyboardInterrupt as exc:
            txn.abort()
            name = getattr(exc, "signal_name", "")
            echo(f"llmfleet: interrupted{f' ({name})' if name else ''}; {txn.describe_interrupt()}", err=True)
            exc.llmfleet_reported = True  # type: ignore[attr-defined]
            raise
        except BaseException:
            txn.abort()
            raise


def _routes_file(config) -> str:
    """The gateway routes file new-model regenerates ("" when the repository has none)."""
    from llmfleet.features.gateway_routes import routes_path

    return routes_path(config)


def _write_checked(config, options: NewModelOptions, sc: Scaffold, txn, echo) -> int:
    """Stage the overlay, check it, stage the routes, rename everything into place."""
    from llmfleet.features.gateway_routes import expected_text
    from llmfleet.infra.transaction import fault_point

    rel = _display(config.overlays_path / sc.name, config.root)
    s = sc.plan.sizing
    staged = txn.stage(sc.files)
    outcome: dict = {}
    if options.check:
        fault_point("checking")
        outcome = _check(config, staged, sc.name, sc.files)
        if outcome["own_errors"]:
            txn.abort()
            echo(outcome["text"], err=True, nl=False)
            echo(
                f"llmfleet: error: the generated overlay fails `llmfleet check {rel}` "
                f"({len(outcome['own_errors'])} error(s) above); nothing was written",
                err=True,
            )
            return exitcodes.FINDINGS
    routes_line = ""
    if txn.routes_file:
        try:
            text, count = expected_text(
                config,
                staged=(sc.name, staged),
                render_aliases=render_aliases(config, staged, sc.name, sc.files),
            )
        except UsageError as exc:
            txn.abort()
            echo(
                f"llmfleet: error: cannot regenerate {txn.routes_file} with the new overlay: {exc}; "
                f"nothing was written",
                err=True,
            )
            return exitcodes.FINDINGS
        txn.stage_routes(text)
        routes_line = (
            f"routes     wrote {txn.routes_file} ({text.count('- name: ')} models from {count} overlays)"
        )
    txn.commit()
    if not options.check:
        echo(f"wrote {rel}/ ({', '.join(sorted(sc.files))}); check skipped")
        if routes_line:
            echo(routes_line)
        return exitcodes.OK
    echo(f"wrote {rel}/ ({', '.join(sorted(sc.files))})")
    if routes_line:
        echo(routes_line)
    report = outcome["report"]
    summary = report.summary()
    if outcome["other_errors"]:
        echo(outcome["text"], err=True, nl=False)
        echo(
            f"llmfleet: the overlay is written and passes its own checks, but `llmfleet check {rel}` "
            f"fails on fleet-wide findings ({len(outcome['other_errors'])} error(s) above, e.g. the "
            f"GPU quota: this model adds up to {sc.max_replicas} x {s.gpus} = "
            f"{sc.max_replicas * s.gpus} GPUs); fix them before merging",
            err=True,
        )
        return exitcodes.FINDINGS
    if summary["warnings"]:
        echo(outcome["text"], nl=False)
    echo(
        f"check      llmfleet check {rel}: passed ({summary['errors']} errors, "
        f"{summary['warnings']} warnings)"
    )
    return exitcodes.OK


def _dry_run_check(config, sc: Scaffold, options: NewModelOptions, rel: str, echo) -> int:
    """The checks of the real run on the files it would write, and the exit code it would
    give: `llmfleet check` of the overlay, rendered from a temporary folder outside the
    repository under the overlay's own name, with the other overlays as context."""
    if not options.check:
        echo("dry run: nothing written; check skipped")
        return exitcodes.OK
    outcome = check_files(config, sc)
    if outcome["own_errors"]:
        echo(outcome["text"], err=True, nl=False)
        echo(
            f"llmfleet: error: dry run: the generated overlay would fail `llmfleet check {rel}` "
            f"({len(outcome['own_errors'])} error(s) above); nothing written",
            err=True,
        )
        return exitcodes.FINDINGS
    if outcome["other_errors"]:
        echo(outcome["text"], err=True, nl=False)
        echo(
            f"llmfleet: dry run: `llmfleet check {rel}` would fail on fleet-wide findings "
            f"({len(outcome['other_errors'])} error(s) above); nothing written",
            err=True,
        )
        return exitcodes.FINDINGS
    summary = outcome["report"].summary()
    echo(
        f"check      llmfleet check {rel} (dry run): passed ({summary['errors']} errors, "
        f"{summary['warnings']} warnings)"
    )
    echo("dry run: nothing written")
    return exitcodes.OK


def check_files(config, sc: Scaffold) -> dict:
    """`llmfleet check` of an overlay that is not written (``--dry-run``): its files rendered
    into a temporary folder named like the overlay, outside the repository (the paths to
    base/ and components/ made relative to it), checked as :func:`_check` checks a staged
    overlay, so that the dry run exits as the real run would."""
    with tempfile.TemporaryDirectory(prefix="llmfleet-dry-run-") as tmp:
        folder = Path(tmp) / sc.name
        folder.mkdir()
        for filename, text in overlay_files(sc, folder, config.root).items():
            (folder / filename).write_text(text, encoding="utf-8")
        return _check(config, folder, sc.name, sc.files)


def render_aliases(
    config, folder: Path, name: str, files: dict[str, str] | None
) -> dict[Path, tuple[str, dict[str, str]]]:
    """``folder`` (a staged or temporary copy of ``files``) rendered under the cache key of
    ``overlays/<name>`` written with ``files`` (llmfleet.pipeline.render_cache)."""
    if files is None:
        return {}
    try:
        final = (config.overlays_path / name).resolve().relative_to(config.root.resolve()).as_posix()
    except ValueError:
        return {}
    return {folder: (final, files)}


def _check(config, target: Path, name: str, files: dict[str, str] | None = None) -> dict:
    """``llmfleet check`` of the overlay staged in ``target`` as overlay ``name``: its own
    errors (the new overlay cannot be written) and the fleet's (it is written, exit 1).
    With ``files`` (the overlay's files as written in ``overlays/<name>/``), the render is
    cached under the written overlay's key: the one that measured the names serves it."""
    from dataclasses import replace

    from llmfleet.infra.findings import Severity
    from llmfleet.pipeline.reporters import REPORTERS
    from llmfleet.pipeline.runner import Options, run_check_staged

    options = Options(render_aliases=render_aliases(config, target, name, files))
    report = run_check_staged(config, name, target, options)
    staged_rel = _display(target, config.root)
    final_rel = _display(config.overlays_path / name, config.root)
    # The gateway's routes are regenerated with the overlay; findings name its final place.
    report.findings = [
        replace(f, file=final_rel + f.file[len(staged_rel) :]) if f.file.startswith(staged_rel + "/") else f
        for f in report.findings
        if f.rule != "gateway-routes-stale"
    ]
    errors = [f for f in report.findings if f.severity == Severity.ERROR]
    # Serving a model another overlay serves is this overlay's error, whichever of the two
    # the fleet rule names (two runs for the same model under different names).
    own = [
        f
        for f in errors
        if f.overlay == name or (f.rule == "fleet-duplicate-model" and f"overlay {name!r}" in f.message)
    ]
    others = [f for f in errors if f not in own]
    return {"report": report, "own_errors": own, "other_errors": others, "text": REPORTERS["text"](report)}
