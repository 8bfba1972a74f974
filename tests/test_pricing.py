"""llmfleet.catalog.pricing: the instance price table, bin-packing pods onto node shapes, what a
cluster (cluster.cloud, cluster.node-shapes) offers, and the API price by model size.
Expected figures are worked out by hand from the two data files."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import yaml

from llmfleet.catalog import entries as catalog
from llmfleet.catalog import node_shapes as nodes
from llmfleet.catalog import planning
from llmfleet.catalog.pricing import api, binpack, instances
from llmfleet.catalog.pricing.binpack import PodRequest
from llmfleet.catalog.pricing.offer import group_price, offer_for, scaffold_pod_request
from llmfleet.infra.errors import UsageError
from llmfleet_testlib import REPO_ROOT

GI = Decimal(1024**3)
DATA = REPO_ROOT / "tools" / "llmfleet" / "data"
CONFIGS = REPO_ROOT / "tests" / "data" / "hf_configs"


def shape(name: str, cloud: str) -> nodes.NodeShape:
    return next(s for s in nodes.catalog().shapes if s.name == name and s.cloud == cloud)


# -- the tables --------------------------------------------------------------------------


def test_every_price_row_is_a_node_shape_of_the_same_size():
    raw = yaml.safe_load((DATA / "node_shapes.yaml").read_text())
    by_key = {
        (cloud, entry["name"], entry["gpus"]): (gpu_class, entry)
        for gpu_class, clouds in raw["shapes"].items()
        for cloud, entries in clouds.items()
        for entry in entries
    }
    table = instances.table()
    assert len(table.rows) >= 50
    for row in table.rows:
        key = (row.cloud, row.name, row.gpus)
        assert key in by_key, f"{row.name} ({row.cloud}, {row.gpus} GPUs) is no shape of node_shapes.yaml"
        gpu_class, entry = by_key[key]
        assert (row.gpu_class, row.vcpu, row.memory_gib) == (gpu_class, entry["cpu"], entry["memory_gib"]), (
            row
        )
        assert row.source.url.startswith("https://") and row.source.read
        if row.spot is not None:
            assert row.spot < row.on_demand, row


def test_price_table_errors_name_the_row_and_field():
    raw = yaml.safe_load(instances.DATA_FILE.read_text())
    raw["instances"][3]["on_demand"] = "cheap"
    with pytest.raises(instances.PriceTableError, match=r"instances\[3\] \(g4dn.8xlarge\): on_demand"):
        instances.parse(raw)
    raw = yaml.safe_load(instances.DATA_FILE.read_text())
    raw["instances"][0]["source"] = "nowhere"
    with pytest.raises(instances.PriceTableError, match="source 'nowhere' is not in sources"):
        instances.parse(raw)
    raw = yaml.safe_load(instances.DATA_FILE.read_text())
    raw["instances"].append(dict(raw["instances"][0]))
    with pytest.raises(instances.PriceTableError, match="listed twice"):
        instances.parse(raw)


def test_api_price_by_size_class():
    assert api.for_params(8.03e9).reference == "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"
    assert (api.for_params(32.8e9).input, api.for_params(32.8e9).output) == (0.80, 0.80)
    assert api.for_params(70.6e9).input == 0.88
    assert api.for_params(405.9e9).input == 3.50
    # An MoE counts every expert: Mixtral 8x7B (46.7B) is a 40B-100B model.
    assert api.for_params(46.7e9).name == "40B-100B"
    bounds = [c.max_params_b for c in api.classes()]
    assert bounds[-1] is None and bounds[:-1] == sorted(b for b in bounds[:-1] if b is not None)


# -- bin-packing ---------------------------------------------------------------------------


def test_pods_per_node_by_hand():
    headroom = nodes.catalog().headroom  # 0.5 CPU, 2 GiB
    g6_12 = shape("g6.12xlarge", "eks")  # 4 L4, 47810m, 193679Mi allocatable
    one = PodRequest("l4", 1, Decimal(4), 24 * GI)
    # GPUs: 4; CPU: (47.81 - 0.5) // 4 = 11; memory: (193679 - 2048) Mi // 24576 Mi = 7.
    assert binpack.pods_per_node(g6_12, one, headroom) == 4
    fat = PodRequest("l4", 1, Decimal(4), 48 * GI)  # memory: 191631 // 49152 = 3
    assert binpack.pods_per_node(g6_12, fat, headroom) == 3
    four = PodRequest("l4", 4, Decimal(16), 128 * GI)
    assert binpack.pods_per_node(g6_12, four, headroom) == 1
    assert binpack.pods_per_node(shape("g6.xlarge", "eks"), one, headroom) == 0  # 3.92 cores < 4.5


def test_cheapest_placement_is_a_share_of_the_instance():
    table, shapes = instances.table(), nodes.catalog()
    one = PodRequest("l4", 1, Decimal(4), 24 * GI)
    best = binpack.cheapest(one, shapes, table)
    # g2-standard-8 $0.853624271 < g6.2xlarge $0.9776 < g6.12xlarge $4.6016 / 4 = $1.1504.
    assert (best.shape.name, best.pods_per_node) == ("g2-standard-8", 1)
    assert best.per_pod_hour == pytest.approx(0.853624271)
    eks = binpack.cheapest(one, shapes, table, ("eks",))
    assert (eks.shape.name, eks.per_pod_hour) == ("g6.2xlarge", pytest.approx(0.9776))
    # The example: a 4 x L4 pod costs the g6.12xlarge that holds it ($4.6016/h), not
    # 4 x $0.8048; one A100 80GB pod is 1/8 of a p4de.24xlarge ($27.44705 / 8 = $3.4309).
    four_l4 = binpack.cheapest(scaffold_pod_request("l4", 4), shapes, table, ("eks",))
    assert (four_l4.shape.name, four_l4.per_pod_hour) == ("g6.12xlarge", pytest.approx(4.6016))
    a100 = binpack.cheapest(scaffold_pod_request("a100-80gb", 1), shapes, table, ("eks",))
    assert a100.pods_per_node == 8 and a100.per_pod_hour == pytest.approx(3.43088125)


# -- what a cluster offers -------------------------------------------------------------------


def test_cloud_bounds_the_classes():
    gke = offer_for("gke")
    assert gke.unavailable("l40s") and "not offered on gke" in gke.unavailable("l40s")
    assert gke.unavailable("a10g-24gb")
    assert gke.unavailable("l4") is None
    assert offer_for("eks").unavailable("l40s") is None
    with pytest.raises(UsageError, match="cluster.cloud 'azure'"):
        offer_for("azure")
    limited = offer_for(None, ("g2-standard-8", "a2-ultragpu-1g"))
    assert (
        limited.unavailable("h100-80gb") == "no h100-80gb node shape in cluster.node-shapes (llmfleet.yaml)"
    )
    assert limited.unavailable("l4") is None


def test_aks_offers_only_its_derived_classes():
    aks = offer_for("aks")
    assert aks.unavailable("t4") is None
    assert [s.name for s in aks.shapes_of("t4")] == [
        "Standard_NC4as_T4_v3",
        "Standard_NC8as_T4_v3",
        "Standard_NC16as_T4_v3",
        "Standard_NC64as_T4_v3",
    ]
    assert "not offered on aks" in aks.unavailable("l4")
    assert "not offered on aks" in aks.unavailable("b200")
    pending = aks.unavailable("a100-80gb")
    assert pending and "aks rents it" in pending and "not_derived" in pending
    # The not_derived entry is for aks only: GKE still offers the class.
    assert offer_for("gke").unavailable("a100-80gb") is None


def test_aks_t4_pods_are_priced_per_gpu_until_aks_has_instance_prices():
    t4 = catalog.get_gpu("t4")
    aks = offer_for("aks")
    # One T4, 4 CPU, 24 GiB: fits Standard_NC4as_T4_v3 (3860m - 500m, 23522Mi - 2Gi = 21474 MiB
    # is less than 24 GiB = 24576 MiB, so not there) -- the NC8as (7820m, 52194Mi) holds it.
    one = scaffold_pod_request("t4", 1)
    assert not shape("Standard_NC4as_T4_v3", "aks").fits(one.gpus, one.cpu, one.memory, aks.shapes.headroom)
    assert shape("Standard_NC8as_T4_v3", "aks").fits(one.gpus, one.cpu, one.memory, aks.shapes.headroom)
    found = group_price(t4, one, 1, aks)
    assert (found.basis, found.on_demand) == ("per-gpu", pytest.approx(t4.price_per_hour))
    # Four T4 (16 CPU, 96 GiB) fit the NC64as only; eight T4 fit no AKS shape (no 8-GPU size).
    four = scaffold_pod_request("t4", 4)
    assert group_price(t4, four, 1, aks).basis == "per-gpu"
    eight = scaffold_pod_request("t4", 8)
    assert group_price(t4, eight, 1, aks).basis == "no-shape"
    assert group_price(t4, eight, 1, offer_for("eks")).basis == "instance"  # g4dn.metal


def test_pod_no_shape_holds_has_no_price():
    gpu = catalog.get_gpu("l4")
    huge = PodRequest("l4", 8, Decimal(400), 100 * GI)
    found = group_price(gpu, huge, 1, offer_for(None))
    assert (found.basis, found.on_demand) == ("no-shape", None)


def test_new_model_plan_prefers_one_a100_over_four_l4_by_instance_price():
    # A 32B in bf16 (~61 GiB of weights) needs 4 x L4 (TP 4) or one A100 80GB.  Per GPU,
    # 4 x L4 looked cheaper (4 x $0.8048 = $3.22 against $3.43); per instance the
    # g6.12xlarge that holds the 4-GPU pod is $4.60, 1/8 of a p4de.24xlarge $3.43.
    model = catalog.resolve_model(
        "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B", CONFIGS / "deepseek-ai--DeepSeek-R1-Distill-Qwen-32B.json"
    )
    from llmfleet.features.scaffold.pricing import price_function

    eks = offer_for("eks")
    chosen = planning.plan(
        model, max_model_len=8192, price_of=price_function(eks), unavailable=eks.unavailable
    )
    assert (chosen.sizing.gpu.name, chosen.sizing.tp) == ("a100-80gb", 1)
    per_gpu = planning.plan(model, max_model_len=8192)  # the old per-GPU ordering picks 4 x L4
    assert (per_gpu.sizing.gpu.name, per_gpu.sizing.tp) == ("l4", 4)


def test_pinned_gpu_the_cloud_does_not_offer_is_refused():
    model = catalog.resolve_model("Qwen/Qwen2.5-7B-Instruct")
    gke = offer_for("gke")
    with pytest.raises(UsageError, match="--gpu l40s: not offered on gke"):
        planning.plan(model, gpu="l40s", unavailable=gke.unavailable)
    # Unpinned, the cheapest GKE class is chosen, never L40S or A10G.
    from llmfleet.features.scaffold.pricing import price_function

    chosen = planning.plan(model, price_of=price_function(gke), unavailable=gke.unavailable)
    assert chosen.sizing.gpu.name not in ("l40s", "a10g-24gb")


def test_classes_without_an_instance_price_rank_after_priced_ones():
    # On GKE the H200 shape (a3-ultragpu-8g) has no sourced price: its per-GPU figure is
    # EC2's and must not undercut GKE's own instance prices.  R1-Distill-Qwen-32B at its
    # 32,768-token default needs 8 x L4 (g2-standard-96, $8.003330296/h) there.
    from llmfleet.features.scaffold.pricing import price_function, replica_price

    model = catalog.resolve_model(
        "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B", CONFIGS / "deepseek-ai--DeepSeek-R1-Distill-Qwen-32B.json"
    )
    gke = offer_for("gke")
    chosen = planning.plan(model, price_of=price_function(gke), unavailable=gke.unavailable)
    price = replica_price(chosen.sizing, gke)
    assert (chosen.sizing.gpu.name, chosen.sizing.tp, price.basis) == ("l4", 8, "instance")
    assert price.on_demand == pytest.approx(8.003330296)


def _set_cluster(root, **settings):
    path = root / "llmfleet.yaml"
    config = yaml.safe_load(path.read_text())
    config["cluster"].update(settings)
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def test_cluster_cloud_in_llmfleet_yaml_bounds_new_model_and_cost(cli, repo_copy):
    _set_cluster(repo_copy, cloud="gke")
    refused = cli(["new-model", "Qwen/Qwen2.5-7B-Instruct", "--gpu", "l40s", "--dry-run"], cwd=repo_copy)
    assert refused.exit_code == 2 and "--gpu l40s: not offered on gke" in refused.stderr
    chosen = cli(["new-model", "Qwen/Qwen2.5-7B-Instruct", "--dry-run", "--skip-check"], cwd=repo_copy)
    assert chosen.exit_code == 0, chosen.stderr
    assert "gke us-central1" in chosen.stdout and "cluster.cloud gke" in chosen.stdout
    priced = cli(["cost", "llama-3-1-70b-instruct", "--format", "json"], cwd=repo_copy)
    assert priced.exit_code == 0, priced.stderr
    # 4 x A100 80GB, 16 CPU, 192 GiB on GKE: an a2-ultragpu-4g ($20.27519156/h), whole node;
    # both replicas warm (docs/deploying.md §9.5).
    o = json.loads(priced.stdout)["overlays"][0]
    assert o["price_instance"] == "a2-ultragpu-4g (gke us-central1)"
    assert o["min_replicas"] == 2 and o["per_hour_min"] == pytest.approx(2 * 20.275192, abs=1e-5)


def test_cluster_cloud_aks_bounds_new_model(cli, repo_copy):
    _set_cluster(repo_copy, cloud="aks")
    refused = cli(["new-model", "Qwen/Qwen2.5-7B-Instruct", "--gpu", "l4", "--dry-run"], cwd=repo_copy)
    assert refused.exit_code == 2 and "--gpu l4: not offered on aks" in refused.stderr
    pending = cli(["new-model", "Qwen/Qwen2.5-7B-Instruct", "--gpu", "h100-80gb", "--dry-run"], cwd=repo_copy)
    assert pending.exit_code == 2 and "not_derived" in pending.stderr
    assert "Traceback" not in refused.stderr + pending.stderr


def test_unknown_cloud_is_a_usage_error(cli, repo_copy):
    _set_cluster(repo_copy, cloud="azure")
    result = cli(["cost", "llama-3-1-8b-instruct"], cwd=repo_copy)
    assert result.exit_code == 2
    assert "cloud" in result.stderr and "Traceback" not in result.stderr
