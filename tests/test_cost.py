"""``llmfleet cost``: the arithmetic (numbers computed by hand below), reading rendered
overlays, JSON, the PNG chart, and bad input."""

from __future__ import annotations

import json

import pytest
import yaml

from llmfleet.features.cost import estimate, report
from llmfleet.features.cost.estimate import ApiPricing
from llmfleet.infra.errors import UsageError
from llmfleet.model import OverlayModel
from llmfleet.model.k8s import Resource
from llmfleet_testlib import representative_overlays


def overlay_cost(name: str, objs: list[dict]):
    """estimate.overlay_cost over the fleet model of these rendered objects."""
    return estimate.overlay_cost(
        OverlayModel(name, [Resource(o, "<rendered>", i) for i, o in enumerate(objs)])
    )


PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def objects(
    gpu_class="l4",
    gpus=1,
    min_replicas=1,
    max_replicas=4,
    selector="affinity",
    scaled=True,
    replicas=None,
    cpu=None,
    memory=None,
) -> list[dict]:
    requests: dict = {"nvidia.com/gpu": gpus}
    if cpu is not None:
        requests["cpu"] = cpu
    if memory is not None:
        requests["memory"] = memory
    spec: dict = {
        "containers": [
            {
                "name": "vllm",
                "image": "vllm/vllm-openai:v0.33.0",
                "resources": {"requests": requests, "limits": {"nvidia.com/gpu": gpus}},
            }
        ]
    }
    if selector == "affinity":
        spec["affinity"] = {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {"key": "llmfleet.io/gpu-class", "operator": "In", "values": [gpu_class]}
                            ]
                        }
                    ]
                }
            }
        }
    elif selector == "nodeSelector":
        spec["nodeSelector"] = {"llmfleet.io/gpu-class": gpu_class}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "m-server"},
        "spec": {"template": {"spec": spec}},
    }
    if replicas is not None:
        deployment["spec"]["replicas"] = replicas
    out = [deployment]
    if scaled:
        so = {
            "apiVersion": "keda.sh/v1alpha1",
            "kind": "ScaledObject",
            "metadata": {"name": "m-server"},
            "spec": {"scaleTargetRef": {"name": "m-server"}},
        }
        if min_replicas is not None:
            so["spec"]["minReplicaCount"] = min_replicas
        if max_replicas is not None:
            so["spec"]["maxReplicaCount"] = max_replicas
        out.append(so)
    return out


# -- arithmetic, by hand -----------------------------------------------------------------------


# Prices below are the instance prices of tools/llmfleet/data/instance_prices.yaml, on whole
# nodes (ceil(pods / pods per node) nodes of the shape cheapest for that replica count), worked
# out by hand.


def test_one_l4_by_hand():
    # A pod that requests only its GPU packs onto the smallest L4 node: g2-standard-4,
    # $0.706832255/h (us-central1), below g6.xlarge's $0.8048 (us-east-1).
    c = overlay_cost("m", objects())
    assert (c.gpu.name, c.gpus_per_pod, c.min_replicas, c.max_replicas) == ("l4", 1, 1, 4)
    assert c.per_hour_min == pytest.approx(0.706832255)
    assert c.per_day_min == pytest.approx(16.96397412)  # 0.706832255 x 24
    assert c.per_day_max == pytest.approx(67.85589648)  # 4 x 0.706832255 x 24
    api = ApiPricing()  # GPT-4o-mini: $0.15 / $0.60 per M
    assert api.per_request == pytest.approx(0.000195)  # (500 x 0.15 + 200 x 0.60) / 1e6
    assert api.per_day(1000) == pytest.approx(0.195)  # 1000 x 0.000195
    assert c.break_even(api) == pytest.approx(86_994.739, rel=1e-6)  # 16.96397412 / 0.000195


def test_cpu_and_memory_requests_choose_a_bigger_node():
    # 4 CPU + 24 GiB (base/deployment.yaml) do not fit g2-standard-4 or g6.xlarge (3.92
    # allocatable cores less 0.5 headroom): g2-standard-8 at $0.853624271 is the cheapest.
    c = overlay_cost("m", objects(cpu="4", memory="24Gi"))
    assert c.per_hour_min == pytest.approx(0.853624271)
    assert c.replica_price.placement.shape.name == "g2-standard-8"
    assert c.spot_replica_hour == pytest.approx(0.336764)


