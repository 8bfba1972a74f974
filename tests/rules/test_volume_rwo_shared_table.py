"""volume-rwo-shared, edge by edge: a ReadWriteOnce claim mounted by more than one pod is a
warning (the pods must share the node that attaches it), a ReadWriteOncePod claim an error (the
scheduler admits one pod); StatefulSet claim templates, many-node modes and claims the input
does not define are not judged (docs/reference/storage.md)."""

from __future__ import annotations

import pytest

from rule_tables import findings, where

CLAIM = "/spec/template/spec/volumes/0/persistentVolumeClaim/claimName"


def pvc(modes: str = "[ReadWriteOnce]", name: str = "cache", namespace: str = "llm") -> str:
    return f"""---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: {name}, namespace: {namespace}}}
spec: {{accessModes: {modes}, resources: {{requests: {{storage: 50Gi}}}}}}
"""


def workload(
    kind: str = "Deployment",
    name: str = "w",
    spec: str = "replicas: 1",
    volume: str = "{name: c, persistentVolumeClaim: {claimName: cache}}",
) -> str:
    return f"""---
apiVersion: apps/v1
kind: {kind}
metadata: {{name: {name}, namespace: llm}}
spec:
  {spec}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers: [{{name: c, image: busybox:1.37, volumeMounts: [{{name: c, mountPath: /c}}]}}]
      volumes: [{volume}]
"""


SCALED = """---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: so, namespace: llm}
spec: {scaleTargetRef: {name: w}, minReplicaCount: 1, maxReplicaCount: 4, triggers: []}
"""
LWS = """---
apiVersion: leaderworkerset.x-k8s.io/v1
kind: LeaderWorkerSet
metadata: {name: lws, namespace: llm}
spec:
  replicas: 1
  leaderWorkerTemplate:
    size: 2
    leaderTemplate:
      spec:
        containers: [{name: c, image: busybox:1.37}]
        volumes: [{name: c, persistentVolumeClaim: {claimName: cache}}]
    workerTemplate:
      spec:
        containers: [{name: c, image: busybox:1.37}]
        volumes: [{name: c, persistentVolumeClaim: {claimName: cache}}]
"""
CLAIM_TEMPLATES = """volumeClaimTemplates:
  - metadata: {name: c}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 50Gi}}}
  replicas: 3
  serviceName: w"""
RUNTIME = """---
apiVersion: serving.kserve.io/v1alpha1
kind: ServingRuntime
metadata: {name: rt, namespace: llm}
spec:
  containers: [{name: kserve-container, image: busybox:1.37}]
  volumes: [{name: c, persistentVolumeClaim: {claimName: cache}}]
"""


def dynamo(replicas: int, mode: str = "ReadWriteOnce") -> str:
    return f"""---
apiVersion: nvidia.com/v1alpha1
kind: DynamoGraphDeployment
metadata: {{name: dgd, namespace: llm}}
spec:
  pvcs:
    - {{name: model-cache, create: true, size: 80Gi, storageClass: managed-csi, volumeAccessMode: {mode}}}
  services:
    Worker:
      replicas: {replicas}
      volumeMounts: [{{name: model-cache, mountPoint: /cache}}]
      extraPodSpec:
        mainContainer: {{image: busybox:1.37}}
"""


