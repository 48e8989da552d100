"""docs/real-model.md and its figures are byte-reproducible: a fresh measurement (about 3-5 min on 2 cores:
training the digits MLP, sweeping one real torch Adam step over the learning rate at 24 settings) writes the
committed files again.  Slow: run with -m slow."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch", reason="needs torch: pip install -e '.[torch]'")
pytest.importorskip("sklearn", reason="needs scikit-learn: pip install -e '.[torch]'")

from softsign_scaling.real import report  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.golden
def test_real_model_report_is_byte_reproducible(tmp_path):
    assert report.main(["--out", str(tmp_path)]) == 0
    for name in ("real-model.md", "figures/real-eta.png", "figures/real-regimes.png"):
        assert (tmp_path / "docs" / name).read_bytes() == (ROOT / "docs" / name).read_bytes(), name
