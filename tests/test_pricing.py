"""llmfleet.catalog.pricing: the instance price table, bin-packing pods onto node shapes, what a
cluster (cluster.cloud, cluster.node-shapes) offers, and the API price by model size.
Expected figures are worked out by hand from the two data files."""

from __future__ import annotations

import json
import re
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
        if row.spot is not None:
            assert row.spot < row.on_demand, row


def test_every_price_row_has_a_source_and_a_date():
    """On demand and spot alike: a source with a URL pinned to a commit, the date it was read
    and the date of its prices (or the bound the source gives)."""
    table = instances.table()
    for row in table.rows:
        kinds = [("on demand", row.source)] + ([("spot", row.spot_source)] if row.spot is not None else [])
        for kind, source in kinds:
            assert source is not None, f"{row.name}: {kind} price without a source"
            assert source.url.startswith("https://github.com/") and "/blob/" in source.url, (row.name, kind)
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", source.read), (row.name, kind)
            assert re.fullmatch(r"(before )?\d{4}-\d{2}-\d{2}", source.price_date), (row.name, kind)
    # Each cloud has on-demand and spot prices now.
    for cloud in instances.CLOUDS:
        rows = [r for r in table.rows if r.cloud == cloud]
        assert rows and any(r.spot is not None for r in rows), cloud


def test_ec2_spot_is_the_median_zone():
    """EC2 spot rows list the source's price per zone; the row's spot price is the median zone
    (the reduction instance_prices.yaml documents), never the cheapest one."""
    zoned = [r for r in instances.table().rows if r.spot_zones]
    assert {r.cloud for r in zoned} == {"eks"}
    assert len(zoned) == len([r for r in instances.table().rows if r.cloud == "eks"])
    for row in zoned:
        values = sorted(row.spot_zones.values())
        middle = len(values) // 2
        expected = values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2
        assert row.spot == pytest.approx(expected) and values[0] <= row.spot <= values[-1], row.name
        assert all(zone.startswith("use1-az") for zone in row.spot_zones), row.name
    # g6.12xlarge: use1-az1 1.9438, az2 2.3398, az4 1.9139, az6 1.8626 -> (1.9139 + 1.9438) / 2.
    g6 = instances.table().find("eks", "g6.12xlarge")
    assert g6.spot == pytest.approx(1.92885) and g6.spot_source.id == "aws-spot-skypilot"


def test_azure_nc_a100_prices_scale_with_the_gpus():
    """A cross-check of the Azure rows against each other: the NC A100 v4 sizes are priced per
    GPU (the retail list gives 3.673, 7.346, 14.692 for 1, 2, 4 GPUs)."""
    table = instances.table()
    one = table.find("aks", "Standard_NC24ads_A100_v4")
    for name in ("Standard_NC48ads_A100_v4", "Standard_NC96ads_A100_v4"):
        row = table.find("aks", name)
        assert row.on_demand == pytest.approx(one.on_demand * row.gpus), name
        assert row.region == "eastus" and row.source.id == "azure-retail-skypilot"


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
    raw = yaml.safe_load(instances.DATA_FILE.read_text())
    del raw["sources"]["gcp-skus"]["price_date"]
    with pytest.raises(instances.PriceTableError, match=r"sources.gcp-skus: price_date"):
        instances.parse(raw)
    raw = yaml.safe_load(instances.DATA_FILE.read_text())
    raw["instances"][0]["spot"] = 0.1
    with pytest.raises(
        instances.PriceTableError, match=r"instances\[0\] \(g4dn.xlarge\): give spot or spot_zones"
    ):
        instances.parse(raw)
    raw = yaml.safe_load(instances.DATA_FILE.read_text())
    raw["instances"][0]["spot_source"] = "nowhere"
    with pytest.raises(instances.PriceTableError, match="spot_source 'nowhere' is not in sources"):
        instances.parse(raw)
    # A source that repeats the on-demand price as "spot" (SkyPilot's Azure H100 rows) has none.
    raw = yaml.safe_load(instances.DATA_FILE.read_text())
    h100 = next(r for r in raw["instances"] if r["name"] == "Standard_NC40ads_H100_v5")
    h100["spot"] = h100["on_demand"]
    with pytest.raises(
        instances.PriceTableError, match=r"\(Standard_NC40ads_H100_v5\): spot 6.98 is not below"
    ):
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


