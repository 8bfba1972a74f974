"""The value lists of the Pod Security Standards that both the lint rule ``pod-security`` and
the admission check of ``validate`` compare with (k8s.io/pod-security-admission policy
``check_capabilities_baseline.go`` and ``check_restrictedVolumes.go``; docs/reference/api-validation.md).

Tuples, not sets: the values compared with them come from the manifest and may be of any type
(a mapping where a string belongs is a finding, not a crash on an unhashable value).
"""

from __future__ import annotations

#: Capabilities a baseline pod may add.
BASELINE_CAPABILITIES = (
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
)
#: Volume sources a restricted pod may use.
RESTRICTED_VOLUMES = (
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
)
