"""The rendered difference of overlays between a base revision and the working tree.

The base is rendered from a temporary ``git worktree add --detach`` of REF (always removed;
the working tree is never touched).  Objects are matched on their identity: API group,
kind, namespace and name, where the kustomize hash suffix of a generated ConfigMap or
Secret name is left out (so a changed serve.yaml is one changed ConfigMap, not a removed
and an added one; the suffixes are still shown).  Changed objects get a unified diff of
their YAML.
"""

from __future__ import annotations

import difflib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from llmfleet.features.diff.simulation import SpikeComparison, compare_spike, figures, text_lines
from llmfleet.infra.errors import UsageError
from llmfleet.model import ClusterSettings, OverlayModel
from llmfleet.model.k8s import HASH_SUFFIX, HASHED_KINDS, Resource, as_dict
from llmfleet.pipeline import render as render_mod
from llmfleet.pipeline.builtin_checks import EMPTY_INPUT
from llmfleet.pipeline.config import find_kustomization
from llmfleet.pipeline.manifests import load_text
from llmfleet.pipeline.redact import REDACTED, redact_pair, scrub_text  # noqa: F401  (REDACTED re-exported)
from llmfleet.pipeline.render_cache import RenderCache


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def identity(obj: dict) -> tuple[str, str, str, str]:
    meta = as_dict(obj.get("metadata"))
    name = str(meta.get("name") or "")
    kind = str(obj.get("kind") or "")
    if kind in HASHED_KINDS:
        name = HASH_SUFFIX.sub("", name)
    return (_group(str(obj.get("apiVersion") or "")), kind, str(meta.get("namespace") or ""), name)


