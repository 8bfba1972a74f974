"""API validation beyond the schemas (llmfleet.pipeline.validate.api_rules): one valid object of each
kind the repository ships, then one defect at a time, each with the API server's verdict from
its validation code (docs/reference/api-validation.md), checked through the real validator."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import pytest
import yaml

from llmfleet.infra.findings import Severity
from llmfleet.pipeline.config import load_config
from llmfleet.pipeline.manifests import load_text
from llmfleet.pipeline.runner import Options, Validator
from llmfleet.pipeline.validate.api_rules import cel_rules, quantity
from llmfleet.pipeline.validate.api_rules import pod_security_admission as psa

REPO = Path(__file__).resolve().parents[1]

CONTAINER = {
    "name": "server",
    "image": "vllm/vllm-openai:v0.33.0",
    "ports": [{"name": "http", "containerPort": 8000, "protocol": "TCP"}],
    "readinessProbe": {"httpGet": {"path": "/health", "port": "http"}},
    "livenessProbe": {"httpGet": {"path": "/health", "port": "http"}},
    "resources": {
        "limits": {"nvidia.com/gpu": 1, "memory": "16Gi"},
        "requests": {"cpu": "2", "memory": "16Gi"},
    },
    "securityContext": {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": True,
        "runAsUser": 2000,
        "seccompProfile": {"type": "RuntimeDefault"},
    },
    "volumeMounts": [{"name": "cache", "mountPath": "/cache"}],
}
LABELS = {"app.kubernetes.io/name": "vllm", "app.kubernetes.io/instance": "m"}
DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "m-server", "namespace": "inference", "labels": dict(LABELS)},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": dict(LABELS)},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
        "template": {
            "metadata": {"labels": dict(LABELS)},
            "spec": {"containers": [CONTAINER], "volumes": [{"name": "cache", "emptyDir": {}}]},
        },
    },
}
SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "m-server", "namespace": "inference"},
    "spec": {"selector": dict(LABELS), "ports": [{"name": "http", "port": 8000, "targetPort": "http"}]},
}
PDB = {
    "apiVersion": "policy/v1",
    "kind": "PodDisruptionBudget",
    "metadata": {"name": "m-server", "namespace": "inference"},
    "spec": {"maxUnavailable": 1, "selector": {"matchLabels": dict(LABELS)}},
}
HPA = {
    "apiVersion": "autoscaling/v2",
    "kind": "HorizontalPodAutoscaler",
    "metadata": {"name": "m-server", "namespace": "inference"},
    "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "m-server"},
        "minReplicas": 1,
        "maxReplicas": 3,
        "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
    },
}
SCALED_OBJECT = {
    "apiVersion": "keda.sh/v1alpha1",
    "kind": "ScaledObject",
    "metadata": {"name": "m-server", "namespace": "inference", "labels": dict(LABELS)},
    "spec": {
        "scaleTargetRef": {"name": "m-server"},
        "minReplicaCount": 1,
        "maxReplicaCount": 4,
        "advanced": {
            "horizontalPodAutoscalerConfig": {"behavior": {"scaleDown": {"stabilizationWindowSeconds": 600}}}
        },
        "triggers": [
            {
                "type": "prometheus",
                "metadata": {"serverAddress": "http://prometheus:9090", "query": "sum(up)", "threshold": "2"},
            }
        ],
    },
}
NAMESPACE = {
    "apiVersion": "v1",
    "kind": "Namespace",
    "metadata": {"name": "serving", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}},
}
BASES = {
    "deployment": DEPLOYMENT,
    "service": SERVICE,
    "pdb": PDB,
    "hpa": HPA,
    "scaledobject": SCALED_OBJECT,
    "namespace": NAMESPACE,
}


@pytest.fixture(scope="module")
def validator():
    return Validator(load_config(REPO), Options(validator="jsonschema", offline=True, cache=False))


def verdict(validator, *objects) -> set[str]:
    text = "---\n".join(yaml.safe_dump(o, sort_keys=False) for o in objects)
    resources, findings = load_text(text, "input.yaml")
    findings += validator(resources)
    return {f.rule for f in findings if f.severity == Severity.ERROR}


def _at(data, path):
    for key in path[:-1]:
        data = data[key]
    return data, path[-1]


def set_(path, value):
    def change(data):
        node, key = _at(data, path)
        node[key] = value

    return change


def drop(path):
    def change(data):
        node, key = _at(data, path)
        del node[key]

    return change


C = ("spec", "template", "spec", "containers", 0)
POD = ("spec", "template", "spec")

# (case, base, change, the rules that must report it; empty: the server accepts it)
CASES = [
    ("label value with a space", "deployment", set_(("metadata", "labels", "x"), "a b"), {"api-validation"}),
    (
        "label value of 64 characters",
        "service",
        set_(("metadata", "labels"), {"x": "a" * 64}),
        {"api-validation"},
    ),
    ("label key with two slashes", "pdb", set_(("metadata", "labels"), {"a/b/c": "x"}), {"api-validation"}),
    (
        "label key with an upper-case prefix",
        "deployment",
        # (not "y": unquoted, Kubernetes reads it as a boolean, a schema error of its own)
        set_(("metadata", "labels", "Example.com/x"), "x"),
        {"api-validation"},
    ),
    (
        "annotation key with a space",
        "hpa",
        set_(("metadata", "annotations"), {"a b": "x"}),
        {"api-validation"},
    ),
    (
        "custom resource label value 12345",
        "scaledobject",
        set_(("metadata", "labels", "x"), 12345),
        {"api-validation"},
    ),
    (
        "custom resource name with upper case",
        "scaledobject",
        set_(("metadata", "name"), "Server"),
        {"api-validation"},
    ),
    ("Service name with a dot", "service", set_(("metadata", "name"), "a.server"), {"api-validation"}),
    # RelaxedServiceNameValidation (on in 1.36): a DNS-1123 label, digits first allowed.
    ("Service name starting with a digit", "service", set_(("metadata", "name"), "1-server"), set()),
    # A PodDisruptionBudget's validation never looks at its name: only a path segment.
    ("PDB name with upper case", "pdb", set_(("metadata", "name"), "Server_1"), set()),
    ("PDB name with a percent sign", "pdb", set_(("metadata", "name"), "a%b"), {"api-validation"}),
    ("Namespace name with a dot", "namespace", set_(("metadata", "name"), "a.b"), {"api-validation"}),
    ("quantity two", "deployment", set_((*C, "resources", "requests", "cpu"), "two"), {"api-validation"}),
    (
        "quantity with a GB suffix",
        "deployment",
        set_((*C, "resources", "limits", "memory"), "16GB"),
        {"api-validation"},
    ),
    (
        "GPU request below its limit",
        "deployment",
        set_((*C, "resources", "requests", "nvidia.com/gpu"), 0),
        {"api-validation"},
    ),
    (
        "GPU request only",
        "deployment",
        set_((*C, "resources"), {"requests": {"nvidia.com/gpu": 1}}),
        {"api-validation"},
    ),
    (
        "half a GPU",
        "deployment",
        set_((*C, "resources", "limits", "nvidia.com/gpu"), "500m"),
        {"api-validation"},
    ),
    ("replicas beyond int32", "deployment", set_(("spec", "replicas"), 2**31), {"schema"}),
    (
        "container port 70000",
        "deployment",
        set_((*C, "ports", 0, "containerPort"), 70000),
        {"api-validation"},
    ),
    (
        "port name of 16 characters",
        "deployment",
        set_((*C, "ports", 0, "name"), "a" * 16),
        {"api-validation"},
    ),
    (
        "probe port name unknown form",
        "deployment",
        set_((*C, "readinessProbe", "httpGet", "port"), "HTTP"),
        {"api-validation"},
    ),
    ("Service port 0", "service", set_(("spec", "ports", 0, "port"), 0), {"api-validation"}),
    (
        "Service port name with an underscore",
        "service",
        set_(("spec", "ports", 0, "name"), "http_port"),
        {"api-validation"},
    ),
    (
        "selector not matching the template",
        "deployment",
        set_(("spec", "selector", "matchLabels", "app.kubernetes.io/instance"), "other"),
        {"api-validation"},
    ),
    ("empty selector", "deployment", set_(("spec", "selector"), {}), {"api-validation"}),
    (
        "maxSurge 0 and maxUnavailable 0",
        "deployment",
        set_(("spec", "strategy", "rollingUpdate", "maxSurge"), 0),
        {"api-validation"},
    ),
    (
        "PDB with minAvailable and maxUnavailable",
        "pdb",
        set_(("spec", "minAvailable"), 1),
        {"api-validation"},
    ),
    (
        "HPA window over an hour",
        "hpa",
        set_(("spec", "behavior", "scaleDown", "stabilizationWindowSeconds"), 3601),
        {"api-validation"},
    ),
    (
        "HPA negative window",
        "hpa",
        set_(("spec", "behavior", "scaleDown", "stabilizationWindowSeconds"), -1),
        {"api-validation"},
    ),
    ("HPA maxReplicas below minReplicas", "hpa", set_(("spec", "minReplicas"), 5), {"api-validation"}),
    (
        "unknown Pod Security level",
        "namespace",
        set_(("metadata", "labels", "pod-security.kubernetes.io/enforce"), "strict"),
        {"api-validation"},
    ),
    (
        "Pod Security version without v",
        "namespace",
        set_(("metadata", "labels", "pod-security.kubernetes.io/audit-version"), "1.30"),
        {"api-validation"},
    ),
    (
        "KEDA minReplicaCount above maxReplicaCount",
        "scaledobject",
        set_(("spec", "minReplicaCount"), 5),
        {"crd-rule"},
    ),
    ("KEDA negative minReplicaCount", "scaledobject", set_(("spec", "minReplicaCount"), -1), {"schema"}),
    ("KEDA maxReplicaCount 0", "scaledobject", set_(("spec", "maxReplicaCount"), 0), {"schema", "crd-rule"}),
    ("KEDA without triggers", "scaledobject", set_(("spec", "triggers"), []), {"schema"}),
    (
        "privileged container",
        "deployment",
        set_((*C, "securityContext", "privileged"), True),
        {"pod-security-admission"},
    ),
    ("root user", "deployment", set_((*C, "securityContext", "runAsUser"), 0), {"pod-security-admission"}),
    (
        "hostPath volume",
        "deployment",
        set_((*POD, "volumes", 0), {"name": "cache", "hostPath": {"path": "/"}}),
        {"pod-security-admission"},
    ),
    (
        "no capabilities dropped",
        "deployment",
        drop((*C, "securityContext", "capabilities")),
        {"pod-security-admission"},
    ),
    (
        "imagePullPolicy Sometimes",
        "deployment",
        set_((*C, "imagePullPolicy"), "Sometimes"),
        {"api-validation"},
    ),
    ("dnsPolicy unknown", "deployment", set_((*POD, "dnsPolicy"), "Bogus"), {"api-validation"}),
    (
        "toleration without a key, operator Equal",
        "deployment",
        set_((*POD, "tolerations"), [{"operator": "Equal", "value": "x"}]),
        {"api-validation"},
    ),
    (
        "toleration seconds without NoExecute",
        "deployment",
        set_((*POD, "tolerations"), [{"key": "a", "operator": "Exists", "tolerationSeconds": 5}]),
        {"api-validation"},
    ),
    (
        "env var name with =",
        "deployment",
        set_((*C, "env"), [{"name": "A=B", "value": "x"}]),
        {"api-validation"},
    ),
    (
        "probe scheme FTP",
        "deployment",
        set_((*C, "readinessProbe", "httpGet", "scheme"), "FTP"),
        {"api-validation"},
    ),
    (
        "Localhost seccomp without a profile",
        "deployment",
        set_((*C, "securityContext", "seccompProfile"), {"type": "Localhost"}),
        {"api-validation"},
    ),
    ("Service type unknown", "service", set_(("spec", "type"), "Internal"), {"api-validation"}),
    (
        "rollout strategy unknown",
        "deployment",
        set_(("spec", "strategy"), {"type": "BlueGreen"}),
        {"api-validation"},
    ),
    # Server-side apply wraps an int64 overflow (to -2**63), which a pod template without a
    # preStop sleep accepts: not refused.
    (
        "terminationGracePeriodSeconds beyond int64",
        "deployment",
        set_((*POD, "terminationGracePeriodSeconds"), 2**63),
        set(),
    ),
    # What the server accepts.
    ("the valid objects", "deployment", lambda d: None, set()),
    ("explicit null of an optional field", "deployment", set_((*POD, "nodeSelector"), None), set()),
    ("explicit null annotations", "service", set_(("metadata", "annotations"), None), set()),
    ("empty label value", "pdb", set_(("metadata", "labels"), {"x": ""}), set()),
    (
        "quantity 1e3m (an exponent then a suffix)",
        "deployment",
        set_((*C, "resources", "requests", "cpu"), "1e3m"),
        {"api-validation"},
    ),
    ("quantity 0.5", "deployment", set_((*C, "resources", "requests", "cpu"), "0.5"), set()),
    ("GPU limit only", "deployment", drop((*C, "resources", "requests")), set()),
    # The probes still name the old port: the server does not cross-check a probe's named port.
    ("port renamed under the probes", "deployment", set_((*C, "ports", 0, "name"), "a" * 15), set()),
    (
        "maxSurge 0 with the default maxUnavailable",
        "deployment",
        set_(("spec", "strategy"), {"rollingUpdate": {"maxSurge": 0}}),
        set(),
    ),
    (
        "KEDA negative stabilization window (no bound in its CRD)",
        "scaledobject",
        set_(
            (
                "spec",
                "advanced",
                "horizontalPodAutoscalerConfig",
                "behavior",
                "scaleDown",
                "stabilizationWindowSeconds",
            ),
            -1,
        ),
        set(),
    ),
    ("KEDA min equal to max", "scaledobject", set_(("spec", "minReplicaCount"), 4), set()),
    (
        "Pod Security version v1.30",
        "namespace",
        set_(("metadata", "labels", "pod-security.kubernetes.io/enforce-version"), "v1.30"),
        set(),
    ),
    (
        "env var name with a dot and a space",
        "deployment",
        set_((*C, "env"), [{"name": "my.env name", "value": "x"}]),
        set(),
    ),
    ("toleration of every taint", "deployment", set_((*POD, "tolerations"), [{"operator": "Exists"}]), set()),
    (
        "annotation key with upper case",
        "service",
        set_(("metadata", "annotations"), {"Example.com/Key": "x"}),
        set(),
    ),
    (
        "NET_BIND_SERVICE added",
        "deployment",
        set_((*C, "securityContext", "capabilities", "add"), ["NET_BIND_SERVICE"]),
        set(),
    ),
]


@pytest.mark.parametrize("case,base,change,expected", CASES, ids=[c[0] for c in CASES])
def test_verdict_matches_the_api_server(validator, case, base, change, expected):
    data = copy.deepcopy(BASES[base])
    change(data)
    assert verdict(validator, data) == expected


def test_port_name_of_15_characters_is_valid(validator):
    data = copy.deepcopy(DEPLOYMENT)
    name = "abcdefghijklmno"
    data["spec"]["template"]["spec"]["containers"][0]["ports"][0]["name"] = name
    for probe in ("readinessProbe", "livenessProbe"):
        data["spec"]["template"]["spec"]["containers"][0][probe]["httpGet"]["port"] = name
    assert verdict(validator, data) == set()


def test_pod_security_follows_the_namespace_in_the_same_input(validator):
    pod = copy.deepcopy(DEPLOYMENT)
    pod["metadata"]["namespace"] = "serving"
    pod["spec"]["template"]["spec"]["containers"][0]["securityContext"] = {"privileged": True}
    assert verdict(validator, NAMESPACE, pod) == {"pod-security-admission"}
    baseline = copy.deepcopy(NAMESPACE)
    baseline["metadata"]["name"] = "lenient"
    baseline["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] = "baseline"
    pod["metadata"]["namespace"] = "lenient"
    assert verdict(validator, baseline, pod) == {"pod-security-admission"}  # privileged is baseline too
    pod["spec"]["template"]["spec"]["containers"][0]["securityContext"] = {"runAsUser": 0}
    assert verdict(validator, baseline, pod) == set()  # root is forbidden by restricted only


def test_a_namespace_without_a_level_is_privileged(validator):
    pod = copy.deepcopy(DEPLOYMENT)
    pod["metadata"]["namespace"] = "elsewhere"
    pod["spec"]["template"]["spec"]["containers"][0]["securityContext"] = {"privileged": True}
    assert verdict(validator, pod) == set()


def test_pod_security_is_version_aware():
    spec = {"containers": [{"name": "c", "readinessProbe": {"httpGet": {"host": "10.0.0.1", "port": 80}}}]}
    assert psa.evaluate("baseline", (1, 33), {}, spec) == []
    assert psa.evaluate("baseline", (1, 34), {}, spec) != []
    rooted = {
        "hostUsers": False,
        "containers": [
            {
                "name": "c",
                "securityContext": {
                    "runAsUser": 0,
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"]},
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
            }
        ],
    }
    assert any("runAsUser" in r for r in psa.evaluate("restricted", (1, 34), {}, rooted))
    assert psa.evaluate("restricted", (1, 35), {}, rooted) == []
    sysctl = {"securityContext": {"sysctls": [{"name": "net.ipv4.tcp_rmem"}]}, "containers": []}
    assert psa.evaluate("baseline", (1, 31), {}, sysctl) != []
    assert psa.evaluate("baseline", psa.LATEST, {}, sysctl) == []


@pytest.mark.parametrize(
    "text,value",
    [
        ("1", "1"),
        ("500m", "0.5"),
        ("1.5Gi", str(1.5 * 2**30)),
        ("1e3", "1000"),
        ("1E3", "1000"),
        ("2E", str(2 * 10**18)),
        (".5", "0.5"),
        ("5.", "5"),
        ("+1k", "1000"),
        ("100n", "1E-7"),
        (0.25, "0.25"),
    ],
)
def test_quantities_the_server_parses(text, value):
    from decimal import Decimal

    assert quantity.parse(text) == Decimal(value)


@pytest.mark.parametrize(
    "text", ["two", "1GB", "1 Gi", "", "1e", "1e1.5", "Gi", "0x10", "1Ki1", True, None, "1.2.3"]
)
def test_quantities_the_server_refuses(text):
    with pytest.raises(quantity.QuantityError):
        quantity.parse(text)


def test_every_vendored_cel_rule_compiles():
    rules = []
    for path in sorted((REPO / "schemas" / "crds").rglob("*.json")):
        rules += cel_rules.schema_rules(json.loads(path.read_text()))
    assert len(rules) > 100  # Gateway API, KEDA, KubeRay, Argo Rollouts
    unsupported = []
    for rule in rules:
        try:
            cel_rules._program(rule)
        except cel_rules.UnsupportedRule as exc:
            unsupported.append((rule, str(exc)))
    assert unsupported == []


def test_the_keda_schema_has_the_crd_rule():
    schema = json.loads((REPO / "schemas/crds/keda.sh/scaledobject_v1alpha1.json").read_text())
    assert any("minReplicaCount" in r for r in cel_rules.schema_rules(schema))


def test_shipped_fleet_has_no_api_findings(cli):
    result = cli(["check", "--format", "json", "--offline"], cwd=REPO)
    assert result.exit_code == 0, result.stdout + result.stderr
    rules = {f["rule"] for f in json.loads(result.stdout)["findings"]}
    assert not rules & {"api-validation", "crd-rule", "pod-security-admission"}


def test_mutants_of_the_fleet_agree_with_the_recorded_server_verdicts(tmp_path):
    """The generator's run over the rendered fleet (tools/scripts/api_mutants.py): no mutant
    the table says the server accepts is rejected, and, against the verdicts a real
    kube-apiserver v1.36.3 gave on the same mutants (tools/scripts/api_differential.py,
    recorded in tests/data), llmfleet agrees on at least 98% and rejects nothing it accepted."""
    sys.path.insert(0, str(REPO / "tools" / "scripts"))
    try:
        import api_mutants
    finally:
        sys.path.pop(0)
    assert api_mutants.main(["--out", str(tmp_path), "--json"]) == 0
    truth = json.loads((tmp_path / "ground-truth.json").read_text())
    assert len(truth) > 1000
    assert {v["verdict"] for v in truth.values()} == {"accept", "reject"}
    recorded = json.loads((REPO / "tests" / "data" / "api-mutants-server-verdicts.json").read_text())[
        "verdicts"
    ]
    # Mutants are named by operator, object index and kind: a fleet changed since the
    # recording keeps most of them; those it no longer has are not compared.
    common = sorted(set(truth) & set(recorded))
    assert len(common) >= 0.9 * len(truth)
    ours = json.loads((tmp_path / "llmfleet-verdicts.json").read_text())
    wrongly_refused = [m for m in common if ours[m] == "reject" and recorded[m] == "accept"]
    agree = sum(ours[m] == recorded[m] for m in common)
    assert wrongly_refused == []
    assert agree / len(common) >= 0.98


GATEWAY_EXAMPLES = REPO / "tests" / "data" / "gateway-api-v1.6.1"


@pytest.mark.parametrize("path", sorted((GATEWAY_EXAMPLES / "valid").glob("*.yaml")), ids=lambda p: p.name)
def test_upstream_valid_gateway_examples_are_accepted(validator, path):
    resources, findings = load_text(path.read_text(), path.name)
    findings += validator(resources)
    assert [f.message for f in findings if f.severity == Severity.ERROR] == []


@pytest.mark.parametrize("path", sorted((GATEWAY_EXAMPLES / "invalid").glob("*.yaml")), ids=lambda p: p.name)
def test_upstream_invalid_gateway_examples_are_refused(validator, path):
    resources, findings = load_text(path.read_text(), path.name)
    findings += validator(resources)
    assert {f.rule for f in findings if f.severity == Severity.ERROR} & {"schema", "crd-rule"}


def _json_values():
    from hypothesis import strategies as st

    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=8)
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=20,
    )


def _mutate_anywhere(data, value, seed):
    """``data`` with one node replaced by ``value``: a field of the wrong shape anywhere."""
    nodes = []

    def walk(node):
        if isinstance(node, dict):
            for key, child in node.items():
                nodes.append((node, key))
                walk(child)
        elif isinstance(node, list):
            for i, child in enumerate(node):
                nodes.append((node, i))
                walk(child)

    walk(data)
    parent, key = nodes[seed % len(nodes)]
    parent[key] = value
    return data


def test_any_shape_of_field_is_a_finding_never_a_crash(validator):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(base=st.sampled_from(sorted(BASES)), value=_json_values(), seed=st.integers(min_value=0))
    def check(base, value, seed):
        data = _mutate_anywhere(copy.deepcopy(BASES[base]), value, seed)
        text = json.dumps(data)  # JSON is YAML: the loader reads it
        resources, findings = load_text(text, "input.yaml")
        findings += validator(resources)
        assert all(f.rule and f.message for f in findings)

    check()
