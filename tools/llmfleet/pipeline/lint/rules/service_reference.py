"""service-reference: a Service that args or env name must exist in a self-contained input.

Disaggregated prefill/decode (KV-transfer), routers and multi-node servers find each other by
Service DNS names written into their command lines and env: ``http://decode:8000``,
``--dist-init-addr leader:5000``, ``kv_ip`` in a KV-transfer config.  A name that no Service
answers (a typo, a Service renamed, another namespace) or a port the Service does not
publish leaves the wiring broken until a request times out.  Judged only when the input is
self-contained enough to know: it defines Services, and the name is in a namespace the input
holds (Kubernetes DNS: ``<service>.<namespace>.svc.cluster.local``; docs/reference/servers.md).
Names with ``$``/``${...}`` (filled at run time), pod DNS names of operators' own Services and
addresses outside the cluster are not judged.  An input with no Service at all is judged only for
the Service a StatefulSet of it names as its governing one (``spec.serviceName``): the pods
address it, and nothing in the input creates it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from llmfleet.model.k8s import Resource, as_list, dig
from llmfleet.model.workloads import Container
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule

_URL = re.compile(r"\b(?:https?|grpc|tcp)://([A-Za-z0-9.-]+)(?::(\d+))?")
ADDRESS_FLAGS = ("--dist-init-addr", "--master-addr", "--leader-address")
_HOSTPORT = re.compile(r"^([A-Za-z0-9.-]+):(\d+)$")
LOCAL = {"localhost", "0.0.0.0", "127.0.0.1"}
CLUSTER_SUFFIX = (".svc.cluster.local", ".svc")


def _words(container: Container) -> list[tuple[str, str]]:
    """(text, pointer) of every command/args word and literal env value."""
    out = []
    for key in ("command", "args"):
        for i, word in enumerate(as_list(container.data.get(key))):
            if isinstance(word, str):
                out.append((word, f"{container.path}/{key}/{i}"))
    for i, item in enumerate(container.env):
        if isinstance(item.get("value"), str):
            out.append((item["value"], f"{container.path}/env/{i}/value"))
    return out


def references(container: Container) -> Iterator[tuple[str, int | None, str]]:
    """(host, port, pointer) of every in-cluster address a container names."""
    words = _words(container)
    for index, (text, path) in enumerate(words):
        if text in ADDRESS_FLAGS and index + 1 < len(words):  # [--dist-init-addr, leader:5000]
            found = _HOSTPORT.match(words[index + 1][0].strip("\"'"))
            if found:
                yield found.group(1), int(found.group(2)), words[index + 1][1]
        for match in _URL.finditer(text):
            yield match.group(1), int(match.group(2)) if match.group(2) else None, path
        tokens = text.split()
        for i, token in enumerate(tokens):
            name, _, value = token.partition("=")
            if name in ADDRESS_FLAGS:
                value = value or (tokens[i + 1] if i + 1 < len(tokens) else "")
                found = _HOSTPORT.match(value.strip("\"'"))
                if found:
                    yield found.group(1), int(found.group(2)), path
        if "kv_ip" in text:
            try:
                config = json.loads(text)
            except ValueError:
                continue
            if isinstance(config, dict) and isinstance(config.get("kv_ip"), str):
                port = config.get("kv_port")
                yield config["kv_ip"], int(port) if isinstance(port, int) else None, path


def _service_and_namespace(host: str, default_ns: str) -> tuple[str, str] | None:
    """The Service and namespace a host names, or None for names not judged."""
    if host in LOCAL or re.fullmatch(r"[\d.]+", host) or "$" in host:
        return None
    bare = host
    for suffix in CLUSTER_SUFFIX:
        if bare.endswith(suffix):
            bare = bare[: -len(suffix)]
            break
    else:
        if bare.count(".") > 1:
            return None  # a name outside the cluster
    parts = bare.split(".")
    if len(parts) == 1:
        return parts[0], default_ns
    if len(parts) == 2:
        return parts[0], parts[1]
    return None  # <pod>.<service>.<namespace>: a pod's name under an operator's Service


def _ports(service: Resource) -> set[int]:
    found = set()
    for item in as_list(dig(service.data, "spec", "ports")):
        if isinstance(item, dict) and isinstance(item.get("port"), int):
            found.add(item["port"])
    return found


@rule(
    id="service-reference",
    severity=Severity.WARNING,
    description="Args or env name a Service (or a port of it) that a self-contained input does "
    "not define: KV-transfer, router or multi-node wiring that resolves to nothing",
    remediation="Use the name and port of a Service the manifests define (mind kustomize name "
    "prefixes), or define the Service.",
    rationale="Disaggregated and multi-node servers find each other by Service DNS names; a name "
    "no Service answers leaves requests hanging until they time out "
    "(docs/reference/servers.md).",
    category="wiring",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        args: [--dist-init-addr, leader:5000]     # and a Service leader with port 5000

    Failing (``/spec/template/spec/containers/0/env/0/value``)::

        env: [{name: DECODE_URL, value: "http://decode:8000"}]   # no Service decode
    """
    services = model.of_kind("Service")
    governing = _governing_services(model)
    if not services and not governing:
        return
    namespaces = {r.namespace for r in model.resources}
    for template in model.templates:
        if not template.workload.runs_pods or template.workload.platform_scheduling:
            continue
        for container in template.containers:
            for host, port, path in references(container):
                target = _service_and_namespace(host, template.namespace)
                if target is None:
                    continue
                name, namespace = target
                if namespace not in namespaces:
                    continue
                if not services and (namespace, name) not in governing:
                    continue  # no Service in the input: only a StatefulSet's own is judged
                service = model.get("Service", name, namespace)
                if service is None:
                    own = (namespace, name) in governing
                    yield Problem(
                        template.resource,
                        path,
                        f"container {container.name!r} names Service {name!r}"
                        + (f" in namespace {namespace!r}" if namespace else "")
                        + " (as "
                        + f"{host}{':' + str(port) if port else ''}), which this input does not define"
                        + (
                            " although a StatefulSet names it as its governing Service "
                            "(spec.serviceName): its pods' DNS names and this address resolve "
                            "only once that headless Service exists"
                            if own
                            else ""
                        ),
                    )
                elif port is not None and _ports(service) and port not in _ports(service):
                    yield Problem(
                        template.resource,
                        path,
                        f"container {container.name!r} calls {host}:{port}, but Service {name!r} "
                        f"publishes port(s) {', '.join(map(str, sorted(_ports(service))))}",
                    )


def _governing_services(model: OverlayModel) -> set[tuple[str, str]]:
    """(namespace, name) of the Services the input's StatefulSets name in ``spec.serviceName``
    (the headless Service that gives their pods DNS names; apps/v1 StatefulSetSpec)."""
    found = set()
    for res in model.of_kind("StatefulSet"):
        name = dig(res.data, "spec", "serviceName")
        if isinstance(name, str) and name:
            found.add((res.namespace, name))
    return found
