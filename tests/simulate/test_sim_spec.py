"""ScalingSpec from a ScaledObject, query classification, and errors that name the field."""

from __future__ import annotations

import pytest

from llmfleet.features.simulate import (
    KV_CACHE_USAGE,
    QUEUE,
    REQUEST_RATE,
    RUNNING,
    ScalingSpec,
    SpecError,
    classify_query,
)

SO = {
    "apiVersion": "keda.sh/v1alpha1",
    "kind": "ScaledObject",
    "metadata": {"name": "m-server"},
    "spec": {
        "scaleTargetRef": {"name": "m-server"},
        "minReplicaCount": 1,
        "maxReplicaCount": 4,
        "advanced": {
            "horizontalPodAutoscalerConfig": {
                "behavior": {
                    "scaleUp": {
                        "stabilizationWindowSeconds": 120,
                        "policies": [{"type": "Pods", "value": 2, "periodSeconds": 60}],
                    }
                }
            }
        },
        "triggers": [
            {
                "type": "prometheus",
                "name": "queue-depth",
                "metadata": {
                    "serverAddress": "http://p:9090",
                    "threshold": "5",
                    "query": 'sum(vllm:num_requests_waiting{model_name="m"})',
                },
            },
            {
                "type": "prometheus",
                "name": "rate",
                "metricType": "Value",
                "metadata": {
                    "serverAddress": "http://p:9090",
                    "threshold": "2.5",
                    "activationThreshold": "1",
                    "query": 'sum(rate(vllm:request_success_total{model_name="m"}[90s]))',
                },
            },
        ],
    },
}


def test_from_scaled_object():
    spec = ScalingSpec.from_scaled_object(SO)
    assert (spec.name, spec.min_replicas, spec.max_replicas) == ("m-server", 1, 4)
    assert (spec.polling_interval_s, spec.cooldown_period_s) == (30, 300)  # KEDA defaults
    q, r = spec.triggers
    assert (q.kind, q.target, q.metric_type) == (QUEUE, 5.0, "AverageValue")
    assert (r.kind, r.target, r.metric_type, r.activation, r.rate_window_s) == (
        REQUEST_RATE,
        2.5,
        "Value",
        1.0,
        90,
    )
    assert spec.behavior["scaleUp"]["stabilizationWindowSeconds"] == 120
    assert spec.to_dict()["triggers"][1]["kind"] == REQUEST_RATE


def test_keda_defaults_when_fields_are_absent():
    so = {"metadata": {"name": "x"}, "spec": {"triggers": SO["spec"]["triggers"][:1]}}
    spec = ScalingSpec.from_scaled_object(so)
    assert (spec.min_replicas, spec.max_replicas, spec.behavior) == (0, 100, None)
    assert spec.hpa_min_replicas == 1


@pytest.mark.parametrize(
    "query,kind",
    [
        ('sum(vllm:num_requests_waiting{model_name="m",namespace="inference"})', QUEUE),
        ("sum(vllm:num_requests_running)", RUNNING),
        ('avg(vllm:kv_cache_usage_perc{model_name="m"})', KV_CACHE_USAGE),
        ("sum(rate(vllm:request_success_total[2m]))", REQUEST_RATE),
        ("sum(irate(vllm:request_success_total[1m]))", REQUEST_RATE),
    ],
)
def test_classify_known_queries(query, kind):
    assert classify_query(query)[0] == kind


@pytest.mark.parametrize(
    "query,reason",
    [
        ("sum by (pod) (vllm:num_requests_waiting)", "single series"),
        ("avg(vllm:num_requests_waiting)", "use sum"),
        ("sum(up)", "not a vLLM series"),
        ("vllm:num_requests_waiting", "not a sum"),
        ("sum(vllm:num_requests_waiting", "does not parse"),
    ],
)
def test_classify_unknown_queries_says_why(query, reason):
    kind, _, why = classify_query(query)
    assert kind is None and reason in why


@pytest.mark.parametrize(
    "mutate,path",
    [
        (lambda so: so["spec"].__setitem__("minReplicaCount", "one"), "spec.minReplicaCount"),
        (lambda so: so["spec"].__setitem__("minReplicaCount", 9), "spec.minReplicaCount"),
        (
            lambda so: so["spec"]["triggers"][0]["metadata"].__setitem__("threshold", "five"),
            "spec.triggers[0].metadata.threshold",
        ),
        (
            lambda so: so["spec"]["triggers"][0]["metadata"].pop("threshold"),
            "spec.triggers[0].metadata.threshold",
        ),
        (
            lambda so: so["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleUp"][
                "policies"
            ][0].__setitem__("type", "Nodes"),
            "behavior.scaleUp.policies[0].type",
        ),
        (
            lambda so: so["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"][
                "scaleUp"
            ].__setitem__("stabilizationWindowSeconds", 7200),
            "behavior.scaleUp.stabilizationWindowSeconds",
        ),
        (lambda so: so["spec"].__setitem__("triggers", []), "spec.triggers"),
    ],
)
def test_bad_fields_are_named(mutate, path):
    import copy

    so = copy.deepcopy(SO)
    mutate(so)
    with pytest.raises(SpecError) as err:
        ScalingSpec.from_scaled_object(so)
    assert err.value.path == path, str(err.value)


def test_non_prometheus_trigger_is_kept_unsupported():
    so = {
        "metadata": {"name": "x"},
        "spec": {"triggers": [{"type": "cpu", "metricType": "Utilization", "metadata": {"value": "60"}}]},
    }
    [trigger] = ScalingSpec.from_scaled_object(so).triggers
    assert trigger.kind is None and "cpu" in trigger.unsupported_reason