def test_aks_offers_its_gpu_classes():
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
    for gpu_class in ("a100-40gb", "a100-80gb", "h100-80gb", "h200-141gb"):
        assert aks.unavailable(gpu_class) is None, gpu_class
    assert [s.name for s in aks.shapes_of("h100-80gb")] == [
        "Standard_NC40ads_H100_v5",
        "Standard_NC80adis_H100_v5",
        "Standard_ND96isr_H100_v5",
    ]


def test_a_class_whose_shapes_are_not_derived_says_so(monkeypatch):
    """The not_derived path (a cloud that rents the class but whose allocatable is unsourced):
    with the H200 shape taken away and the class marked pending, AKS says why."""
    from llmfleet.catalog.pricing import offer as offer_module

    full = nodes.catalog()
    kept = tuple(s for s in full.shapes if not (s.cloud == "aks" and s.gpu_class == "h200-141gb"))
    monkeypatch.setattr(
        offer_module, "not_derived", lambda gpu_class: ("aks",) if gpu_class == "h200-141gb" else ()
    )
    pending = offer_module.ClusterOffer(("aks",), nodes.Catalog(kept, full.headroom)).unavailable(
        "h200-141gb"
    )
    assert pending and "aks rents it" in pending and "not_derived" in pending


def test_aks_pods_are_priced_by_instance():
    t4 = catalog.get_gpu("t4")
    aks = offer_for("aks")
    table = instances.table()
    # One T4, 4 CPU, 24 GiB: not on Standard_NC4as_T4_v3 (3860m - 500m, 23522Mi - 2Gi = 21474 MiB
    # is less than 24 GiB = 24576 MiB) -- the NC8as (7820m, 52194Mi) holds it, whole node.
    one = scaffold_pod_request("t4", 1)
    assert not shape("Standard_NC4as_T4_v3", "aks").fits(one.gpus, one.cpu, one.memory, aks.shapes.headroom)
    found = group_price(t4, one, 1, aks)
    nc8 = table.find("aks", "Standard_NC8as_T4_v3")
    assert (found.basis, found.placement.shape.name) == ("instance", "Standard_NC8as_T4_v3")
    assert (found.on_demand, found.spot) == (nc8.on_demand, nc8.spot)
    # Four T4 (16 CPU, 96 GiB) fit the NC64as only; eight T4 fit no AKS shape (no 8-GPU size).
    four = group_price(t4, scaffold_pod_request("t4", 4), 1, aks)
    assert (four.placement.shape.name, four.on_demand) == ("Standard_NC64as_T4_v3", 4.352)
    eight = scaffold_pod_request("t4", 8)
    assert group_price(t4, eight, 1, aks).basis == "no-shape"
    assert group_price(t4, eight, 1, offer_for("eks")).basis == "instance"  # g4dn.metal
    # H200 on AKS: a shape (ND96isr_H200_v5) but no sourced price -> the per-GPU figure, said so.
    h200 = catalog.get_gpu("h200-141gb")
    per_gpu = group_price(h200, scaffold_pod_request("h200-141gb", 8), 1, aks)
    assert (per_gpu.basis, per_gpu.on_demand) == ("per-gpu", pytest.approx(8 * h200.price_per_hour))


