"""Plain functions behind ``validate``, ``lint`` and ``check``: collect inputs, render,
validate, lint, and return one Report.  The CLI only fills :class:`Options` and prints."""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from llmfleet import render as render_mod
from llmfleet.config import Config, find_kustomization, resolve_overlay_arg
from llmfleet.errors import UsageError
from llmfleet.findings import Finding, Severity
from llmfleet.lint.context import FleetContext, LintContext
from llmfleet.lint.engine import lint_fleet, lint_input, prepare
from llmfleet.manifests import Resource, load_bytes
from llmfleet.report import Report, Subject
from llmfleet.validate import locations

RENDER_RULE = "render"
INPUT_RULE = "input"
YAML_SUFFIXES = (".yaml", ".yml", ".json")
VALIDATORS = ("auto", "jsonschema", "kubeconform")


@dataclass
class Options:
    validator: str = "auto"
    kubernetes_version: str | None = None
    schema_locations: list[str] = field(default_factory=list)
    ignore_missing_schemas: bool = False
    strict: bool = False
    jobs: int | None = None
    verbose: bool = False
    disabled_rules: list[str] = field(default_factory=list)
    #: Never download a schema (--offline, or LLMFLEET_OFFLINE=1 in the environment).
    offline: bool = False

    @property
    def is_offline(self) -> bool:
        from llmfleet.validate.schemas import offline_from_env
        return self.offline or offline_from_env()


@dataclass
class Loaded:
    """One input after loading: its resources and what went wrong loading it."""

    name: str                 # overlay name, or the file's display path
    file: str                 # display path of the kustomization or file
    resources: list[Resource]
    findings: list[Finding]
    is_overlay: bool = False


@dataclass(frozen=True)
class Target:
    kind: str                 # "overlay" | "file" | "stdin"
    path: Path | None
    display: str


def display_path(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def overlay_name(directory: Path, config: Config) -> str:
    try:
        directory.resolve().relative_to(config.overlays_path.resolve())
        return directory.name
    except ValueError:
        return display_path(directory, config.root)


def collect_targets(config: Config, targets: list[str], default_all: bool = True) -> list[Target]:
    """Expand CLI targets: kustomization folders, YAML files, folders of YAML, ``-``."""
    if not targets:
        if not default_all:
            return [Target("stdin", None, "<stdin>")]
        overlays = config.overlay_dirs()
        if not overlays:
            raise UsageError(f"no overlays found under {display_path(config.overlays_path, config.root)}/")
        return [Target("overlay", d, overlay_name(d, config)) for d in overlays]
    out: list[Target] = []
    for raw in targets:
        if raw == "-":
            out.append(Target("stdin", None, "<stdin>"))
            continue
        path = Path(raw)
        if not path.exists():
            if path.suffix in YAML_SUFFIXES:
                raise UsageError(f"{raw}: no such file or directory")
            # A bare overlay name (or overlays/<name> from another folder); else a clear error.
            path = resolve_overlay_arg(config, raw)
        if path.is_dir():
            if find_kustomization(path):
                out.append(Target("overlay", path, overlay_name(path, config)))
                continue
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in YAML_SUFFIXES)
            if not files:
                raise UsageError(f"{raw}: a folder with no kustomization and no YAML files")
            out.extend(Target("file", f, display_path(f, config.root)) for f in files)
        else:
            out.append(Target("file", path, display_path(path, config.root)))
    return out


def _load_file(target: Target) -> Loaded:
    if target.kind == "stdin":
        raw = sys.stdin.buffer.read()
    else:
        try:
            raw = target.path.read_bytes()
        except OSError as exc:
            return Loaded(target.display, target.display, [],
                          [Finding(INPUT_RULE, Severity.ERROR, f"cannot read: {exc.strerror}",
                                   file=target.display)])
    resources, findings = load_bytes(raw, target.display)
    return Loaded(target.display, target.display, resources, findings)


