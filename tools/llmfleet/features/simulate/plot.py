"""Replicas and queue over time as a PNG (matplotlib, the optional ``plot`` extra)."""

from __future__ import annotations

from pathlib import Path


class PlotError(RuntimeError):
    """matplotlib missing or the file cannot be written; the message says which."""


def plot(result, path: str | Path, title: str | None = None) -> Path:
    """Draw offered load, replicas (desired and Ready) and the waiting queue of ``result``."""
    path = Path(path)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise PlotError(
            "plotting needs matplotlib: pip install matplotlib==3.11.2 (or pip install 'llmfleet[plot]')"
        ) from None
    if not path.parent.exists():
        raise PlotError(f"{path}: folder {path.parent} does not exist")
    tl = result.timeline
    minutes = [t / 60 for t in tl.time_s]
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(10, 6.5), dpi=100)
    top.step(minutes, tl.replicas, where="post", label="replicas (HPA)", color="tab:blue", linewidth=2)
    top.step(minutes, tl.ready, where="post", label="Ready pods", color="tab:green", linestyle="--")
    top.axhline(
        result.spec["max_replicas"], color="grey", linestyle=":", linewidth=1, label="maxReplicaCount"
    )
    top.set_ylabel("replicas")
    top.set_ylim(bottom=0)
    load = top.twinx()
    load.plot(minutes, tl.offered_rps, color="tab:orange", alpha=0.7, label="offered rps")
    load.set_ylabel("requests / s")
    load.set_ylim(bottom=0)
    handles = top.get_legend_handles_labels()
    extra = load.get_legend_handles_labels()
    top.legend(handles[0] + extra[0], handles[1] + extra[1], loc="upper left", fontsize=8)
    bottom.plot(minutes, tl.waiting, color="tab:red", label="waiting requests")
    bottom.plot(minutes, tl.running, color="tab:purple", alpha=0.6, label="running requests")
    bottom.set_ylabel("requests")
    bottom.set_xlabel("minutes")
    bottom.set_ylim(bottom=0)
    bottom.legend(loc="upper left", fontsize=8)
    for flag in result.flags:
        if flag.time_s is not None:
            bottom.axvline(flag.time_s / 60, color="black", linestyle=":", linewidth=1)
    fig.suptitle((title or result.trace["name"]).replace("$", r"\$"))
    fig.tight_layout()
    try:
        fig.savefig(path)
    except OSError as err:
        raise PlotError(f"{path}: cannot write it: {err}") from None
    finally:
        plt.close(fig)
    return path


__all__ = ["plot", "PlotError"]
