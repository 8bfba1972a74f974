"""new-model's preparation: validate the input, size the model, render the files (single- or multi-node) and bound the overlay's name by a throw-away render; nothing is written."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

from llmfleet.catalog import entries as catalog
from llmfleet.catalog import planning, sizing
from llmfleet.catalog import quantization as checkpoint_quantization
from llmfleet.catalog.pricing.offer import (
    ClusterOffer,
    offer_for,
)
from llmfleet.features.scaffold import pricing as scaffold_pricing
from llmfleet.features.scaffold.files import single_node_files
from llmfleet.features.scaffold.plan import (
    MAX_NAME,
    MODEL_ID,
    SMOKE_TEST_HASH_LENGTH,
    NewModelOptions,
    Scaffold,
    _display,
    check_name_length,
    check_served_name_is_free,
    default_name,
    overlay_path,
    validate_name,
    validate_served_name,
)
from llmfleet.infra.errors import UsageError
from llmfleet.model import names as object_names
from llmfleet.pipeline.manifests import iter_documents


def overlay_files(sc: Scaffold, overlay_dir: Path, root: Path) -> dict[str, str]:
    """File name -> content of the overlay (deterministic): the multi-node unit's files when
    a replica spans several nodes."""
    from llmfleet.features.scaffold import multinode

    if sc.multinode:
        return multinode.render_files(sc, overlay_dir, root, sc.shapes)
    return single_node_files(sc, overlay_dir, root)


def prepare(
    options: NewModelOptions,
    overlays_dir: Path,
    root: Path,
    shapes: Any = None,
    offer: ClusterOffer | None = None,
) -> Scaffold:
    """Validate the input, size the model and render the files; writes nothing (the object
    names are measured in a throw-away render outside the repository)."""
    model_id = (options.model_id or "").strip()
    if not MODEL_ID.match(model_id):
        raise UsageError(
            f"model {options.model_id!r}: expected a Hugging Face id such as Qwen/Qwen2.5-7B-Instruct"
        )
    served = validate_served_name(options.served_model_name)
    if options.name is not None:
        name = validate_name(options.name)
    else:
        name = validate_name(default_name(served or model_id))
    target = overlay_path(overlays_dir, name)
    if target.exists() and not options.force:
        raise UsageError(f"overlay {_display(target, root)} already exists; pass --force to replace it")
    if options.min_replicas < 1:
        raise UsageError(
            f"--min-replicas {options.min_replicas}: at least 1 (a GPU model's cold "
            "start takes 10-40 min, so the base never scales to zero)"
        )
    model = catalog.resolve_model(model_id, options.config_json, options.params)
    if offer is None:
        offer = ClusterOffer((), shapes, True) if shapes is not None else offer_for(None)
    quantization = sizing.normalize_quantization(options.quantization)
    if (
        quantization
        and model.quantization
        and not checkpoint_quantization.compatible(model.quantization, quantization)
    ):
        raise UsageError(
            f"--quantization {quantization}: {model_id} is a {model.quantization} checkpoint"
            + (f" ({model.quant_scheme})" if model.quant_scheme else "")
            + ', and vLLM refuses a --quantization that names another method ("Quantization method '
            'specified in the model config ... does not match"); leave --quantization out: vLLM '
            "reads the method from the checkpoint's quantization_config"
        )
    if (
        quantization in ("awq", "awq_marlin", "gptq", "gptq_marlin")
        and (model.quantization or "").split("_")[0] != quantization.split("_")[0]
    ):
        raise UsageError(
            f"--quantization {quantization}: needs a checkpoint quantized with it "
            f"(e.g. {model_id}-AWQ with its config.json via --config-json); "
            f"{model_id} is {model.quantization or model.dtype}"
        )
    if quantization is None and model.quantization in sizing.QUANTIZATION_BYTES:
        quantization = model.quantization
    plan = planning.plan(
        model,
        gpu=options.gpu,
        tp=options.tp,
        max_model_len=options.max_model_len,
        quantization=quantization,
        kv_cache_dtype=options.kv_cache_dtype,
        gpu_memory_utilization=options.gpu_memory_utilization,
        dtype=options.dtype or "auto",
        nodes=options.nodes,
        shapes=shapes if shapes is not None or not offer.clouds else offer.catalog,
        price_of=scaffold_pricing.price_function(offer, options.min_replicas),
        unavailable=offer.unavailable,
    )
    max_replicas = (
        options.max_replicas if options.max_replicas is not None else (4 if plan.sizing.gpus == 1 else 2)
    )
    if max_replicas < options.min_replicas:
        raise UsageError(f"--max-replicas {max_replicas} is below --min-replicas {options.min_replicas}")
    sc = Scaffold(
        name,
        model,
        plan,
        options.min_replicas,
        max_replicas,
        served_model_name=served or "",
        shapes=shapes,
        offer=offer,
    )
    sc.files = overlay_files(sc, overlays_dir / name, root)
    sc.name_limit, sc.name_limit_why = name_limit(sc, root, overlays_dir)
    check_name_length(name, sc.name_limit, sc.name_limit_why)
    check_served_name_is_free(sc, overlays_dir, options.force)
    return sc


def name_limit(sc: Scaffold, root: Path, overlays_dir: Path | None = None) -> tuple[int, str]:
    """The longest overlay name the objects of ``sc.files`` allow (llmfleet.model.names),
    measured on a render of the files in a temporary folder outside the repository (kept in
    the render cache under the overlay's own key: a later run, or a check of the written
    overlay, does not render them again); the ScaledObject's KEDA bound when no renderer
    can run."""
    from llmfleet.infra.errors import ToolError
    from llmfleet.model.k8s import Resource
    from llmfleet.pipeline.render import find_renderer, render
    from llmfleet.pipeline.render_cache import RenderCache

    fallback = (
        MAX_NAME,
        f"the ScaledObject {sc.name}-server must leave room for KEDA's HPA keda-hpa-{sc.name}-server (63)",
    )
    if sc.multinode:
        worker = f"-group-{max(0, sc.max_replicas - 1)}"
        fallback = (
            object_names.STATEFULSET_MAX - len(worker),
            f"the worker StatefulSet {sc.name}{worker} may have at most "
            f"{object_names.STATEFULSET_MAX} characters (controller-revision-hash label)",
        )
    # The smoke-test Job <name>-smoke-test-<10-character content hash> (components/smoke-test).
    smoke_test = object_names.LABEL_MAX - len("-smoke-test-") - SMOKE_TEST_HASH_LENGTH
    if smoke_test <= fallback[0]:
        fallback = (
            smoke_test,
            f"the smoke-test Job {sc.name}-smoke-test-<hash> may have at most "
            f"{object_names.LABEL_MAX} characters (its pods carry the label job-name)",
        )
    try:
        cache = RenderCache(root, find_renderer(), enabled=os.environ.get("LLMFLEET_NO_CACHE") != "1")
    except ToolError:
        return fallback
    key = None
    if overlays_dir is not None:
        with contextlib.suppress(ValueError):
            relative = (overlays_dir / sc.name).resolve().relative_to(cache.root).as_posix()
            key = cache.key_of_files(relative, sc.files)
    text = cache.lookup(key)
    if text is None:
        with tempfile.TemporaryDirectory(prefix="llmfleet-new-model-") as tmp:
            folder = Path(tmp) / sc.name
            folder.mkdir()
            for filename, content in overlay_files(sc, folder, root).items():
                (folder / filename).write_text(content, encoding="utf-8")
            try:
                rendered = render(folder, cache.renderer)
            except ToolError:
                return fallback
        if not rendered.ok:
            return fallback
        text = rendered.text
        cache.store(key, text)
    docs = [
        item[1]
        for item in iter_documents(text, "<rendered>")
        if isinstance(item, tuple) and isinstance(item[1], dict)
    ]
    resources = [Resource(d, "<rendered>", i) for i, d in enumerate(docs)]
    groups = {f"{sc.name}-group": sc.max_replicas} if sc.multinode else {}
    found = object_names.limits(resources, groups)
    bound, binding = object_names.name_bound(found, sc.name)
    if binding is None:
        return fallback
    derived = binding.name.replace(sc.name, "<name>", 1)
    return bound, (
        f"{binding.resource.kind} {derived} may have at most {binding.limit} characters: {binding.why}"
    )
