"""The calibrated replica model against the published measurements it is fitted to
(tools/llmfleet/data/throughput_measurements.yaml, docs/reference/calibration.md)."""

from __future__ import annotations

import math

import pytest

from llmfleet.features.simulate import calibration
from llmfleet.features.simulate.calibration import BOUND, FIT, TOLERANCE


@pytest.fixture(scope="module")
def rows():
    return calibration.table()


def test_every_published_vllm_point_is_within_30_percent(rows):
    fitted = [r for r in rows if r.point.role == FIT]
    assert len(fitted) >= 6
    assert {r.point.engine for r in fitted} == {"vllm"}
    outside = {r.point.id: f"{r.error:+.0%}" for r in fitted if abs(r.error) > TOLERANCE}
    assert not outside, f"vLLM points outside +-30 %: {outside}"


def test_no_calibrated_replica_exceeds_the_published_tensorrt_llm_maximum(rows):
    bounds = [r for r in rows if r.point.role == BOUND]
    assert len(bounds) >= 6
    above = {
        r.point.id: (round(r.calibrated), r.point.output_tok_s)
        for r in bounds
        if r.calibrated > r.point.output_tok_s
    }
    assert not above, f"calibrated replicas above TensorRT-LLM's published maximum: {above}"


def test_the_pure_roofline_is_what_the_calibration_corrects(rows):
    """Without the factors the model is far above the vLLM measurements and above several
    TensorRT-LLM maxima: the calibration is doing the work, not the data."""
    assert min(r.roofline / r.point.output_tok_s for r in rows if r.point.role == FIT) > 1.5
    assert any(r.roofline > r.point.output_tok_s for r in rows if r.point.role == BOUND)


def test_the_stored_factors_are_what_the_fit_gives():
    stored = calibration.stored_factors()
    refit = calibration.fit()
    for key, value in stored.as_dict().items():
        assert math.isclose(refit.as_dict()[key], value, rel_tol=0.02, abs_tol=1e-6), key
    assert dict(refit.other_overheads_s).keys() == dict(stored.other_overheads_s).keys()


def test_every_point_names_its_source_with_a_commit():
    for point in calibration.load_points():
        assert len(point.source["commit"]) == 40, point.id
        assert point.source["repo"] and point.source["path"], point.id


def test_a_broken_point_is_named(tmp_path, monkeypatch):
    bad = tmp_path / "m.yaml"
    bad.write_text("points:\n  - id: x\n    role: fit\n    engine: tensorrt-llm\n", encoding="utf-8")
    monkeypatch.setattr(calibration, "MEASUREMENTS_FILE", bad)
    calibration._document.cache_clear()
    try:
        with pytest.raises(calibration.CalibrationError, match="point 'x'"):
            calibration.load_points()
    finally:
        calibration._document.cache_clear()


def test_the_documented_table_is_the_model_s():
    from llmfleet_testlib import REPO_ROOT

    text = (REPO_ROOT / "docs" / "reference" / "calibration.md").read_text(encoding="utf-8")
    start = text.index("<!-- calibration-table")
    table = text[text.index("\n", start) + 1 : text.index("<!-- end calibration-table -->")]
    assert table == calibration.markdown_table(), (
        "regenerate with python -m llmfleet.features.simulate.calibration"
    )