def _load_rendered(target: Target, rendered: render_mod.Rendered, config: Config) -> Loaded:
    kustomization = find_kustomization(target.path)
    file = display_path(kustomization, config.root) if kustomization else target.display
    if not rendered.ok:
        return Loaded(target.display, file, [],
                      [Finding(RENDER_RULE, Severity.ERROR,
                               f"kustomize build failed: {rendered.error}",
                               overlay=target.display, file=file)], is_overlay=True)
    resources, findings = load_bytes(rendered.text.encode(), file, overlay=target.display)
    from llmfleet.sources import lazy_locator
    source_dir = display_path(target.path, config.root)
    for res in resources:
        # Lines of the rendered stream mean nothing in the kustomization file: findings are
        # traced to the source file and line instead (llmfleet.sources), else the kustomization.
        res.lines = {}
        res.locate = lazy_locator(config.root, source_dir, res.data)
    return Loaded(target.display, file, resources, findings, is_overlay=True)


def load_targets(config: Config, targets: list[Target], jobs: int | None = None) -> Iterator[Loaded]:
    """Start rendering every overlay target now, in the background, and return an iterator
    that yields each target loaded, in order."""
    overlay_targets = [t for t in targets if t.kind == "overlay"]
    if not overlay_targets:
        return (_load_file(t) for t in targets)
    renderer = render_mod.find_renderer()
    workers = jobs or min(len(overlay_targets), (os.cpu_count() or 2) * 2)
    pool = ThreadPoolExecutor(max_workers=workers)
    futures = {t: pool.submit(render_mod.render, t.path, renderer) for t in overlay_targets}

    def loaded() -> Iterator[Loaded]:
        try:
            for target in targets:
                if target.kind == "overlay":
                    yield _load_rendered(target, futures[target].result(), config)
                else:
                    yield _load_file(target)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    return loaded()


def subjects_of(loaded: Loaded) -> list[Subject]:
    subjects = [Subject(loaded.name, loaded.file)]
    subjects += [Subject(loaded.name, r.file, r.kind, r.api_version, r.name, r.namespace)
                 for r in loaded.resources]
    return subjects


# -- validation --------------------------------------------------------------------------

def kubernetes_version(config: Config, options: Options) -> str:
    version = options.kubernetes_version or config.kubernetes_version
    if not locations.VERSION_RE.match(version):
        raise UsageError(f"--kubernetes-version {version!r}: use a full x.y.z version such as 1.33.0 "
                         "(the form kubeconform accepts)")
    return version


def schema_locations(config: Config, options: Options) -> list[str]:
    raw = [*options.schema_locations, *config.schema_locations]
    return [config.resolve_location(loc) for loc in dict.fromkeys(raw)]


def choose_validator(options: Options) -> str:
    from llmfleet.validate import kubeconform
    if options.validator not in VALIDATORS:
        raise UsageError(f"--validator must be one of {', '.join(VALIDATORS)}")
    if options.validator == "auto":
        # kubeconform reads the built-in kinds' schemas from the network: offline, the
        # in-process validator with kubernetes-validate's bundled schemas is the one that works.
        return "kubeconform" if kubeconform.available() and not options.is_offline else "jsonschema"
    if options.validator == "kubeconform" and options.is_offline:
        raise UsageError("--validator kubeconform cannot run offline (it downloads the built-in "
                         "Kubernetes schemas); use --validator jsonschema, or drop --offline / "
                         "LLMFLEET_OFFLINE")
    return options.validator


class Validator:
    """Validate resources with the chosen engine; schemas are loaded once per run."""

    def __init__(self, config: Config, options: Options):
        # Imported here, not at start-up: jsonschema takes a few hundred milliseconds to
        # import, which overlaps with the renders that load_targets has already started.
        from llmfleet.validate import schemas
        self.engine = choose_validator(options)
        self.version = kubernetes_version(config, options)
        self.locations = schema_locations(config, options)
        self.ignore_missing = options.ignore_missing_schemas
        self.root = config.root
        self.store = None
        #: Kinds already reported as having no schema: once per run, not once per overlay.
        self.reported_missing: set[tuple[str, str]] = set()
        if self.engine == "jsonschema":
            if schemas.pick_bundled_version(self.version) is None:
                raise UsageError(f"--kubernetes-version {self.version}: the bundled schemas cover "
                                 f"{', '.join(schemas.bundled_versions())}")
            cache = str(config.root / ".llmfleet-cache" / "schemas")
            self.store = schemas.shared_store(self.version, tuple(self.locations), cache,
                                              offline=options.is_offline)

    def _display(self, location: str) -> str:
        if location.startswith(("http://", "https://")):
            return location
        return display_path(Path(location), self.root)

    def __call__(self, resources: list[Resource]) -> list[Finding]:
        from llmfleet.validate import jsonschema_validator, kubeconform
        if self.engine == "kubeconform":
            return kubeconform.validate_resources(resources, self.version, self.locations,
                                                  self.ignore_missing)
        return jsonschema_validator.validate_resources(resources, self.store, self.ignore_missing,
                                                       self.reported_missing, self._display)


