"""argocd-repo-placeholder: Argo CD objects point at a real Git repository.

The repository's ``argocd/`` ships with ``https://github.com/example-org/llm-fleet.git``:
the URL a fork must replace (docs/deploying.md section 7.1).  Applied as it is, Argo CD
syncs nothing (the repository does not exist) or, worse, whatever someone publishes there.
Every ``repoURL`` of an Application, ApplicationSet (its generators and template) and every
``sourceRepos`` entry of an AppProject is checked.  A warning, so that the template itself
passes ``check``; ``check --strict`` (a production fork's CI) fails on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from llmfleet.model.k8s import escape_pointer_token
from llmfleet.model.placeholders import PLACEHOLDER
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule

KINDS = ("Application", "ApplicationSet", "AppProject")


def _urls(node: Any, path: str) -> Iterator[tuple[str, str]]:
    """(JSON pointer, URL) of every repoURL and sourceRepos entry under ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}/{escape_pointer_token(key)}"
            if key == "repoURL" and isinstance(value, str):
                yield here, value
            elif key == "sourceRepos" and isinstance(value, list):
                yield from ((f"{here}/{i}", v) for i, v in enumerate(value) if isinstance(v, str))
            else:
                yield from _urls(value, here)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _urls(value, f"{path}/{i}")


@rule(
    id="argocd-repo-placeholder",
    severity=Severity.WARNING,
    description="An Argo CD Application, ApplicationSet or AppProject points at a placeholder "
    "repository (example-org, example.com, ...)",
    remediation="Set spec.source.repoURL in argocd/platform-application.yaml to your repository "
    "(argocd/kustomization.yaml copies it into the ApplicationSet and the AppProject).",
    rationale="Argo CD syncs nothing from a repository that does not exist, or whatever "
    "someone publishes under the placeholder name.",
    category="input",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        spec: {source: {repoURL: https://github.com/acme/llm-fleet.git}}

    Failing (``/spec/source/repoURL``)::

        spec: {source: {repoURL: https://github.com/example-org/llm-fleet.git}}
    """
    for resource in model.resources:
        if resource.group != "argoproj.io" or resource.kind not in KINDS:
            continue
        for path, url in _urls(resource.data.get("spec") or {}, "/spec"):
            if "{{" in url or "$" in url:
                continue
            if PLACEHOLDER.search(url):
                yield Problem(
                    resource,
                    path,
                    f"{resource.kind} {resource.name} points at {url!r}, a placeholder repository: "
                    "Argo CD has nothing to sync until it names your repository",
                )