def test_four_a100_by_hand():
    # 4 x A100 80GB, no CPU/memory requests.  One replica: a whole Standard_NC96ads_A100_v4
    # (4 GPUs, $14.692/h) -- below a whole p4de.24xlarge ($27.44705, half of it idle) and
    # a2-ultragpu-4g ($20.27519156).  Two replicas: one p4de.24xlarge holds both ($27.44705),
    # below 2 x $14.692 = $29.384.  The share of a p4de ($13.723525) is only the marginal price.
    c = overlay_cost("big", objects("a100-80gb", gpus=4, min_replicas=1, max_replicas=2))
    assert c.per_hour_min == pytest.approx(14.692)
    assert [(n.placement.shape.name, n.count) for n in c.nodes(1)] == [("Standard_NC96ads_A100_v4", 1)]
    assert c.per_hour_max == pytest.approx(27.44705)
    assert [(n.placement.shape.name, n.count, n.free_slots) for n in c.nodes(2)] == [("p4de.24xlarge", 1, 0)]
    assert c.replica_price.placement.pods_per_node == 2
    assert c.replica_hour == pytest.approx(13.723525)  # marginal: 27.44705 / 2
    assert c.per_day_min == pytest.approx(352.608)  # 14.692 x 24
    assert c.per_day_max == pytest.approx(658.7292)  # 27.44705 x 24
    assert c.break_even(ApiPricing()) == pytest.approx(1_808_246.15, rel=1e-6)  # 352.608 / 0.000195


def test_cloud_bounds_the_instance():
    from llmfleet.catalog.pricing.offer import offer_for

    model = OverlayModel(
        "big", [Resource(o, "<rendered>", i) for i, o in enumerate(objects("a100-80gb", gpus=4))]
    )
    on_gke = estimate.overlay_cost(model, offer_for("gke"))
    assert on_gke.per_hour_min == pytest.approx(20.27519156)  # a2-ultragpu-4g, whole node
    assert on_gke.spot_replica_hour == pytest.approx(8.10987342)
    on_eks = estimate.overlay_cost(model, offer_for("eks"))
    # One replica on EKS: the p4de.24xlarge is the only A100 80GB shape, and a lone 4-GPU pod
    # pays the whole node ($27.44705), one of its two 4-GPU slots free.
    assert on_eks.per_hour_min == pytest.approx(27.44705)
    assert [n.free_slots for n in on_eks.nodes(1)] == [1]
    # EC2 spot of p4de.24xlarge: the median of its two us-east-1 zones (7.8074, 5.8394) = 6.8234
    # for the node; half of it is the marginal spot price of a replica.
    assert on_eks.spot_per_day(1) == pytest.approx(6.8234 * 24)
    assert on_eks.spot_replica_hour == pytest.approx(3.4117)
    assert on_eks.to_json(ApiPricing(), 0)["spot_price_date"] == "before 2026-09-24"
    # AKS: a whole Standard_NC96ads_A100_v4 (4 x A100 80GB), $14.692/h, Spot $1.777732/h.
    on_aks = estimate.overlay_cost(model, offer_for("aks"))
    assert (on_aks.per_hour_min, on_aks.spot_replica_hour) == (pytest.approx(14.692), pytest.approx(1.777732))
    assert on_aks.to_json(ApiPricing(), 0)["price_instance"] == "Standard_NC96ads_A100_v4 (aks eastus)"


def test_custom_api_prices_by_hand():
    api = ApiPricing(input_price=2.50, output_price=10.00, input_tokens=1000, output_tokens=300)
    assert api.per_request == pytest.approx(0.0055)  # (1000 x 2.5 + 300 x 10) / 1e6
    # 1 x H100, 2 replicas: two Standard_NC40ads_H100_v5 (1 GPU, $6.98/h) = $13.96, below a
    # whole p5.48xlarge ($55.04, 6 of its 8 GPUs idle) and 2 x a3-highgpu-1g ($11.06).
    c = overlay_cost("m", objects("h100-80gb", min_replicas=2, max_replicas=3))
    assert c.per_day_min == pytest.approx(335.04)  # 2 x 6.98 x 24
    assert c.break_even(api) == pytest.approx(60_916.364, rel=1e-6)  # 335.04 / 0.0055


def test_api_price_by_size_class():
    api = ApiPricing(by_size=True)
    c = overlay_cost("m", objects())
    c.params = 70.6e9
    own = c.api_for(api)
    assert (own.input_price, own.output_price) == (0.88, 0.88)
    assert own.per_request == pytest.approx(0.000616)  # (500 + 200) x 0.88 / 1e6
    assert c.break_even(api) == pytest.approx(16.96397412 / 0.000616)
    c.params = None  # size unknown: the given prices
    assert c.api_for(api).input_price == 0.15


