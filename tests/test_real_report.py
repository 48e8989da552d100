"""docs/real-model.md and its figure regenerate byte for byte from docs/real-model.json (fast: no torch), and the
report's scores do what the document says they do.

The measurement itself (torch, ~25 min) is `python -m softsign_scaling.real.report --measure`; a tiny
configuration of it reruns in tests/test_real_heldout.py (slow)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

pytest.importorskip("matplotlib", reason="the figure needs matplotlib")

from softsign_scaling.real import report  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _regenerate(tmp_path: Path, edit=None) -> Path:
    (tmp_path / "docs").mkdir()
    data = json.loads((ROOT / report.JSON).read_text(encoding="utf-8"))
    if edit is not None:
        edit(data)
    (tmp_path / report.JSON).write_text(json.dumps(data), encoding="utf-8")
    assert report.main(["--out", str(tmp_path)]) == 0
    return tmp_path


@pytest.mark.golden
def test_real_model_report_is_byte_reproducible(tmp_path):
    out = _regenerate(tmp_path)
    for name in (report.DOCUMENT, report.FIGURE):
        assert (out / name).read_bytes() == (ROOT / name).read_bytes(), name


def test_negative_control_a_moved_measurement_changes_the_document(tmp_path):
    def edit(data):
        row = next(r for r in data["architectures"][0]["rows"] if r["eta_real"] is not None)
        for key in ("eta_real", "eta_real_low", "eta_real_high"):
            row[key] = row[key] * 1.5

    out = _regenerate(tmp_path, edit)
    assert (out / report.DOCUMENT).read_bytes() != (ROOT / report.DOCUMENT).read_bytes()


def test_missing_json_is_a_one_line_error(tmp_path, capsys):
    assert report.main(["--out", str(tmp_path)]) == 2
    assert "run with --measure first" in capsys.readouterr().err


def _arch(rows):
    return {"checkpoints": [1], "rows": rows}


def _row(B, eta_real, predicted, eps=1e-8, eta_q=None, oracle=None):
    models = {"m": predicted}
    if oracle is not None:
        models[report.ORACLE] = oracle
    return {"step": 1, "eps": eps, "B": B, "eta_real": eta_real, "eta_q": eta_real if eta_q is None else eta_q,
            "edge": False, "models": models}


def test_scores_count_ascent_as_a_miss_and_measure_the_slope():
    rows = [_row(8, 1.0, 1.2), _row(128, 4.0, 2.4), _row(1, None, 0.5)]  # B = 1: the real step ascends
    s = report.summary(_arch(rows), "m")
    assert s["ascent"] == 1 and s["rows"] == 3
    assert math.isclose(s["median"], (1.2 + 0.6) / 2)
    assert s["within"] == [pytest.approx(1 / 3), pytest.approx(1 / 3)]  # 1.2 in, 0.6 out, the ascent row out
    assert math.isclose(s["slope_measured"], 0.5) and math.isclose(s["slope_predicted"], math.log(2) / math.log(16))
    assert s["slope_share"] == 0.0  # 0.25 against 0.5: outside +-0.15


def test_reasons_read_the_measurement():
    assert report.reason(_row(8, None, 1.0)).startswith("ascent")
    assert report.reason(_row(8, 1.0, 3.0, eta_q=1.4)).startswith("non-quadratic")
    assert report.reason(_row(8, 1.0, 3.0, oracle=1.1)).startswith("statistics")
    assert report.reason(_row(2, 1.0, 3.0, oracle=3.0)).startswith("small B")
    assert report.reason(_row(64, 1.0, 3.0, oracle=3.0)).startswith("noise model")
    assert [r for _, _, r in report.failing(_arch([_row(64, 1.0, 1.4), _row(64, 1.0, 1.6)]), "m")] == \
        [report.reason(_row(64, 1.0, 1.6))]