def test_new_model_on_aks_chooses_an_a100_by_instance_price():
    """R1-Distill-Qwen-32B (bf16, ~61 GiB) at 8,192 tokens on AKS: one A100 80GB on a whole
    Standard_NC24ads_A100_v4 ($3.673/h) against an H100 NVL on NC40ads_H100_v5 ($6.98/h), a
    whole ND96amsr_A100_v4 for one replica ($32.77; its share, $4.09625, is only the marginal
    price once eight replicas fill it) or four T4 (too little memory in fp16)."""
    from llmfleet.features.scaffold.pricing import price_function, replica_price

    model = catalog.resolve_model(
        "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B", CONFIGS / "deepseek-ai--DeepSeek-R1-Distill-Qwen-32B.json"
    )
    aks = offer_for("aks")
    chosen = planning.plan(
        model, max_model_len=8192, price_of=price_function(aks), unavailable=aks.unavailable
    )
    price = replica_price(chosen.sizing, aks)
    assert (chosen.sizing.gpu.name, chosen.sizing.tp) == ("a100-80gb", 1)
    assert (price.basis, price.placement.shape.name, price.on_demand) == (
        "instance",
        "Standard_NC24ads_A100_v4",
        3.673,
    )
    assert price.spot == instances.table().find("aks", "Standard_NC24ads_A100_v4").spot


def test_pod_no_shape_holds_has_no_price():
    gpu = catalog.get_gpu("l4")
    huge = PodRequest("l4", 8, Decimal(400), 100 * GI)
    found = group_price(gpu, huge, 1, offer_for(None))
    assert (found.basis, found.on_demand) == ("no-shape", None)


def test_new_model_plan_on_eks_follows_the_replica_count():
    # A 32B in bf16 (~61 GiB of weights) needs 4 x L4 (TP 4) or one A100 80GB.  On EKS the
    # only A100 80GB shape is the 8-GPU p4de.24xlarge ($27.44705/h).  One replica: the
    # g6.12xlarge that holds the 4 x L4 pod, $4.6016, against the whole p4de.  Eight
    # replicas: 8 x $4.6016 = $36.8128 against one p4de holding all eight, $27.44705.
    model = catalog.resolve_model(
        "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B", CONFIGS / "deepseek-ai--DeepSeek-R1-Distill-Qwen-32B.json"
    )
    from llmfleet.features.scaffold.pricing import price_function, replica_price

    eks = offer_for("eks")
    lone = planning.plan(model, max_model_len=8192, price_of=price_function(eks), unavailable=eks.unavailable)
    assert (lone.sizing.gpu.name, lone.sizing.tp) == ("l4", 4)
    assert replica_price(lone.sizing, eks).hour(1) == pytest.approx(4.6016)
    eight = planning.plan(
        model, max_model_len=8192, price_of=price_function(eks, 8), unavailable=eks.unavailable
    )
    assert (eight.sizing.gpu.name, eight.sizing.tp) == ("a100-80gb", 1)
    nodes = replica_price(eight.sizing, eks).nodes(8)
    assert (nodes.placement.shape.name, nodes.count, nodes.on_demand) == ("p4de.24xlarge", 1, 27.44705)
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
    pinned = cli(
        ["new-model", "Qwen/Qwen2.5-7B-Instruct", "--gpu", "h100-80gb", "--dry-run", "--skip-check"],
        cwd=repo_copy,
    )
    assert pinned.exit_code == 0, pinned.stderr
    # One H100 pod (4 CPU, 24 GiB) on Standard_NC40ads_H100_v5, the whole node at $6.98/h.
    assert "Standard_NC40ads_H100_v5" in pinned.stdout and "aks eastus" in pinned.stdout
    assert "cluster.cloud aks" in pinned.stdout and "prices of 2024-08-18" in pinned.stdout
    assert "Traceback" not in refused.stderr + pinned.stderr