def test_text_shows_the_arithmetic():
    text = report.format_text([overlay_cost("m", objects())], ApiPricing(), 1000)
    assert "API: 1,000 req × (500 in × $0.15 + 200 out × $0.60)/1e6 = $0.195/day" in text
    assert "price: g2-standard-4 (1 × l4, $0.7068/h on demand, gke us-central1): the whole node" in text
    assert (
        "min: 1 replica on 1 node of g2-standard-4 (1 × l4, $0.7068/h on demand, gke us-central1) "
        "× 24 h = $16.96/day ($0.7068/h, on-demand); 0 of 1 GPU slots free"
    ) in text
    assert "max: 4 replicas on 4 nodes of g2-standard-4 " in text
    assert "× 24 h = $67.86/day ($2.8273/h, on-demand); 0 of 4 GPU slots free" in text
    assert "break-even: $16.96/day ÷ $0.000195/request = 86,995 requests/day" in text
    assert "at 1,000 requests/day the API is cheaper" in text
    # No vLLM server in these objects: the capacity is unknown, and the report says so.
    assert "capacity: unknown" in text and "reachability unknown" in text
    big = report.format_text(
        [overlay_cost("big", objects("a100-80gb", gpus=4, max_replicas=2))], ApiPricing(), 2_000_000
    )
    assert (
        "min: 1 replica on 1 node of Standard_NC96ads_A100_v4 (4 × a100-80gb, $14.6920/h on demand, "
        "aks eastus) × 24 h = $352.61/day"
    ) in big
    assert (
        "max: 2 replicas on 1 node of p4de.24xlarge (8 × a100-80gb, $27.4471/h on demand, eks us-east-1) "
        "× 24 h = $658.73/day ($27.4471/h, on-demand); 0 of 2 4-GPU slots free"
    ) in big
    assert (
        "marginal: $13.7235/h per replica once its node is shared (p4de.24xlarge (8 × a100-80gb, "
        "$27.4471/h on demand, eks us-east-1): 1/2 of the node)"
    ) in big
    assert "at 2,000,000 requests/day self-hosted is cheaper" in big
    assert "Prices: on demand; whole nodes: at each replica count" in big


def test_money_format():
    assert estimate.money(16.8) == "$16.80"
    assert estimate.money(0.195) == "$0.195"
    assert estimate.money(0.000195) == "$0.000195"
    assert estimate.money(0.7) == "$0.70"
    assert estimate.money(1234.5) == "$1,234.50"


# -- reading the objects -----------------------------------------------------------------------


def test_node_selector_and_keda_defaults():
    c = overlay_cost("m", objects("t4", selector="nodeSelector", min_replicas=None, max_replicas=None))
    assert (c.gpu.name, c.min_replicas, c.max_replicas) == ("t4", 0, 100)  # KEDA's defaults
    # g4dn.xlarge and Standard_NC4as_T4_v3 both cost $0.526/h on demand (any cloud: the tie
    # goes to either); the spot column is that instance's sourced spot price, never gpus.yaml's
    # undated per-GPU $0.35.
    assert c.per_day_max == pytest.approx(100 * 0.526 * 24)
    chosen = c.replica_price.placement.price
    assert chosen.name in ("g4dn.xlarge", "Standard_NC4as_T4_v3") and chosen.spot is not None
    assert c.spot_per_day(100) == pytest.approx(100 * chosen.spot * 24)
    assert chosen.spot != c.gpu.spot_price_per_hour


def test_class_without_instance_price_falls_back_to_per_gpu():
    from llmfleet.catalog.pricing.offer import offer_for

    # T4 on GKE: n1 machines with attached T4s have no instance price in the table.
    model = OverlayModel("m", [Resource(o, "<rendered>", i) for i, o in enumerate(objects("t4"))])
    c = estimate.overlay_cost(model, offer_for("gke"))
    assert c.replica_price.basis == "per-gpu"
    assert c.per_hour_min == pytest.approx(0.526)  # gpus.yaml's t4 price_per_hour
    assert c.spot_replica_hour == pytest.approx(0.35)  # and its spot figure
    assert "per-GPU price of gpus.yaml" in report.format_text([c], ApiPricing(), 1000)