# -- the three commands --------------------------------------------------------------------

def run_validate(config: Config, targets: list[str], options: Options) -> Report:
    loader = load_targets(config, collect_targets(config, targets), options.jobs)
    validator = Validator(config, options)
    report = Report("validate")
    for loaded in loader:
        report.inputs.append(loaded.name)
        report.subjects += subjects_of(loaded)
        report.findings += loaded.findings
        report.findings += validator(loaded.resources)
    return report


def run_lint(config: Config, targets: list[str], options: Options) -> Report:
    report = Report("lint")
    disabled = [*config.lint.disabled_rules, *options.disabled_rules]
    inputs = []
    for loaded in load_targets(config, collect_targets(config, targets), options.jobs):
        report.inputs.append(loaded.name)
        report.subjects += subjects_of(loaded)
        report.findings += loaded.findings
        inputs.append(LintContext(loaded.resources, config.lint,
                                  name=loaded.name if loaded.is_overlay else ""))
    prepare(inputs, disabled)
    for ctx in inputs:
        report.findings += lint_input(ctx, disabled=disabled)
    return report


def run_check(config: Config, overlays: list[str], options: Options,
              changed_since: str | None = None) -> Report:
    """Render, validate and lint every overlay (and the namespace-wide kustomizations),
    then run the fleet rules across them.  With ``changed_since`` (a git revision) only the
    overlays and platform kustomizations affected since then are checked and reported
    (``llmfleet.affected``); the others are still rendered as context for the fleet rules."""
    disabled = [*config.lint.disabled_rules, *options.disabled_rules]
    targets = collect_targets(config, overlays)
    for target in targets:
        if target.kind != "overlay":
            raise UsageError(f"{target.display}: check takes overlay folders (with a kustomization); "
                             "use `llmfleet lint` or `llmfleet validate` for files")
    affected_platform = None
    if changed_since is not None:
        from llmfleet.affected import affected_selection
        targets, affected_platform = affected_selection(config, targets, changed_since)
    platform_targets = [Target("overlay", d, display_path(d, config.root))
                        for d in config.platform_dirs()]
    selected = {t.display for t in targets}
    # Fleet rules (GPU quota, duplicate models) need every overlay even when only some are
    # checked: the others are rendered for context and their own findings are not reported.
    context_only = [Target("overlay", d, overlay_name(d, config)) for d in config.overlay_dirs()
                    if overlay_name(d, config) not in selected]
    platform_names = {t.display for t in platform_targets}
    reported_platform = platform_names if affected_platform is None else platform_names & affected_platform
    report = Report("check")
    overlay_contexts: dict[str, LintContext] = {}
    platform_resources: list[Resource] = []
    loader = load_targets(config, [*targets, *platform_targets, *context_only], options.jobs)
    validator = Validator(config, options)   # while the renders run

    reported: list[tuple[Loaded, LintContext]] = []
    for loaded in loader:
        ctx = LintContext(loaded.resources, config.lint, name=loaded.name)
        if loaded.name in platform_names:
            platform_resources += loaded.resources
        else:
            overlay_contexts[loaded.name] = ctx
        if loaded.name in selected or loaded.name in reported_platform:
            reported.append((loaded, ctx))
            report.inputs.append(loaded.name)
            report.subjects += subjects_of(loaded)
    # The rules' batched external work (one promtool process) runs while Python validates.
    with ThreadPoolExecutor(max_workers=1) as background:
        prepared = background.submit(prepare, [ctx for _, ctx in reported], disabled)
        for loaded, _ in reported:
            report.findings += [*loaded.findings, *validator(loaded.resources)]
        prepared.result()
    for _, ctx in reported:
        report.findings += lint_input(ctx, disabled=disabled)
    fleet = FleetContext(overlay_contexts, LintContext(platform_resources, config.lint, "platform"),
                         config.lint, root=str(config.root))
    report.findings += [f for f in lint_fleet(fleet, disabled=disabled)
                        if not f.overlay or f.overlay in selected or f.overlay in reported_platform]
    return report