def test_cost_names_the_spot_source_and_its_date(cli, repo_copy):
    """On EKS the on-demand and the spot price come from two sources of different dates:
    the text says which, the JSON carries both dates."""
    _set_cluster(repo_copy, cloud="eks")
    text = cli(["cost", "llama-3-1-70b-instruct"], cwd=repo_copy)
    assert text.exit_code == 0, text.stderr
    assert "spot source: EC2 spot, us-east-1, median over the availability zones listed, " in text.stdout
    assert "prices from before 2026-09-24" in text.stdout and "skypilot-catalog" in text.stdout
    data = json.loads(cli(["cost", "llama-3-1-70b-instruct", "--format", "json"], cwd=repo_copy).stdout)
    o = data["overlays"][0]
    assert (o["price_date"], o["spot_price_date"]) == ("2026-09-24", "before 2026-09-24")
    # Marginal: half a p4de.24xlarge at the median of its two spot zones, 6.8234 / 2 per 4-GPU
    # replica; the two replicas fill one whole node, $6.8234/h at spot.
    assert o["marginal_spot_price_per_gpu_hour"] == pytest.approx(6.8234 / 2 / 4)
    assert [(n["instance"], n["count"], n["per_hour_spot"]) for n in o["nodes_min"]] == [
        ("p4de.24xlarge", 1, pytest.approx(6.8234))
    ]


def test_unknown_cloud_is_a_usage_error(cli, repo_copy):
    _set_cluster(repo_copy, cloud="azure")
    result = cli(["cost", "llama-3-1-8b-instruct"], cwd=repo_copy)
    assert result.exit_code == 2
    assert "cloud" in result.stderr and "Traceback" not in result.stderr


# -- whole nodes at a replica count ------------------------------------------------------------
# Figures from the rows of tools/llmfleet/data/instance_prices.yaml, worked by hand.


def test_a_lone_8b_on_aks_rents_a_whole_nc24ads_a100():
    """One replica of Llama-3.1-8B on AKS: 1/8 of a Standard_ND96asr_v4 (8 x A100 40GB,
    $27.197/h) is $3.399625, below the whole Standard_NC24ads_A100_v4 (1 x A100 80GB, $3.673),
    but one replica rents the whole ND96asr.  The NC24ads is chosen, at $3.673/h."""
    from llmfleet.features.scaffold.pricing import price_function, replica_price

    model = catalog.resolve_model("meta-llama/Llama-3.1-8B-Instruct")
    aks = offer_for("aks")
    chosen = planning.plan(model, price_of=price_function(aks, 1), unavailable=aks.unavailable)
    price = replica_price(chosen.sizing, aks)
    nodes = price.nodes(1)
    assert (chosen.sizing.gpu.name, chosen.sizing.tp) == ("a100-80gb", 1)
    assert (nodes.placement.shape.name, nodes.count, nodes.free_slots) == ("Standard_NC24ads_A100_v4", 1, 0)
    assert price.hour(1) == 3.673
    forty = group_price(catalog.get_gpu("a100-40gb"), scaffold_pod_request("a100-40gb", 1), 1, aks)
    assert forty.on_demand == pytest.approx(27.197 / 8)  # the share: marginal only
    assert forty.hour(1) == 27.197  # what one replica pays
    assert forty.nodes(1).slots_shown == "7 of 8 GPU slots free"


