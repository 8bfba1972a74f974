"""Calibration data plumbing (issue 26, surviving mutants): the factors' dict uses the keys the
data file's `factors` mapping uses (the refit output is pasted there), a published median TTFT is
read, a model's layer count comes from the catalog, and the markdown table uses the factors given."""

from __future__ import annotations

import yaml

from llmfleet.features.simulate import calibration
from llmfleet.features.simulate.calibration import ROOFLINE, layers_of, load_points, markdown_table


def test_factor_keys_are_the_data_file_keys():
    document = yaml.safe_load(calibration.MEASUREMENTS_FILE.read_text(encoding="utf-8"))
    stored = {k for k in document["factors"] if k != "other_campaign_overheads_s"}
    assert set(calibration.stored_factors().as_dict()) == stored


def test_published_median_ttft_is_read():
    # vllm-a100-llama3-8b publishes a median TTFT of 3697 ms (vLLM's 2024-09 benchmark run).
    points = {p.id: p for p in load_points()}
    assert points["vllm-a100-llama3-8b"].ttft_median_ms == 3697.0


def test_layers_of():
    assert layers_of("meta-llama/Llama-3.1-8B-Instruct") == 32
    assert layers_of("acme/not-in-the-catalog") == 0


def test_markdown_table_with_roofline_factors():
    # With the roofline factors the calibrated column equals the roofline column.
    rows = [line.split("|") for line in markdown_table(ROOFLINE).splitlines()[2:]]
    assert rows
    assert all(cells[8].strip() == cells[9].strip() for cells in rows)