def test_without_scaled_object_uses_spec_replicas():
    c = overlay_cost("m", objects(scaled=False, replicas=3))
    assert (c.min_replicas, c.max_replicas, c.replicas_source) == (3, 3, "spec.replicas 3")


def test_no_gpu_workload_is_skipped():
    assert (
        overlay_cost(
            "cpu",
            [
                {
                    "kind": "Deployment",
                    "metadata": {"name": "x"},
                    "spec": {"template": {"spec": {"containers": [{"name": "a"}]}}},
                }
            ],
        )
        is None
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"gpu_class": "v100"}, "GPU class 'v100' is not in the catalog"),
        ({"selector": None}, "select no GPU class"),
    ],
)
def test_unpriceable_overlays(kwargs, message):
    with pytest.raises(UsageError, match=message):
        overlay_cost("m", objects(**kwargs))


# -- the command on a repository copy ---------------------------------------------------------


def test_cost_json_for_the_repository(cli, repo_copy):
    result = cli(["cost", "--format", "json", "--requests-per-day", "50000"], cwd=repo_copy)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    # No --api-*-price: every overlay is compared with a hosted model of its size.
    assert doc["api"] == {"per_request": None, "per_day": None, "by_size": True}
    by_name = {o["overlay"]: o for o in doc["overlays"]}
    assert by_name, "no overlays priced"
    for o in by_name.values():
        # Whole nodes: the instance price of each node group at min replicas, x 24.
        expected_min = sum(n["per_hour_on_demand"] for n in o["nodes_min"]) * 24
        assert o["per_day_min"] == pytest.approx(expected_min)
        for n in o["nodes_min"] + o["nodes_max"]:
            assert n["slots"] - n["pods"] == n["free_slots"] >= 0
        api = o["api"]
        per_request = (500 * api["input_price_per_million"] + 200 * api["output_price_per_million"]) / 1e6
        assert o["break_even_requests_per_day"] == pytest.approx(expected_min / per_request, rel=1e-6)
    if "llama-3-1-8b-instruct" in by_name:
        o = by_name["llama-3-1-8b-instruct"]
        # 4 CPU + 24 GiB on one L4: a g2-standard-8 at $0.853624271/h, the whole node; 3 warm
        # replicas (docs/deploying.md §9.5).
        assert (o["gpu_class"], o["gpus_per_pod"], o["min_replicas"]) == ("l4", 1, 3)
        assert o["per_day_min"] == pytest.approx(3 * 0.853624271 * 24, abs=1e-6)
        assert o["price_instance"] == "g2-standard-8 (gke us-central1)" and o["pods_per_node"] == 1
        assert [(n["instance"], n["count"], n["free_slots"]) for n in o["nodes_min"]] == [
            ("g2-standard-8", 3, 0)
        ]
        assert o["api"]["size_class"].startswith("up to 10B")
    if "llama-3-1-405b-instruct-fp8" in by_name:
        assert by_name["llama-3-1-405b-instruct-fp8"]["api"]["size_class"].startswith("over 100B")
    # GPUs of one replica (the `gpus_per_pod` field): a pod, or a whole multi-node group,
    # = tensor x pipeline parallel of its serve.yaml (16 H100 for the 405B group).
    for name, o in by_name.items():
        serve = yaml.safe_load((repo_copy / "overlays" / name / "serve.yaml").read_text())
        assert o["gpus_per_pod"] == serve.get("tensor-parallel-size", 1) * serve.get(
            "pipeline-parallel-size", 1
        ), name
    assert doc["total"]["per_day_min"] == pytest.approx(sum(o["per_day_min"] for o in doc["overlays"]))
    # Capacity and reachability for every overlay, on one price basis.
    assert "instance" in doc["assumptions"]["gpu_price_basis"]
    for name, o in by_name.items():
        cap = o["capacity"]
        assert cap is not None, (name, o["capacity_unknown_because"])
        assert cap["basis"] in ("autoscaling-target", "sizing") and cap["detail"]
        assert cap["requests_per_day_at_max_replicas"] == pytest.approx(
            cap["requests_per_day_per_replica"] * o["max_replicas"], rel=1e-3
        )
        assert o["break_even_reachable"] in (True, False)
        assert o["break_even_status"] in ("reachable", "api-cheaper", "not-reachable")
        reachable_at_min = (
            o["break_even_requests_per_day"] <= cap["requests_per_day_per_replica"] * o["min_replicas"]
        )
        assert o["break_even_reachable"] == reachable_at_min
        if o["break_even_status"] == "not-reachable":
            assert o["break_even_requests_per_day"] > cap["requests_per_day_at_max_replicas"]
            assert o["replicas_for_break_even"] > o["max_replicas"]
        assert o["price_date"] and o["price_instance"] and o["pricing"] == "on-demand"
    if "llama-3-1-405b-instruct-fp8" in by_name:
        o = by_name["llama-3-1-405b-instruct-fp8"]
        # Leader and worker each on a whole p5.48xlarge ($55.04/h): 2 nodes.
        assert o["gpus_per_replica"] == 16 and o["per_day_min"] == pytest.approx(2 * 55.04 * 24)
        assert [(n["instance"], n["count"]) for n in o["nodes_min"]] == [("p5.48xlarge", 2)]