def test_eight_pods_take_the_cheapest_nodes_for_eight():
    """Eight 1-GPU pods on AKS: A100 40GB fills one Standard_ND96asr_v4 ($27.197); A100 80GB
    costs 8 x $3.673 = $29.384 on NC24ads (NC48ads 4 x $7.346 and NC96ads 2 x $14.692 tie; the
    smaller shape wins), below one ND96amsr_A100_v4 at $32.77.  new-model with 8 replicas
    therefore takes the A100 40GB for the 8B, which at 1 replica took the A100 80GB."""
    from llmfleet.features.scaffold.pricing import price_function

    aks = offer_for("aks")
    table, shapes = instances.table(), nodes.catalog()
    forty = scaffold_pod_request("a100-40gb", 1)
    eighty = scaffold_pod_request("a100-80gb", 1)
    found = binpack.cheapest_nodes(forty, 8, binpack.placements(forty, shapes, table, ("aks",)))
    assert (found.placement.shape.name, found.count, found.on_demand, found.free_slots) == (
        "Standard_ND96asr_v4",
        1,
        27.197,
        0,
    )
    found = binpack.cheapest_nodes(eighty, 8, binpack.placements(eighty, shapes, table, ("aks",)))
    assert (found.placement.shape.name, found.count) == ("Standard_NC24ads_A100_v4", 8)
    assert found.on_demand == pytest.approx(29.384)
    model = catalog.resolve_model("meta-llama/Llama-3.1-8B-Instruct")
    eight = planning.plan(model, price_of=price_function(aks, 8), unavailable=aks.unavailable)
    assert eight.sizing.gpu.name == "a100-40gb"


def test_three_replicas_of_a_one_gpu_pod_on_an_eight_gpu_node_pay_one_node():
    """EKS rents A100 80GB only as the 8-GPU p4de.24xlarge ($27.44705/h): 1, 3 or 8 one-GPU
    replicas pay one node; the ninth a second one."""
    a100 = catalog.get_gpu("a100-80gb")
    eks = offer_for("eks")
    price = group_price(a100, scaffold_pod_request("a100-80gb", 1), 1, eks)
    three = price.nodes(3)
    assert (three.placement.shape.name, three.count, three.free_slots) == ("p4de.24xlarge", 1, 5)
    assert three.slots_shown == "5 of 8 GPU slots free"
    assert price.hour(1) == price.hour(3) == price.hour(8) == 27.44705
    assert price.hour(9) == pytest.approx(2 * 27.44705)
    assert price.on_demand == pytest.approx(27.44705 / 8)  # the marginal share


def test_spot_on_whole_nodes():
    """Spot likewise: 3 one-GPU A100 80GB pods on EKS pay one p4de.24xlarge at the median of its
    two zones' spot prices, (7.8074 + 5.8394) / 2 = $6.8234; on AKS one A100 40GB pod pays the
    whole ND96asr_v4 at Spot, $2.99167.  The H100 shapes of AKS have no sourced spot price."""
    eks, aks = offer_for("eks"), offer_for("aks")
    a100 = group_price(catalog.get_gpu("a100-80gb"), scaffold_pod_request("a100-80gb", 1), 1, eks)
    assert a100.hour(3, spot=True) == pytest.approx(6.8234)
    forty = group_price(catalog.get_gpu("a100-40gb"), scaffold_pod_request("a100-40gb", 1), 1, aks)
    assert forty.hour(1, spot=True) == pytest.approx(2.99167)
    h100 = group_price(catalog.get_gpu("h100-80gb"), scaffold_pod_request("h100-80gb", 1), 1, aks)
    assert h100.hour(1) == 6.98 and h100.hour(1, spot=True) is None


def test_slots_a_pod_cannot_use_are_said():
    """A 1 x L4 pod of 4 CPU and 48 GiB: a g6.12xlarge (4 L4) holds 3 by memory
    (191631 MiB // 49152 MiB); one such pod leaves 2 slots and one more GPU idle."""
    fat = PodRequest("l4", 1, Decimal(4), 48 * GI)
    placement = binpack.Placement(
        shape("g6.12xlarge", "eks"), instances.table().find("eks", "g6.12xlarge"), 3
    )
    one = binpack.Nodes(placement, fat, 1)
    assert (one.count, one.free_slots, one.idle_gpus) == (1, 2, 3)
    assert one.slots_shown == (
        "2 of 3 GPU slots free, 1 more GPU idle (CPU or memory holds 3 such pods per node)"
    )
    assert binpack.Nodes(placement, fat, 4).count == 2