W = ("Deployment", "w")
TABLE = [
    (
        "RWO, one replica, default rolling update: the surge pod may land on another node",
        pvc() + workload(),
        [("warning", *W, CLAIM)],
    ),
    ("RWO, one replica, Recreate", pvc() + workload(spec="replicas: 1\n  strategy: {type: Recreate}"), []),
    (
        "RWO, one replica, maxSurge 0",
        pvc() + workload(spec="replicas: 1\n  strategy: {rollingUpdate: {maxSurge: 0, maxUnavailable: 1}}"),
        [],
    ),
    (
        "RWO, one replica, maxUnavailable 1: the old pod goes first",
        pvc() + workload(spec="replicas: 1\n  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 1}}"),
        [],
    ),
    ("RWO, one StatefulSet pod: no surge", pvc() + workload("StatefulSet", spec="serviceName: w"), []),
    ("RWO, three replicas: a warning", pvc() + workload(spec="replicas: 3"), [("warning", *W, CLAIM)]),
    (
        "RWO and no replicas field: one pod, default rolling update",
        pvc() + workload(spec="minReadySeconds: 0"),
        [("warning", *W, CLAIM)],
    ),
    ("RWX, three replicas", pvc("[ReadWriteMany]") + workload(spec="replicas: 3"), []),
    (
        "RWO and ROX: many nodes may attach it",
        pvc("[ReadWriteOnce, ReadOnlyMany]") + workload(spec="replicas: 3"),
        [],
    ),
    (
        "RWOP, two replicas: an error",
        pvc("[ReadWriteOncePod]") + workload(spec="replicas: 2"),
        [("error", *W, CLAIM)],
    ),
    (
        "RWOP, one replica, default rolling update: the rollout never ends",
        pvc("[ReadWriteOncePod]") + workload(),
        [("warning", *W, CLAIM)],
    ),
    (
        "RWOP, one replica, Recreate",
        pvc("[ReadWriteOncePod]") + workload(spec="replicas: 1\n  strategy: {type: Recreate}"),
        [],
    ),
    (
        "RWOP, one replica, maxUnavailable 1",
        pvc("[ReadWriteOncePod]")
        + workload(spec="replicas: 1\n  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 1}}"),
        [],
    ),
    (
        "RWOP, one StatefulSet pod",
        pvc("[ReadWriteOncePod]") + workload("StatefulSet", spec="serviceName: w"),
        [],
    ),
    ("RWO, one replica autoscaled to 4", pvc() + workload() + SCALED, [("warning", *W, CLAIM)]),
    (
        "RWO, two Deployments of one replica each",
        pvc() + workload() + workload(name="v"),
        [("warning", *W, CLAIM), ("warning", "Deployment", "v", CLAIM)],
    ),
    (
        "RWO claim of another namespace: not this claim",
        pvc(namespace="other") + workload(spec="replicas: 3"),
        [],
    ),
    ("a claim the input does not define", workload(spec="replicas: 3"), []),
    (
        "StatefulSet volumeClaimTemplates: one claim per pod",
        workload("StatefulSet", spec=CLAIM_TEMPLATES, volume="{name: d, emptyDir: {}}"),
        [],
    ),
    (
        "StatefulSet: a template volume named like a claim template is replaced by it",
        pvc() + workload("StatefulSet", spec=CLAIM_TEMPLATES),
        [],
    ),
    (
        "StatefulSet of three replicas on one shared RWO claim",
        pvc() + workload("StatefulSet", spec="replicas: 3\n  serviceName: w"),
        [("warning", "StatefulSet", "w", CLAIM)],
    ),
    (
        "DaemonSet: one pod per node",
        pvc() + workload("DaemonSet", spec="minReadySeconds: 0"),
        [("warning", "DaemonSet", "w", CLAIM)],
    ),
    (
        "LeaderWorkerSet of size 2: leader and worker mount it",
        pvc() + LWS,
        [
            (
                "warning",
                "LeaderWorkerSet",
                "lws",
                "/spec/leaderWorkerTemplate/leaderTemplate/spec/volumes/0/persistentVolumeClaim/claimName",
            ),
            (
                "warning",
                "LeaderWorkerSet",
                "lws",
                "/spec/leaderWorkerTemplate/workerTemplate/spec/volumes/0/persistentVolumeClaim/claimName",
            ),
        ],
    ),
    ("a ServingRuntime runs no pods itself", pvc() + RUNTIME, []),
    (
        "Dynamo: an RWO claim of spec.pvcs mounted by 8 service replicas",
        dynamo(8),
        [("warning", "DynamoGraphDeployment", "dgd", "/spec/services/Worker/volumeMounts/0/name")],
    ),
    ("Dynamo: one replica", dynamo(1), []),
    ("Dynamo: ReadWriteMany", dynamo(8, "ReadWriteMany"), []),
]


@pytest.mark.parametrize(("case", "text", "expected"), TABLE, ids=[row[0] for row in TABLE])
def test_volume_rwo_shared_table(case, text, expected):
    assert where(findings("volume-rwo-shared", text)) == sorted(expected)


def test_the_message_names_the_claim_its_mode_and_the_pod_count():
    (row,) = findings("volume-rwo-shared", pvc() + workload() + SCALED)
    message = row[4]
    assert "'cache'" in message and "ReadWriteOnce" in message and "up to 4 pods" in message
    assert "Multi-Attach" in message