def test_cost_plot_writes_a_png(cli, repo_copy, tmp_path):
    png = tmp_path / "estimate.png"
    overlay = sorted((repo_copy / "overlays").iterdir())[0]
    result = cli(["cost", str(overlay), "--plot", str(png)], cwd=repo_copy)
    assert result.exit_code == 0, result.stderr
    data = png.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 10_000
    assert f"chart: {png}" in result.stdout
    assert not list(tmp_path.glob(".*.tmp"))


def test_plot_function_directly(tmp_path):
    png = tmp_path / "x.png"
    report.plot([overlay_cost("m", objects())], ApiPricing(), 1000, png)
    assert png.read_bytes()[:8] == PNG_MAGIC


@pytest.mark.parametrize(
    "args, message",
    [
        (["--requests-per-day", "-5"], "--requests-per-day -5.0: must be a number >= 0"),
        (["--api-input-price", "-1"], "--api-input-price -1.0: must be a number >= 0"),
        (
            ["overlays/no-such-model"],
            "overlays/no-such-model: no such overlay (neither a folder nor overlays/no-such-model)",
        ),
        (["--plot", "/no/such/dir/x.png"], "--plot /no/such/dir/x.png: folder /no/such/dir does not exist"),
    ],
)
def test_cost_bad_input(cli, repo_copy, args, message):
    result = cli(["cost", *args], cwd=repo_copy)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("name", representative_overlays())
def test_cost_unknown_gpu_class_in_an_overlay(cli, repo_copy, name):
    overlay = repo_copy / "overlays" / name
    components = repo_copy / "components"
    # Point the overlay's GPU component at a class the catalog does not know, in every
    # patch of it (the Deployment's and the LeaderWorkerSet's).
    kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text())
    gpu_component = next(c for c in kustomization["components"] if "/gpu-" in c)
    folder = (overlay / gpu_component).resolve()
    assert components in folder.parents
    gpu_class = f'["{gpu_component.rsplit("gpu-", 1)[1]}"]'
    patches = [p for p in folder.glob("patch-*.yaml") if gpu_class in p.read_text()]
    assert len(patches) == 2, patches
    for patch in patches:
        patch.write_text(patch.read_text().replace(gpu_class, '["v100"]'))
    result = cli(["cost", str(overlay)], cwd=repo_copy)
    assert result.exit_code == 2
    assert "GPU class 'v100' is not in the catalog" in result.stderr


def test_spot_pricing_places_the_pod_where_a_spot_price_is_sourced():
    from llmfleet.catalog.pricing.offer import offer_for

    # 4 x A100 80GB: on demand, half a p4de.24xlarge ($13.72/h). At spot the cheapest is a
    # whole Standard_NC96ads_A100_v4 at Azure Spot, $1.777732/h (eastus) -- against half a
    # p4de.24xlarge at EC2 spot (6.8234 / 2 = $3.4117) and a2-ultragpu-4g's Spot VM $8.10987342.
    model = OverlayModel(
        "big", [Resource(o, "<rendered>", i) for i, o in enumerate(objects("a100-80gb", gpus=4))]
    )
    spot = estimate.overlay_cost(model, spot=True)
    spot.pricing = "spot"
    assert spot.replica_price.placement.shape.name == "Standard_NC96ads_A100_v4"
    assert spot.per_hour_min == pytest.approx(1.777732)
    on_gke = estimate.overlay_cost(model, offer_for("gke"), spot=True)
    on_gke.pricing = "spot"
    assert on_gke.replica_price.placement.shape.name == "a2-ultragpu-4g"
    assert on_gke.per_hour_min == pytest.approx(8.10987342)
    on_demand = estimate.overlay_cost(model)
    assert on_demand.replica_price.placement.shape.name == "p4de.24xlarge"