def test_new_model_prints_whole_nodes_and_free_slots(cli, repo_copy):
    _set_cluster(repo_copy, cloud="aks")
    pinned = cli(
        [
            "new-model",
            "meta-llama/Llama-3.1-8B-Instruct",
            "--gpu",
            "a100-40gb",
            "--name",
            "l8",
            "--served-model-name",
            "l8",
            "--min-replicas",
            "3",
            "--max-replicas",
            "9",
            "--dry-run",
            "--skip-check",
        ],
        cwd=repo_copy,
    )
    assert pinned.exit_code == 0, pinned.stderr
    out = pinned.stdout
    # 3 replicas: one ND96asr_v4 ($27.197), 5 of 8 slots free; 9 replicas: two (54.394), 7 free.
    assert (
        "cost min   3 replicas on 1 node of Standard_ND96asr_v4 (8 × a100-40gb, $27.1970/h on demand, "
        "aks eastus) = $27.197/h, $652.73/day; 5 of 8 GPU slots free"
    ) in out
    assert "cost max   9 replicas on 2 nodes of Standard_ND96asr_v4" in out
    assert "= $54.394/h, $1,305.46/day; 7 of 16 GPU slots free" in out
    assert "marginal   $3.3996/h per replica once its node is shared" in out
    # Spot: the same node at Azure Spot, $2.99167/h.
    assert "spot $2.9917/h at min replicas on 1 node of Standard_ND96asr_v4" in out


def test_cost_says_when_free_slots_make_more_replicas_cheaper():
    """Eight one-GPU A100 80GB replicas fit one p4de.24xlarge ($27.44705/h = $658.7292/day).
    With a replica serving 86,400 requests/day and the API at $0.001/request, one replica's
    node costs 658.7292 / 86,400 = $0.00762/request, but 8 replicas on it serve 691,200/day:
    from 658,729.2 requests/day (8 replicas) self-hosting is cheaper."""
    from llmfleet.features.cost import estimate
    from llmfleet.model import OverlayModel
    from llmfleet.model.k8s import Resource

    class Replica:
        kv_tokens = 1000

        def batch_limit(self, _input, _output):
            return 10

        def throughput(self, _batch, _input, _output):
            return 1.0  # requests/s

    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "m", "namespace": "inference"},
        "spec": {
            "replicas": 1,
            "template": {
                "spec": {
                    "nodeSelector": {"llmfleet.io/gpu-class": "a100-80gb"},
                    "containers": [
                        {
                            "name": "vllm",
                            "image": "vllm/vllm-openai:v0.33.0",
                            "resources": {
                                "requests": {"nvidia.com/gpu": 1, "cpu": "4", "memory": "24Gi"},
                                "limits": {"nvidia.com/gpu": 1},
                            },
                        }
                    ],
                }
            },
        },
    }
    c = estimate.overlay_cost(OverlayModel("m", [Resource(deployment, "<rendered>", 0)]), offer_for("eks"))
    c.min_replicas, c.max_replicas, c.replica = 1, 8, Replica()
    api = estimate.ApiPricing(input_price=1.0, output_price=0.0, input_tokens=1000, output_tokens=1)
    assert api.per_request == pytest.approx(0.001)
    verdict = c.verdict(api)
    assert verdict["status"] == "api-cheaper"
    volume, replicas = verdict["self_hosted_cheaper_from"]
    assert (volume, replicas) == (pytest.approx(658_729.2), 8)
    assert c.cheaper_at(660_000, api) == "self-hosted" and c.cheaper_at(600_000, api) == "api"
    from llmfleet.features.cost import report

    text = report.format_text([c], api, 1000)
    assert "from 658,729 requests/day (8 replicas on the same nodes) self-hosting is cheaper" in text
    c.max_replicas = 7  # 7 replicas serve 604,800 < 658,729: never
    assert c.verdict(api)["self_hosted_cheaper_from"] is None
