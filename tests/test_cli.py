"""The command line, and byte-reproducible generated artifacts."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from softsign_scaling import cli

ROOT = Path(__file__).resolve().parents[1]
KEYS = {"label", "kind", "method", "max_abs_error", "digits", "verdict"}


def test_verify_json_shape_and_exit_code(verified, monkeypatch, capsys):
    import softsign_scaling.pipeline as pipeline

    monkeypatch.setattr(pipeline, "verify", lambda **kw: verified)
    code = cli.main(["verify", "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert code == 0
    assert len(rows) == len(verified)
    for row in rows:
        assert KEYS <= set(row)
        assert row["kind"] in ("identity", "limit", "approximation", "claim")
        assert row["method"] in ("symbolic", "numeric")
        assert row["verdict"] in ("pass", "refuted", "fail")
        assert row["max_abs_error"] is None or isinstance(row["max_abs_error"], float)
        assert row["digits"] is None or isinstance(row["digits"], int)


def test_verify_exit_code_is_nonzero_iff_a_check_fails(verified, monkeypatch, capsys):
    import dataclasses

    import softsign_scaling.pipeline as pipeline

    broken = [dataclasses.replace(verified[0], verdict="fail")] + list(verified[1:])
    monkeypatch.setattr(pipeline, "verify", lambda **kw: broken)
    assert cli.main(["verify"]) == 1
    assert "1 fail" in capsys.readouterr().out
    refuted_only = [dataclasses.replace(r, verdict="refuted") if i == 0 else r for i, r in enumerate(verified)]
    monkeypatch.setattr(pipeline, "verify", lambda **kw: refuted_only)
    assert cli.main(["verify"]) == 0


def _derive_into(tmp_path: Path, seed: str) -> Path:
    out = tmp_path / f"seed{seed}"
    # numeric/_generated.py takes ~40 s to derive; it is skipped when its inputs' fingerprint matches, and
    # tests/test_numeric_codegen.py regenerates it from scratch.  Start from the committed one.
    generated = Path("softsign_scaling") / "numeric" / "_generated.py"
    (out / generated).parent.mkdir(parents=True)
    (out / generated).write_bytes((ROOT / generated).read_bytes())
    env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-m", "softsign_scaling", "derive", "--out", str(out)], check=True, env=env,
                   cwd=tmp_path, capture_output=True)
    return out


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_derive_is_byte_reproducible_and_matches_the_committed_files(tmp_path):
    first, second = _tree(_derive_into(tmp_path, "1")), _tree(_derive_into(tmp_path, "2"))
    assert first == second
    assert "docs/manifest.json" in first and "docs/steps/E-8.tex" in first
    for name, data in first.items():
        committed = ROOT / name
        assert committed.is_file(), f"{name} is generated but not committed"
        assert committed.read_bytes() == data, f"{name} differs from a fresh `softsign-scaling derive`"


def test_cli_rejects_unknown_commands():
    with pytest.raises(SystemExit):
        cli.main(["frobnicate"])