def label(obj: dict | None) -> str:
    obj = obj or {}
    meta = as_dict(obj.get("metadata"))
    ns = f"{meta.get('namespace')}/" if meta.get("namespace") else ""
    return f"{obj.get('kind')} {ns}{meta.get('name')}"


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings (a ConfigMap's serve.yaml, a PromQL expr) as literal blocks, so a
    diff shows their lines as they are written, not folded into a quoted scalar with a
    blank line per newline.  PyYAML falls back to a quoted style when a string cannot be a
    block (trailing spaces, control characters)."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _represent_str)


def dump(obj: dict) -> str:
    return yaml.dump(
        obj, Dumper=_BlockDumper, sort_keys=False, default_flow_style=False, width=1000, allow_unicode=True
    )


@dataclass
class Side:
    """One overlay rendered at one revision."""

    exists: bool
    objects: list[dict] = field(default_factory=list)
    error: str = ""


@dataclass
class Change:
    status: str  # "added" | "removed" | "changed"
    before: dict | None
    after: dict | None
    diff: str = ""

    @property
    def label(self) -> str:
        if self.before is not None and self.after is not None:
            old, new = label(self.before), label(self.after)
            return old if old == new else f"{old} → {new.split(' ', 1)[1]}"
        return label(self.after if self.after is not None else self.before)


@dataclass
class OverlayDiff:
    name: str
    path: str
    before: Side
    after: Side
    changes: list[Change]
    summary: str = ""
    #: The simulated response to the default spike, before and after (llmfleet.features.diff.simulation).
    spike: SpikeComparison | None = None

    @property
    def status(self) -> str:
        if not self.before.exists:
            return "added"
        if not self.after.exists:
            return "removed"
        return "changed" if self.changes or self.before.error != self.after.error else "unchanged"

    def counts(self) -> dict[str, int]:
        out = {"added": 0, "removed": 0, "changed": 0}
        for c in self.changes:
            out[c.status] += 1
        return out


def render_side(root: Path, rel: str, cache: RenderCache) -> Side:
    directory = root / rel
    if not directory.is_dir() or find_kustomization(directory) is None:
        return Side(False)
    rendered = cache.render(directory)
    if not rendered.ok:
        return Side(True, [], scrub_text(rendered.error))  # kustomize may quote a literal
    # The loader's limits (depth, aliases) hold here too: a document it refuses is reported.
    resources, problems = load_text(rendered.text, "<rendered>")
    problems = [p for p in problems if p.rule != EMPTY_INPUT]  # an overlay may render nothing
    if problems:
        return Side(
            True,
            [],
            "rendered output cannot be read: "
            + "; ".join(f"line {p.line}: {p.message}" for p in problems[:3]),
        )
    return Side(True, [r.data for r in resources])


def compare(before: list[dict], after: list[dict]) -> list[Change]:
    old = {identity(o): o for o in before}
    new = {identity(o): o for o in after}
    changes: list[Change] = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if a is None:
            changes.append(Change("added", None, b, _udiff(None, b)))
        elif b is None:
            changes.append(Change("removed", a, None, _udiff(a, None)))
        elif a != b:
            changes.append(Change("changed", a, b, _udiff(a, b)))
    return changes


def _udiff(a: dict | None, b: dict | None, context: int = 3) -> str:
    # Secret values never reach the diff (llmfleet.pipeline.redact): a Secret's keys are shown, each
    # value as <redacted>, and <redacted, changed> on the new side where it changed.
    shown_a, shown_b = redact_pair(a, b)
    old = dump(shown_a).splitlines(keepends=True) if shown_a is not None else []
    new = dump(shown_b).splitlines(keepends=True) if shown_b is not None else []
    name = label(b if b is not None else a)
    lines = difflib.unified_diff(
        old,
        new,
        f"a/{name}" if a is not None else "/dev/null",
        f"b/{name}" if b is not None else "/dev/null",
        n=context,
    )
    text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    if not text and a is not None and b is not None and a != b:
        text = f"# {name}: secret values changed (not shown)\n"
    return text


# -- the one-line summary: GPUs (and cost) at max scale -------------------------------------


def max_scale(objects: list[dict], cluster: ClusterSettings | None = None) -> tuple[int | None, float | None]:
    """GPUs at maximum scale and USD per day at it, from the fleet model of the rendered
    objects (``OverlayModel.gpus``/``price_per_hour``: the one definition); None when a
    replica count, class or price is unknown."""
    resources = [Resource(o, "<rendered>", i) for i, o in enumerate(objects)]
    model = OverlayModel("", resources, cluster)
    gpus = model.gpus("max")
    price = model.price_per_hour("max")
    return gpus, (price * 24 if price is not None else None)


def _num(x: float | None) -> str:
    return "unknown" if x is None else f"{x:g}"


def summarize(d: OverlayDiff, cluster: ClusterSettings | None = None) -> str:
    c = d.counts()
    parts = [f"{c['added']} added, {c['removed']} removed, {c['changed']} changed"]
    if d.before.error or d.after.error:
        parts.append(
            "does not build "
            + (
                "before"
                if d.before.error and not d.after.error
                else "after"
                if d.after.error and not d.before.error
                else "before and after"
            )
        )
    g0, cost0 = max_scale(d.before.objects, cluster) if d.before.exists else (0, 0.0)
    g1, cost1 = max_scale(d.after.objects, cluster) if d.after.exists else (0, 0.0)
    if g0 != g1:
        parts.append(f"GPUs at max scale {_num(g0)} → {_num(g1)}")
    else:
        parts.append(f"GPUs at max scale {_num(g1)} (unchanged)")
    if cost0 is not None and cost1 is not None and (g0 or g1):
        delta = cost1 - cost0
        sign = "+" if delta >= 0 else "-"
        parts.append(f"cost at max scale ${cost0:,.0f} → ${cost1:,.0f}/day ({sign}${abs(delta):,.0f})")
    return "; ".join(parts)


def diff_overlays(
    base_root: Path,
    head_root: Path,
    overlays: list[tuple[str, str]],
    jobs: int | None = None,
    cluster: ClusterSettings | None = None,
    simulate: bool = True,
    use_cache: bool = True,
) -> list[OverlayDiff]:
    """``overlays`` is ``[(name, folder relative to the repository root)]``.  With
    ``simulate``, each changed overlay's response to the default spike is simulated on both
    sides."""
    if not overlays:
        return []
    renderer = render_mod.find_renderer()
    # Both sides read and fill the working tree's render cache (keys are relative to a root).
    head_cache = RenderCache(head_root, renderer, enabled=use_cache)
    base_cache = RenderCache(base_root, renderer, enabled=use_cache, cache_of=head_root)
    jobs = jobs or min(2 * len(overlays), 16)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        before = [pool.submit(render_side, base_root, rel, base_cache) for _, rel in overlays]
        after = [pool.submit(render_side, head_root, rel, head_cache) for _, rel in overlays]
        out = []
        for (name, rel), b, a in zip(overlays, before, after):
            sb, sa = b.result(), a.result()
            if not sb.exists and not sa.exists:
                raise UsageError(f"{rel}: no kustomization at the base revision nor in the working tree")
            d = OverlayDiff(name, rel, sb, sa, compare(sb.objects, sa.objects))
            d.summary = summarize(d, cluster)
            if simulate and d.status != "unchanged":
                d.spike = compare_spike(
                    sb.objects if sb.exists and not sb.error else None,
                    sa.objects if sa.exists and not sa.error else None,
                    cluster,
                    base_root / rel,
                    head_root / rel,
                )
            out.append(d)
    return out


# -- output ---------------------------------------------------------------------------------

MARKER = "<!-- llmfleet-diff -->"


def render_text(diffs: list[OverlayDiff], base: str) -> str:
    out = []
    if not diffs:
        return f"no overlay affected since {base}\n"
    for d in diffs:
        out.append(f"=== {d.name} ({d.path}) [{d.status}]: {d.summary}")
        for side, label_ in ((d.before, "base"), (d.after, "working tree")):
            if side.error:
                out.append(f"  build failed at {label_}: {side.error}")
        if d.spike is not None:
            out += text_lines(d.spike)
        for c in d.changes:
            out.append(f"{c.status:>8}  {c.label}")
        for c in d.changes:
            if c.status == "changed":
                out.append(c.diff.rstrip("\n"))
        out.append("")
    return "\n".join(out) + "\n"


def _cell(text: str) -> str:
    """Text that cannot break out of a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _fence(text: str) -> str:
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}diff\n{text.rstrip()}\n{ticks}"


#: GitHub refuses comments over 65,536 characters; leave room for the cost section.
MARKDOWN_LIMIT = 50_000


def render_markdown(diffs: list[OverlayDiff], base: str, limit: int = MARKDOWN_LIMIT) -> str:
    out = [MARKER, f"### Rendered manifests: changes against `{base}`", ""]
    if not diffs:
        out.append("No overlay is affected by this change.")
        return "\n".join(out) + "\n"
    out += ["| Overlay | Status | Summary |", "|---|---|---|"]
    for d in diffs:
        out.append(f"| `{d.name}` | {d.status} | {d.summary} |")
    out.append("")
    simulated = [
        d
        for d in diffs
        if d.spike is not None and (d.spike.shown or d.spike.before_note or d.spike.after_note)
    ]
    if simulated:
        out += [
            "#### Autoscaling under the default spike (simulated)",
            "",
            "| Overlay | Trace | Peak queue | Time to absorb | GPU-hours | p99 wait | Flagged |",
            "|---|---|---|---|---|---|---|",
        ]
        for d in simulated:
            assert d.spike is not None
            if d.spike.shown:
                f = figures(d.spike)
                out.append(
                    f"| `{d.name}` | {d.spike.trace} | {f['peak queue']} | {f['time to absorb']} "
                    f"| {f['GPU-hours']} | {f['p99 wait']} | {f['flags']} |"
                )
            notes = "; ".join(
                n
                for n in (
                    d.spike.before_note and f"base: {d.spike.before_note}",
                    d.spike.after_note and f"this branch: {d.spike.after_note}",
                )
                if n
            )
            if notes:
                out.append(f"| `{d.name}` | not simulated: {_cell(notes)} | | | | | |")
        out.append("")
    used = sum(len(x) for x in out)
    for d in diffs:
        body = [f"<details><summary><code>{d.name}</code>: {d.summary}</summary>", ""]
        for side, label_ in ((d.before, "base"), (d.after, "this branch")):
            if side.error:
                body.append(f"**Build failed at {label_}:**\n\n{_fence(side.error)}\n")
        if d.changes:
            body += [f"- {c.status}: `{c.label}`" for c in d.changes]
            body.append("")
        diff_text = "".join(c.diff for c in d.changes if c.status == "changed")
        if diff_text:
            body.append(_fence(diff_text))
        body += ["", "</details>", ""]
        chunk = "\n".join(body)
        if used + len(chunk) > limit:
            chunk = (
                f"<details><summary><code>{d.name}</code>: {d.summary}</summary>\n\n"
                f"Diff too long for a comment: run `llmfleet diff --base {base} {d.path}`.\n\n"
                "</details>\n"
            )
        used += len(chunk)
        out.append(chunk)
    return "\n".join(out).rstrip() + "\n"
