"""``llmfleet new-model MODEL_ID``: size a model and scaffold ``overlays/<name>/``."""

from __future__ import annotations

from pathlib import Path

import click

from llmfleet.catalog.dtypes import REQUESTS as DTYPES
from llmfleet.catalog.entries import gpu_names
from llmfleet.catalog.sizing import DEFAULT_GPU_MEMORY_UTILIZATION, KV_CACHE_DTYPES, MAX_NODES
from llmfleet.commands.options import repo_root_option
from llmfleet.features.scaffold.plan import NewModelOptions
from llmfleet.features.scaffold.write import run_new_model
from llmfleet.infra import exitcodes
from llmfleet.infra.errors import LlmfleetError
from llmfleet.pipeline.config import load_config


@click.command("new-model")
@click.argument("model_id")
@click.option(
    "--name",
    help="Overlay folder and name prefix (DNS-1123 label); default from the "
    "model id, e.g. Qwen/Qwen2.5-7B-Instruct -> qwen2-5-7b-instruct.",
)
@click.option(
    "--gpu",
    metavar="CLASS",
    help=f"Pin the GPU class ({', '.join(gpu_names())}); default: the cheapest that fits.",
)
@click.option(
    "--tp",
    type=int,
    help="Pin the tensor-parallel size (1, 2, 4, 8): GPUs per pod, or per node with --nodes.",
)
@click.option(
    "--nodes",
    type=int,
    metavar="N",
    help=f"Nodes per replica, 1-{MAX_NODES} (pipeline parallel across them, a "
    "LeaderWorkerSet group); default: 1, or more when no single node holds the model.",
)
@click.option(
    "--dtype",
    type=click.Choice(DTYPES),
    help="vLLM's --dtype; default auto, refusing a "
    "GPU where vLLM would refuse the model's dtype or fall back to float32.",
)
@click.option(
    "--served-model-name",
    metavar="NAME",
    help="The name clients, the gateway and the "
    "metrics use (default: the model id); a second overlay of the same weights needs its own.",
)
@click.option(
    "--max-model-len",
    type=int,
    help="Context length to serve; default: 8192 (capped at the model's), or fitted to a pinned GPU.",
)
@click.option(
    "--quantization",
    metavar="Q",
    help="fp8 (dynamic, from a 16-bit checkpoint), or the method of a pre-quantized checkpoint (awq, gptq).",
)
@click.option(
    "--kv-cache-dtype",
    type=click.Choice(KV_CACHE_DTYPES),
    default="auto",
    show_default=True,
    help="KV cache element type (fp8 halves the KV bytes).",
)
@click.option(
    "--gpu-memory-utilization",
    type=float,
    default=DEFAULT_GPU_MEMORY_UTILIZATION,
    show_default=True,
    help="vLLM's per-GPU memory fraction.",
)
@click.option("--min-replicas", type=int, default=1, show_default=True)
@click.option("--max-replicas", type=int, help="Default: 4 for one-GPU pods, 2 for multi-GPU pods.")
@click.option("--dry-run", is_flag=True, help="Print the sizing, cost and files; write nothing.")
@click.option("--force", is_flag=True, help="Replace an existing overlay (atomically).")
@click.option(
    "--config-json",
    type=click.Path(dir_okay=False),
    metavar="PATH",
    help="A Hugging Face config.json, for a model not in the catalog.",
)
@click.option(
    "--params",
    metavar="N",
    help="Parameter count (7.6e9 or 7.6B), overriding the count computed from the catalog or config.json.",
)
@click.option("--skip-check", is_flag=True, hidden=True, help="Do not run llmfleet check afterwards.")
@repo_root_option
@click.pass_context
def command(
    ctx,
    model_id,
    name,
    gpu,
    tp,
    nodes,
    dtype,
    served_model_name,
    max_model_len,
    quantization,
    kv_cache_dtype,
    gpu_memory_utilization,
    min_replicas,
    max_replicas,
    dry_run,
    force,
    config_json,
    params,
    skip_check,
    repo_root,
):
    """Size MODEL_ID (a Hugging Face id) from the GPU and model catalog (or its config.json),
    pick the cheapest GPU class, tensor-parallel size and, when one node is not enough, nodes
    that hold it in a dtype vLLM accepts, write overlays/<name>/ from the same base and
    components as the hand-written overlays (base-multinode/ for several nodes), print sizing
    and cost, and run `llmfleet check` on it.  --dry-run runs the same checks and exits
    with the same code, writing nothing.

    Exit codes: 0 written and checked, 1 the check fails, 2 bad input (nothing written),
    130/143 interrupted (the message says what was written: nothing, or the overlay and the
    routes together).
    """
    options = NewModelOptions(
        model_id=model_id,
        name=name,
        gpu=gpu,
        tp=tp,
        max_model_len=max_model_len,
        quantization=quantization,
        kv_cache_dtype=kv_cache_dtype,
        gpu_memory_utilization=gpu_memory_utilization,
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        dry_run=dry_run,
        force=force,
        config_json=config_json,
        params=params,
        check=not skip_check,
        dtype=dtype,
        served_model_name=served_model_name,
        nodes=nodes,
    )
    try:
        config = load_config(Path(repo_root) if repo_root else None)
        code = run_new_model(config, options, click.echo)
    except LlmfleetError as err:
        click.echo(f"llmfleet: error: {err}", err=True)
        ctx.exit(err.exit_code)
    except KeyboardInterrupt as exc:
        if not getattr(exc, "llmfleet_reported", False):  # before anything was staged
            click.echo("llmfleet: interrupted; nothing was written", err=True)
        ctx.exit(getattr(exc, "exit_code", exitcodes.INTERRUPTED))
    ctx.exit(code)
