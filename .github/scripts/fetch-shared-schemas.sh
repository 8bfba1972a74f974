#!/usr/bin/env bash
# Lays out ../shared/schemas on a GitHub runner the way the project's own CI machine has it:
# the CRD schemas from datreeio/CRDs-catalog and the SARIF and workflow schemas from
# SchemaStore, each at the commit ../shared/schemas/README.md names.
set -euo pipefail
dest="${1:-../shared/schemas}"
crds_commit=7b1e26ef9deea49293714d204c1a2270aab1178f
store_commit=3b6446ad8a077bac56f4a4796c0b7fd88927fc8e
crds=(
  keda.sh/scaledobject_v1alpha1.json keda.sh/scaledjob_v1alpha1.json
  keda.sh/triggerauthentication_v1alpha1.json keda.sh/clustertriggerauthentication_v1alpha1.json
  monitoring.coreos.com/podmonitor_v1.json monitoring.coreos.com/servicemonitor_v1.json
  monitoring.coreos.com/prometheusrule_v1.json
  argoproj.io/application_v1alpha1.json argoproj.io/applicationset_v1alpha1.json
  argoproj.io/appproject_v1alpha1.json
  gateway.networking.k8s.io/gateway_v1.json gateway.networking.k8s.io/httproute_v1.json
  gateway.networking.k8s.io/referencegrant_v1.json
)
for f in "${crds[@]}"; do
  mkdir -p "$dest/crds/$(dirname "$f")"
  curl -fsSL --retry 3 -o "$dest/crds/$f" \
    "https://raw.githubusercontent.com/datreeio/CRDs-catalog/$crds_commit/$f"
done
mkdir -p "$dest/other"
for f in sarif-2.1.0.json github-workflow.json; do
  curl -fsSL --retry 3 -o "$dest/other/$f" \
    "https://raw.githubusercontent.com/SchemaStore/schemastore/$store_commit/src/schemas/json/$f"
done
echo "schemas in $dest"
