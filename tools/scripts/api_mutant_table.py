"""The one-defect mutation operators over rendered objects, each with the API server's verdict
written from the upstream validation code before llmfleet was run on them (the ground truth of
``api_mutants.py``; docs/reference/api-validation.md cites every rule).

An operator changes one thing in a copy of an object and returns True, or returns False when it
does not apply to that object.  ``verdict`` is what kube-apiserver v1.36 (with the vendored
CRDs, Pod Security "restricted" on the repository's namespace) does with the changed object:
"reject" (refused, or its pods forbidden) or "accept".
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from api_mutant_ops import (
    Data,
    _add_env,
    _add_toleration,
    _add_volume,
    _config_map_key,
    _container,
    _custom_resource,
    _duplicate_port_name,
    _first_port,
    _gpu,
    _host_port,
    _job_restart,
    _kind,
    _liveness_success,
    _mount_unknown,
    _namespace_label,
    _null_field,
    _null_in_pod,
    _pdb_both,
    _pdb_max_only,
    _pod,
    _pod_field,
    _probe_port,
    _probe_scheme,
    _pvc_access_mode,
    _pvc_storage,
    _quota,
    _rename,
    _rename_except,
    _resources,
    _rolling,
    _scaled,
    _scaled_min_over_max,
    _scaled_window,
    _security,
    _selector_mismatch,
    _service_port,
    _set_annotation,
    _set_in_container,
    _set_label,
    _spec,
)


@dataclass(frozen=True)
class Operator:
    id: str
    verdict: str  # "reject" | "accept"
    why: str  # the upstream rule (file and function) behind the verdict
    mutate: Callable[[Data], bool]


CORE = "pkg/apis/core/validation/validation.go"
APPS = "pkg/apis/apps/validation/validation.go"
META = "apimachinery pkg/api/validation/objectmeta.go, pkg/util/validation/validation.go"
PSA = "pod-security-admission policy/"
KEDA = "kedacore/keda v2.20.2 config/crd/bases/keda.sh_scaledobjects.yaml"

OPERATORS: tuple[Operator, ...] = (
    # metadata, every object (custom resources too)
    Operator("label-value-chars", "reject", f"{META} IsValidLabelValue", _set_label("not valid!")),
    Operator("label-value-64", "reject", f"{META} IsValidLabelValue", _set_label("a" * 64)),
    Operator("label-value-int", "reject", "ObjectMeta labels are map[string]string", _set_label(12345)),
    Operator("label-key-leading-dash", "reject", f"{META} IsQualifiedName", _set_label("x", "-bad")),
    Operator(
        "label-key-upper-prefix",
        "reject",
        f"{META} IsQualifiedName (prefix IsDNS1123Subdomain)",
        _set_label("x", "Example.com/x"),
    ),
    Operator("label-key-two-slashes", "reject", f"{META} IsQualifiedName", _set_label("x", "a/b/c")),
    Operator(
        "annotation-key-space", "reject", f"{META} ValidateAnnotations", _set_annotation("bad key", "x")
    ),
    # Corrected after the server differential: a PodDisruptionBudget's name is only a path
    # segment, and RelaxedServiceNameValidation (on in 1.36) lets a Service name start with a digit.
    Operator(
        "name-upper-underscore",
        "reject",
        f"{META} NameIsDNSSubdomain/NameIsDNSLabel",
        _rename_except("Bad_Name", ("PodDisruptionBudget",)),
    ),
    Operator(
        "pdb-name-upper-underscore",
        "accept",
        "pkg/apis/policy/validation ValidatePodDisruptionBudget (spec only)",
        _rename("Bad_Name", ("PodDisruptionBudget",)),
    ),
    Operator(
        "pdb-name-percent",
        "reject",
        "apiserver pkg/registry/rest/create.go BeforeCreate (path segment name)",
        _rename("a%b", ("PodDisruptionBudget",)),
    ),
    Operator(
        "service-name-64",
        "reject",
        f"{CORE} ValidateServiceCreate (DNS label)",
        _rename("s" * 64, ("Service",)),
    ),
    Operator(
        "service-name-digit",
        "accept",
        f"{CORE} ValidateServiceCreate (RelaxedServiceNameValidation: DNS-1123 label)",
        _rename("1abc", ("Service",)),
    ),
    Operator(
        "service-name-dot",
        "reject",
        f"{CORE} ValidateServiceCreate (DNS-1123 label)",
        _rename("a.b", ("Service",)),
    ),
    Operator("label-value-empty", "accept", f"{META} IsValidLabelValue (empty is valid)", _set_label("")),
    Operator("label-value-63", "accept", f"{META} IsValidLabelValue", _set_label("a" * 63)),
    Operator(
        "label-key-prefixed", "accept", f"{META} IsQualifiedName", _set_label("x", "example.com/mutant")
    ),
    Operator(
        "annotation-unicode",
        "accept",
        f"{META} ValidateAnnotations (values unrestricted)",
        _set_annotation("example.com/note", "überall ✓"),
    ),
    Operator("metadata-null", "accept", "a JSON null is an unset field", _null_field),
    Operator(
        "configmap-name-253", "accept", f"{CORE} ValidateConfigMapName", _rename("c" * 253, ("ConfigMap",))
    ),
    # custom resources' metadata
    Operator(
        "cr-label-value-int",
        "reject",
        "apiextensions-apiserver customresource validator.go ValidateObjectMetaAccessor",
        _custom_resource(_set_label(12345)),
    ),
    Operator(
        "cr-label-value-space",
        "reject",
        "apiextensions-apiserver customresource validator.go ValidateObjectMetaAccessor",
        _custom_resource(_set_label("a b")),
    ),
    # quantities
    Operator(
        "cpu-two",
        "reject",
        "apimachinery pkg/api/resource/quantity.go ParseQuantity",
        _container(_resources("requests", "cpu", "two")),
    ),
    Operator(
        "memory-1GB",
        "reject",
        "apimachinery pkg/api/resource/quantity.go ParseQuantity (no suffix GB)",
        _container(_resources("limits", "memory", "1GB")),
    ),
    Operator(
        "cpu-negative",
        "reject",
        f"{CORE} ValidateNonnegativeQuantity",
        _container(_resources("requests", "cpu", "-1")),
    ),
    Operator(
        "cpu-1e3m-ok",
        "accept",
        "apimachinery quantity.go (decimal exponent)",
        _container(_resources("requests", "cpu", "1e-1")),
    ),
    Operator(
        "memory-1.5Gi-ok",
        "accept",
        "apimachinery quantity.go",
        _container(
            lambda c: (
                c.setdefault("resources", {}).update(
                    requests={**(c["resources"].get("requests") or {}), "memory": "1.5Gi"},
                    limits={**(c["resources"].get("limits") or {}), "memory": "1.5Gi"},
                )
                or True
            )
        ),
    ),
    Operator(
        "emptydir-lots",
        "reject",
        "apimachinery quantity.go ParseQuantity",
        _pod(_add_volume({"name": "scratch-x", "emptyDir": {"sizeLimit": "lots"}}), builtin_only=True),
    ),
    Operator("quota-many", "reject", f"{CORE} ValidateResourceQuotaSpec (ParseQuantity)", _quota("many")),
    Operator(
        "pvc-ten", "reject", f"{CORE} ValidatePersistentVolumeClaimSpec (ParseQuantity)", _pvc_storage("ten")
    ),
    # int32 and ports
    Operator(
        "replicas-int32-overflow",
        "reject",
        "DeploymentSpec.replicas is int32",
        _kind("Deployment", _spec("replicas", 2**31)),
    ),
    Operator(
        "container-port-70000",
        "reject",
        f"{CORE} validateContainerPorts IsValidPortNum",
        _first_port(lambda p: p.update(containerPort=70000) or True),
    ),
    Operator(
        "container-port-0",
        "reject",
        f"{CORE} validateContainerPorts (Required)",
        _first_port(lambda p: p.update(containerPort=0) or True),
    ),
    Operator(
        "container-port-65535",
        "accept",
        f"{CORE} IsValidPortNum",
        _first_port(lambda p: p.update(containerPort=65535) or True),
    ),
    Operator(
        "port-name-16",
        "reject",
        f"{CORE} validateContainerPorts IsValidPortName (15 max)",
        _first_port(lambda p: p.update(name="abcdefghijklmnop") or True),
    ),
    Operator(
        "port-name-upper",
        "reject",
        f"{CORE} IsValidPortName",
        _first_port(lambda p: p.update(name="Http") or True),
    ),
    Operator(
        "port-name-15",
        "accept",
        f"{CORE} IsValidPortName",
        _first_port(lambda p: p.update(name="abcdefghijklmno") or True),
    ),
    Operator(
        "port-name-duplicate",
        "reject",
        f"{CORE} validateContainerPorts (Duplicate)",
        _container(_duplicate_port_name),
    ),
    Operator(
        "probe-port-name-long",
        "reject",
        f"{CORE} ValidatePortNumOrName",
        _container(_probe_port("a-very-long-port-name")),
    ),
    Operator(
        "service-port-70000",
        "reject",
        f"{CORE} validateServicePort IsValidPortNum",
        _service_port("port", 70000),
    ),
    Operator(
        "service-port-name-upper",
        "reject",
        f"{CORE} validateServicePort (DNS-1123 label)",
        _service_port("name", "Http_Port"),
    ),
    Operator(
        "service-target-port-name-long",
        "reject",
        f"{CORE} validateServicePort ValidatePortNumOrName",
        _service_port("targetPort", "a-very-long-port-name"),
    ),
    # selectors and rollout bounds
    Operator(
        "selector-mismatch", "reject", f"{APPS} ValidatePodTemplateSpecForReplicaSet", _selector_mismatch
    ),
    Operator(
        "pdb-min-and-max",
        "reject",
        "pkg/apis/policy/validation ValidatePodDisruptionBudgetSpec",
        _kind("PodDisruptionBudget", _pdb_both),
    ),
    Operator(
        "pdb-max-only",
        "accept",
        "pkg/apis/policy/validation ValidatePodDisruptionBudgetSpec",
        _kind("PodDisruptionBudget", _pdb_max_only),
    ),
    Operator(
        "surge-0-unavailable-0",
        "reject",
        f"{APPS} ValidateRollingUpdateDeployment",
        _kind("Deployment", _rolling(0, 0)),
    ),
    Operator(
        "surge-0-unavailable-1",
        "accept",
        f"{APPS} ValidateRollingUpdateDeployment",
        _kind("Deployment", _rolling(0, 1)),
    ),
    Operator(
        "surge-0pct-default-unavailable",
        "accept",
        f"{APPS} (maxUnavailable defaults to 25%)",
        _kind("Deployment", _rolling("0%", None)),
    ),
    Operator(
        "unavailable-150pct",
        "reject",
        f"{APPS} IsNotMoreThan100Percent",
        _kind("Deployment", _rolling(1, "150%")),
    ),
    Operator(
        "revision-history-negative",
        "reject",
        f"{APPS} ValidateDeploymentSpec",
        _kind("Deployment", _spec("revisionHistoryLimit", -1)),
    ),
    Operator(
        "progress-deadline-le-ready",
        "reject",
        f"{APPS} ValidateDeploymentSpec",
        _kind(
            "Deployment", lambda d: d["spec"].update(minReadySeconds=700, progressDeadlineSeconds=600) or True
        ),
    ),
    Operator(
        "job-restart-always",
        "reject",
        "pkg/apis/batch/validation ValidateJobSpec (OnFailure or Never)",
        _job_restart("Always"),
    ),
    # pods
    Operator(
        "gpu-request-below-limit",
        "reject",
        f"{CORE} validateResourceRequirements (non-overcommitable)",
        _gpu(
            lambda c, r: (
                r.setdefault("requests", {}).update(
                    {"nvidia.com/gpu": int(r["limits"]["nvidia.com/gpu"]) + 1}
                )
                or True
            )
        ),
    ),
    Operator(
        "gpu-fraction",
        "reject",
        f"{CORE} ValidateResourceQuantityValue (integer)",
        _gpu(
            lambda c, r: (
                r.update(
                    limits={**r["limits"], "nvidia.com/gpu": "0.5"},
                    requests={**(r.get("requests") or {}), "nvidia.com/gpu": "0.5"},
                )
                or True
            )
        ),
    ),
    Operator(
        "gpu-limit-only",
        "accept",
        "requests default to limits (core/v1 defaults)",
        _gpu(lambda c, r: (r.get("requests") or {}).pop("nvidia.com/gpu", None) or True),
    ),
    Operator(
        "cpu-request-over-limit",
        "reject",
        f"{CORE} validateResourceRequirements",
        _container(lambda c: c.update(resources={"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}) or True),
    ),
    Operator(
        "mount-unknown-volume",
        "reject",
        f"{CORE} validateVolumeMounts (NotFound)",
        _container(_mount_unknown),
    ),
    Operator(
        "liveness-success-2",
        "reject",
        f"{CORE} validateContainerCommon (successThreshold must be 1)",
        _container(_liveness_success(2)),
    ),
    Operator(
        "pod-null-field", "accept", "a JSON null is an unset field", _pod(_null_in_pod, builtin_only=True)
    ),
    # Pod Security "restricted" (the inference namespace)
    Operator(
        "psa-privileged",
        "reject",
        f"{PSA}check_privileged.go",
        _container(_security("privileged", True), builtin_only=False),
    ),
    Operator(
        "psa-run-as-root",
        "reject",
        f"{PSA}check_runAsUser.go",
        _container(_security("runAsUser", 0), builtin_only=False),
    ),
    Operator(
        "psa-escalation",
        "reject",
        f"{PSA}check_allowPrivilegeEscalation.go",
        _container(_security("allowPrivilegeEscalation", True), builtin_only=False),
    ),
    Operator(
        "psa-sys-admin",
        "reject",
        f"{PSA}check_capabilities_restricted.go",
        _container(_security("capabilities", {"drop": ["ALL"], "add": ["SYS_ADMIN"]}), builtin_only=False),
    ),
    Operator(
        "psa-net-bind-ok",
        "accept",
        f"{PSA}check_capabilities_restricted.go",
        _container(
            _security("capabilities", {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}), builtin_only=False
        ),
    ),
    Operator(
        "psa-unconfined",
        "reject",
        f"{PSA}check_seccompProfile_restricted.go",
        _container(_security("seccompProfile", {"type": "Unconfined"}), builtin_only=False),
    ),
    Operator(
        "psa-host-path",
        "reject",
        f"{PSA}check_hostPathVolumes.go",
        _pod(_add_volume({"name": "host", "hostPath": {"path": "/"}})),
    ),
    Operator(
        "psa-host-network", "reject", f"{PSA}check_hostNamespaces.go", _pod(_pod_field("hostNetwork", True))
    ),
    Operator(
        "psa-user-1000-ok",
        "accept",
        f"{PSA}check_runAsUser.go",
        _container(_security("runAsUser", 1000), builtin_only=False),
    ),
    # the Namespace's Pod Security labels
    Operator(
        "ns-level-unknown",
        "reject",
        "pod-security-admission api/helpers.go ParseLevel",
        _namespace_label("pod-security.kubernetes.io/enforce", "strict"),
    ),
    Operator(
        "ns-version-no-v",
        "reject",
        "pod-security-admission api/helpers.go ParseVersion",
        _namespace_label("pod-security.kubernetes.io/warn-version", "1.30"),
    ),
    Operator(
        "ns-version-ok",
        "accept",
        "pod-security-admission api/helpers.go ParseVersion",
        _namespace_label("pod-security.kubernetes.io/enforce-version", "v1.30"),
    ),
    Operator(
        "configmap-key-space",
        "reject",
        f"{CORE} ValidateConfigMap IsConfigMapKey",
        _config_map_key("bad key"),
    ),
    Operator("configmap-key-ok", "accept", f"{CORE} IsConfigMapKey", _config_map_key("a.b-c_d")),
    # KEDA's CRD (schema bounds and its CEL rule)
    Operator(
        "keda-min-negative", "reject", f"{KEDA} minReplicaCount minimum 0", _scaled("minReplicaCount", -1)
    ),
    Operator("keda-max-zero", "reject", f"{KEDA} maxReplicaCount minimum 1", _scaled("maxReplicaCount", 0)),
    Operator("keda-no-triggers", "reject", f"{KEDA} triggers minItems 1", _scaled("triggers", [])),
    Operator(
        "keda-min-over-max", "reject", f"{KEDA} x-kubernetes-validations min <= max", _scaled_min_over_max
    ),
    Operator(
        "keda-min-equals-max",
        "accept",
        f"{KEDA} x-kubernetes-validations",
        _kind("ScaledObject", lambda d: d["spec"].update(minReplicaCount=2, maxReplicaCount=2) or True),
    ),
    Operator(
        "keda-window-negative",
        "accept",
        f"{KEDA} (no bound on stabilizationWindowSeconds)",
        _scaled_window(-1),
    ),
    # Fields with a fixed set of values the schemas do not state, and shapes (added with enums.py).
    Operator(
        "pull-policy-sometimes",
        "reject",
        f"{CORE} validatePullPolicy",
        _container(_set_in_container("imagePullPolicy", "Sometimes")),
    ),
    Operator(
        "pull-policy-never-ok",
        "accept",
        f"{CORE} validatePullPolicy",
        _container(_set_in_container("imagePullPolicy", "Never")),
    ),
    Operator(
        "dns-policy-bogus",
        "reject",
        f"{CORE} validateDNSPolicy",
        _pod(_pod_field("dnsPolicy", "Bogus"), builtin_only=True),
    ),
    Operator(
        "toleration-operator-equals",
        "reject",
        f"{CORE} ValidateTolerations",
        _pod(_add_toleration({"key": "a", "operator": "Equals", "value": "b"}), builtin_only=True),
    ),
    Operator(
        "toleration-no-key-equal",
        "reject",
        f"{CORE} ValidateTolerations",
        _pod(_add_toleration({"operator": "Equal", "value": "b"}), builtin_only=True),
    ),
    Operator(
        "toleration-seconds-noschedule",
        "reject",
        f"{CORE} ValidateTolerations",
        _pod(
            _add_toleration(
                {"key": "a", "operator": "Exists", "effect": "NoSchedule", "tolerationSeconds": 5}
            ),
            builtin_only=True,
        ),
    ),
    Operator(
        "toleration-exists-all-ok",
        "accept",
        f"{CORE} ValidateTolerations",
        _pod(_add_toleration({"operator": "Exists"}), builtin_only=True),
    ),
    Operator(
        "env-name-equals", "reject", f"{CORE} ValidateEnv IsRelaxedEnvVarName", _container(_add_env("A=B"))
    ),
    Operator(
        "env-name-dotted-ok",
        "accept",
        f"{CORE} ValidateEnv IsRelaxedEnvVarName",
        _container(_add_env("my.env-name 1")),
    ),
    Operator("probe-scheme-ftp", "reject", f"{CORE} validateHTTPGetAction", _container(_probe_scheme("FTP"))),
    Operator(
        "seccomp-localhost-no-profile",
        "reject",
        f"{CORE} validateSeccompProfileField",
        _container(_security("seccompProfile", {"type": "Localhost"})),
    ),
    Operator("host-port", "reject", f"{PSA}check_hostPorts.go", _container(_host_port)),
    Operator(
        "service-type-bogus",
        "reject",
        f"{CORE} validateService (type)",
        _kind("Service", _spec("type", "Internal")),
    ),
    Operator(
        "session-affinity-ok",
        "accept",
        f"{CORE} validateService (sessionAffinity)",
        _kind("Service", _spec("sessionAffinity", "ClientIP")),
    ),
    Operator(
        "strategy-type-bogus",
        "reject",
        f"{APPS} ValidateDeploymentStrategy",
        _kind("Deployment", _spec("strategy", {"type": "BlueGreen"})),
    ),
    Operator(
        "pvc-access-mode-bogus",
        "reject",
        f"{CORE} ValidatePersistentVolumeClaimSpec",
        _pvc_access_mode("ReadWriteSome"),
    ),
    Operator(
        "pdb-eviction-bogus",
        "reject",
        "pkg/apis/policy/validation ValidatePodDisruptionBudgetSpec",
        _kind("PodDisruptionBudget", _spec("unhealthyPodEvictionPolicy", "Never")),
    ),
    Operator(
        "replicas-negative",
        "reject",
        f"{APPS} ValidateDeploymentSpec",
        _kind("Deployment", _spec("replicas", -1)),
    ),
    Operator(
        "replicas-int32-max-ok",
        "accept",
        "DeploymentSpec.replicas is int32",
        _kind("Deployment", _spec("replicas", 2**31 - 1)),
    ),
    # Recorded from the server differential: server-side apply wraps an int64 overflow to
    # -2**63; a Job template accepts that, a Deployment's refuses it (its preStop sleep must be
    # below the grace period). llmfleet does not check int64 ranges: it misses the second.
    Operator(
        "grace-int64-overflow-job",
        "accept",
        "server-side apply wraps the overflow; PodSpec.terminationGracePeriodSeconds may be negative",
        _kind("Job", _pod(_pod_field("terminationGracePeriodSeconds", 2**63))),
    ),
    Operator(
        "grace-int64-overflow-deployment",
        "reject",
        f"{CORE} validateSleepAction (sleep below terminationGracePeriodSeconds, wrapped negative)",
        _kind("Deployment", _pod(_pod_field("terminationGracePeriodSeconds", 2**63))),
    ),
    Operator(
        "annotation-key-upper-ok",
        "accept",
        f"{META} ValidateAnnotations (keys lower-cased)",
        _set_annotation("Example.com/Key", "x"),
    ),
    Operator(
        "label-key-upper-name-ok", "accept", f"{META} IsQualifiedName", _set_label("x", "example.com/Name")
    ),
    Operator(
        "emptydir-half-gi-ok",
        "accept",
        "apimachinery quantity.go",
        _pod(_add_volume({"name": "scratch-y", "emptyDir": {"sizeLimit": ".5Gi"}}), builtin_only=True),
    ),
    Operator(
        "emptydir-exponent-and-suffix",
        "reject",
        "apimachinery quantity.go (an exponent takes no suffix)",
        _pod(_add_volume({"name": "scratch-z", "emptyDir": {"sizeLimit": "1e3m"}}), builtin_only=True),
    ),
)


def mutants(objects: list[Data]) -> Iterator[tuple[Operator, int, Data]]:
    """(operator, index of the object it changed, the changed copy) for every operator that
    applies to each object."""
    for operator in OPERATORS:
        for index, original in enumerate(objects):
            changed = copy.deepcopy(original)
            try:
                applied = operator.mutate(changed)
            except (KeyError, TypeError, IndexError, AttributeError):
                applied = False
            if applied and changed != original:
                yield operator, index, changed
