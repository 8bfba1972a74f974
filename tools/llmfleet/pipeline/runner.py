"""One pipeline behind ``validate``, ``lint`` and ``check``: targets → loader (renders each
kustomization once) → validator → the fleet model → rules → a :class:`Report`.

The commands are configurations of :class:`Checker` (check-jsonschema's shape): ``validate``
has a validator and no rules, ``lint`` rules and no validator, ``check`` both plus the fleet
rules across every overlay and the namespace-wide kustomizations.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from llmfleet.infra.errors import UsageError
from llmfleet.infra.findings import Finding, Severity
from llmfleet.model import FleetModel, OverlayModel
from llmfleet.model.k8s import Resource
from llmfleet.model.secrets import secret_values
from llmfleet.pipeline import builtin_checks as checks
from llmfleet.pipeline.config import Config, cache_root, display_path
from llmfleet.pipeline.inputs import KUSTOMIZATION, Loaded, Loader, Target, collect, kustomization_target
from llmfleet.pipeline.report import Report, Subject
from llmfleet.pipeline.validate import locations

if TYPE_CHECKING:
    from llmfleet.pipeline.validate.api_validation import ApiValidator

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
    preset: str = "auto"  # lint rule preset: auto, fleet or foreign (llmfleet.pipeline.lint.presets)
    cache: bool = True
    #: Never download a schema (--offline, or LLMFLEET_OFFLINE=1 in the environment).
    offline: bool = False
    #: Folders rendered under another kustomization's cache key (render_cache.RenderCache).
    render_aliases: dict[Path, tuple[str, dict[str, str]]] = field(default_factory=dict)

    @property
    def is_offline(self) -> bool:
        from llmfleet.pipeline.validate.schemas import offline_from_env

        return self.offline or offline_from_env()


# -- validation --------------------------------------------------------------------------


def kubernetes_version(config: Config, options: Options) -> str:
    version = options.kubernetes_version or config.kubernetes_version
    if not locations.VERSION_RE.match(version):
        raise UsageError(
            f"--kubernetes-version {version!r}: use a full x.y.z version such as 1.33.0 "
            "(the form kubeconform accepts)"
        )
    return version


def schema_locations(config: Config, options: Options) -> list[str]:
    raw = [*options.schema_locations, *config.schema_locations]
    return [config.resolve_location(loc) for loc in dict.fromkeys(raw)]


def choose_validator(options: Options) -> str:
    from llmfleet.pipeline.validate import kubeconform

    if options.validator not in VALIDATORS:
        raise UsageError(f"--validator must be one of {', '.join(VALIDATORS)}")
    if options.validator == "auto":
        # Offline, auto keeps the in-process validator; `--validator kubeconform` also works
        # offline, from the local schema locations only (kubeconform.ordered_locations).
        return "kubeconform" if kubeconform.available() and not options.is_offline else "jsonschema"
    return options.validator


class Validator:
    """Validate resources with the chosen engine; schemas are loaded once per run."""

    def __init__(self, config: Config, options: Options):
        # Imported here, not at start-up: jsonschema takes a few hundred milliseconds to
        # import, which overlaps with the renders the loader has already started.
        from llmfleet.pipeline.validate import schemas

        self.engine = choose_validator(options)
        self.version = kubernetes_version(config, options)
        self.locations = schema_locations(config, options)
        self.ignore_missing = options.ignore_missing_schemas
        self.offline = options.is_offline
        self.root = config.root
        self.store = None
        self.known = None
        #: Kinds already reported as having no schema: once per run, not once per overlay.
        self.reported_missing: set[tuple[str, str]] = set()
        if self.engine == "jsonschema":
            if schemas.pick_bundled_version(self.version) is None:
                raise UsageError(
                    f"--kubernetes-version {self.version}: the bundled schemas cover "
                    f"{', '.join(schemas.bundled_versions())}"
                )

            cache = str(cache_root(config.root) / "schemas")
            self.store = schemas.shared_store(
                self.version, tuple(self.locations), cache, offline=options.is_offline
            )
            from llmfleet.pipeline.validate.valid_cache import ValidCache

            self.known = ValidCache(cache_root(config.root) / "validate" if options.cache else None)
        self.api = self._api_validator(config, options)

    def _api_validator(self, config: Config, options: Options) -> ApiValidator:
        """The checks beyond the schemas (llmfleet.pipeline.validate.api_validation); CRD rules are
        read from the local schema locations only when kubeconform does the schemas."""
        from llmfleet.pipeline.validate import api_validation, schemas

        store = self.store
        if store is None:
            local = tuple(
                loc for loc in self.locations if not loc.startswith(("http://", "https://", "default"))
            )
            store = schemas.shared_store(self.version, local, None, offline=True)
        from llmfleet.pipeline.validate.valid_cache import ValidCache

        namespaces = api_validation.platform_namespaces(config.platform_dirs())
        known = ValidCache(cache_root(config.root) / "validate-rules" if options.cache else None)
        return api_validation.ApiValidator(api_validation.crd_schemas(store), namespaces, known)

    def _display(self, location: str) -> str:
        if location.startswith(("http://", "https://")):
            return location
        return display_path(Path(location), self.root)

    def __call__(self, resources: list[Resource]) -> list[Finding]:
        # Explicit nulls are unset fields to the API server, and a custom resource is
        # validated with its schema's defaults applied (api_validation); after the schemas,
        # the checks of the API server's own code, the CRDs' rules and Pod Security.
        resources = [self.api.as_the_server_sees(r) for r in resources]
        return self._schema_findings(resources) + self.api(resources)

    def _schema_findings(self, resources: list[Resource]) -> list[Finding]:
        from llmfleet.pipeline.validate import jsonschema_validator, kubeconform

        if self.engine == "kubeconform":
            return kubeconform.validate_resources(
                resources,
                self.version,
                self.locations,
                self.ignore_missing,
                offline=self.offline,
                cache=cache_root(self.root) / "schemas",
            )
        assert self.store is not None
        return jsonschema_validator.validate_resources(
            resources, self.store, self.ignore_missing, self.reported_missing, self._display, self.known
        )

    def save(self) -> None:
        """Remember the objects that passed, for the next run."""
        if self.known is not None:
            self.known.save()
        self.api.save()


# -- the pipeline ----------------------------------------------------------------------------


def subjects_of(loaded: Loaded) -> list[Subject]:
    subjects = [Subject(loaded.name, loaded.file)]
    subjects += [
        Subject(loaded.name, r.file, r.kind, r.api_version, r.name, r.namespace) for r in loaded.resources
    ]
    return subjects


def duplicate_objects(loaded: Loaded) -> list[Finding]:
    """Objects of one input with the same group, kind, namespace and name."""
    seen: dict[tuple[str, str, str, str], Resource] = {}
    findings = []
    for res in loaded.resources:
        if not res.name:
            continue
        first = seen.setdefault(res.identity, res)
        if first is not res:
            findings.append(
                res.finding(
                    checks.DUPLICATE_OBJECT,
                    Severity.ERROR,
                    f"{res.ref} is defined twice in this input (first in "
                    f"{first.file}); the second replaces the first when applied",
                    "/metadata/name",
                )
            )
    return findings


def lint_groups(
    reported: list[tuple[Loaded, OverlayModel]], config: Config
) -> list[tuple[OverlayModel, Callable[[Finding], Finding]]]:
    """What the input rules run over, each with the function that names a finding's input.

    A kustomization is its own model.  The files, folders and stdin of one invocation are
    one model, as ``kubectl apply -f a.yaml -f b.yaml`` applies them together: a
    ScaledObject in one file scales the Deployment of another, a Service selects pods
    defined elsewhere, two workloads share one claim.  Each finding is still reported under
    the input its object came from (its file, and the folder or file named on the command
    line), so per-file reporting is unchanged.
    """
    groups: list[tuple[OverlayModel, Callable[[Finding], Finding]]] = []
    loose: list[tuple[Loaded, OverlayModel]] = []
    for loaded, model in reported:
        if loaded.is_kustomization:
            groups.append((model, _same))
        else:
            loose.append((loaded, model))
    if len(loose) == 1:
        groups.append((loose[0][1], _same))
    elif loose:
        owner: dict[str, str] = {}
        for loaded, _ in loose:
            owner.setdefault(loaded.file, loaded.name)
            for res in loaded.resources:
                owner.setdefault(res.file, loaded.name)
        first = loose[0][0].name
        resources = [res for loaded, _ in loose for res in loaded.resources]
        joined = OverlayModel("", resources, config.cluster)

        def named(finding: Finding) -> Finding:
            if finding.overlay:
                return finding
            return replace(finding, overlay=owner.get(finding.file, first))

        groups.append((joined, named))
    return groups


def _same(finding: Finding) -> Finding:
    return finding


class Checker:
    """Load, validate, model and lint a set of targets; return one Report."""

    def __init__(
        self,
        config: Config,
        options: Options,
        *,
        command: str,
        validate: bool,
        lint: bool,
        fleet: bool = False,
    ):
        self.config = config
        self.options = options
        self.command = command
        self.validate = validate
        self.lint = lint
        self.fleet = fleet
        self.rules = None
        if lint:
            from llmfleet.pipeline.lint.engine import RuleSet

            name = config.source.name if config.source else "llmfleet.yaml"
            origin = {
                **dict.fromkeys(config.rule_options, f"{name} lint.rules"),
                **dict.fromkeys(config.enabled_rules, f"{name} lint.enabled-rules"),
                **dict.fromkeys(config.disabled_rules, f"{name} lint.disabled-rules"),
                **dict.fromkeys(options.disabled_rules, "--disable"),
            }
            self.rules = RuleSet.configure(
                config.rule_options,
                [*config.disabled_rules, *options.disabled_rules],
                config.enabled_rules,
                origin,
                options.preset,
            )

    def _loader(self, targets: list[Target]) -> Loader:
        cache = None
        if any(t.kind == KUSTOMIZATION for t in targets):
            from llmfleet.pipeline.render import find_renderer
            from llmfleet.pipeline.render_cache import RenderCache

            cache = RenderCache(
                self.config.root,
                find_renderer(),
                enabled=self.options.cache,
                aliases=self.options.render_aliases,
                max_bytes=self.config.limits.max_input_bytes,
            )
        return Loader(self.config, cache, self.options.jobs)

    def run(
        self,
        targets: list[Target],
        platform: list[Target] | None = None,
        context: list[Target] | None = None,
        quiet: frozenset[str] = frozenset(),
    ) -> Report:
        """``targets`` are reported.  ``platform`` targets are the fleet's namespace-wide part,
        reported unless named in ``quiet``; ``context`` targets (other overlays) are rendered
        only for the fleet rules."""
        platform, context = platform or [], context or []
        report = Report(self.command)
        everything = list(dict.fromkeys([*targets, *platform, *context]))
        loader = self._loader(everything)
        loader.start(everything)
        reported: list[tuple[Loaded, OverlayModel]] = []
        overlay_models: dict[str, OverlayModel] = {}
        platform_resources: list[Resource] = []
        try:
            self.config.check_schema()  # deferred by `check` until the renders run
            validator = Validator(self.config, self.options) if self.validate else None
            for target in everything:
                loaded = loader.load(target)
                # Secret values of every input, so that no report can quote one.
                report.secrets |= secret_values(r.data for r in loaded.resources)
                model = OverlayModel(
                    loaded.name, loaded.resources, self.config.cluster, is_overlay=loaded.is_kustomization
                )
                if target in platform:
                    platform_resources += loaded.resources
                elif loaded.is_kustomization:
                    overlay_models.setdefault(loaded.name, model)
                if target in targets or (target in platform and target.display not in quiet):
                    reported.append((loaded, model))
                    report.inputs.append(loaded.name)
                    report.subjects += subjects_of(loaded)
                    # Validated now, while the renders of the inputs after it go on.
                    report.findings += loaded.findings
                    report.findings += duplicate_objects(loaded)
                    if validator is not None:
                        report.findings += validator(loaded.resources)
        finally:
            loader.close()
        if validator is not None:
            validator.save()
        if self.rules is not None:
            groups = lint_groups(reported, self.config)
            tools = self._tool_runner([model for model, _ in groups])
            if tools is not None:
                tools()
            from llmfleet.pipeline.lint.engine import lint_fleet, lint_model

            for model, owners in groups:
                report.findings += [owners(f) for f in lint_model(model, self.rules)]
            if self.fleet:
                fleet = FleetModel(
                    overlay_models,
                    OverlayModel("platform", platform_resources, self.config.cluster),
                    self.config.cluster,
                    self.config.routes_file,
                    self._committed_routes(),
                )
                shown = set(report.inputs)
                report.findings += [
                    f for f in lint_fleet(fleet, self.rules) if not f.overlay or f.overlay in shown
                ]
        return report

    def _committed_routes(self) -> str | None:
        if not self.config.routes_file:
            return None
        path = self.config.root / self.config.routes_file
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def _tool_runner(self, models: list[OverlayModel]) -> Callable[[], None] | None:
        """Start the rules' external tools (promtool) in the background, while Python
        validates; the returned function waits and attaches the results to the models."""
        assert self.rules is not None
        if "promtool" not in self.rules.tools():
            return None
        from llmfleet.pipeline import promtool

        pool = ThreadPoolExecutor(max_workers=1)
        future = pool.submit(
            promtool.results_for,
            models,
            cache_root(self.config.root) / "promtool",
            self.config.limits.promtool_timeout_s,
        )

        def finish() -> None:
            try:
                results = future.result()
            finally:
                pool.shutdown(wait=True)
            for model in models:
                model.tool_results["promtool"] = results

        return finish


# -- the three commands ------------------------------------------------------------------------


def run_validate(config: Config, args: list[str], options: Options) -> Report:
    return Checker(config, options, command="validate", validate=True, lint=False).run(collect(config, args))


def run_lint(config: Config, args: list[str], options: Options) -> Report:
    return Checker(config, options, command="lint", validate=False, lint=True).run(collect(config, args))


def run_check(
    config: Config, overlays: list[str], options: Options, changed_since: str | None = None
) -> Report:
    """Render, validate and lint every overlay (and the namespace-wide kustomizations), then
    run the fleet rules across them.  With ``changed_since`` (a git revision) only the overlays
    and platform kustomizations affected since then are checked and reported
    (``llmfleet.pipeline.affected``); the others are still rendered as context for the fleet rules."""
    targets = collect(config, overlays)
    for target in targets:
        if target.kind != KUSTOMIZATION:
            raise UsageError(
                f"{target.display}: check takes overlay folders (with a kustomization); "
                "use `llmfleet lint` or `llmfleet validate` for files"
            )
    platform = [Target(KUSTOMIZATION, d, display_path(d, config.root)) for d in config.platform_dirs()]
    quiet: frozenset[str] = frozenset()
    if changed_since is not None:
        from llmfleet.pipeline.affected import affected_selection

        targets, affected_platform = affected_selection(config, targets, changed_since)
        quiet = frozenset(t.display for t in platform if t.display not in affected_platform)
    selected = {t.display for t in targets}
    context = [
        kustomization_target(config, d)
        for d in config.overlay_dirs()
        if config.overlay_name(d) not in selected
    ]
    checker = Checker(config, options, command="check", validate=True, lint=True, fleet=True)
    return checker.run(targets, platform, context, quiet)


def run_check_staged(config: Config, name: str, directory: Path, options: Options) -> Report:
    """``check`` of an overlay written to ``directory`` but not yet in place, as overlay
    ``name``: it replaces ``overlays/<name>`` (if any) in the fleet (``new-model``)."""
    target = Target(KUSTOMIZATION, directory, name)
    platform = [Target(KUSTOMIZATION, d, display_path(d, config.root)) for d in config.platform_dirs()]
    context = [
        kustomization_target(config, d) for d in config.overlay_dirs() if config.overlay_name(d) != name
    ]
    checker = Checker(config, options, command="check", validate=True, lint=True, fleet=True)
    return checker.run([target], platform, context)


def iter_overlay_models(
    config: Config,
    jobs: int | None = None,
    directories: list[Path] | None = None,
    named: list[tuple[str, Path]] | None = None,
    render_aliases: dict[Path, tuple[str, dict[str, str]]] | None = None,
) -> Iterator[tuple[Loaded, OverlayModel]]:
    """Each overlay rendered (through the render cache) and modelled: for the features
    (cost, gateway-routes, diff summaries) that need the model without the checks.
    ``named`` gives the overlays as (name, folder) pairs instead (a staged overlay)."""
    from llmfleet.pipeline.render import find_renderer
    from llmfleet.pipeline.render_cache import RenderCache

    if named is not None:
        targets = [Target(KUSTOMIZATION, d, n) for n, d in named]
    else:
        dirs = directories if directories is not None else config.overlay_dirs()
        targets = [kustomization_target(config, d) for d in dirs]
    loader = Loader(
        config,
        RenderCache(
            config.root,
            find_renderer(),
            enabled=os.environ.get("LLMFLEET_NO_CACHE") != "1",
            aliases=render_aliases,
            max_bytes=config.limits.max_input_bytes,
        ),
        jobs,
    )
    try:
        for loaded in loader.load_all(targets):
            yield loaded, OverlayModel(loaded.name, loaded.resources, config.cluster, is_overlay=True)
    finally:
        loader.close()
