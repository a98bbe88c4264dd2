"""The paper: built from the committed results, byte for byte the same each time, every
number it quotes filled and every figure it shows drawn."""

import json

import pytest

from em_abm import experiments as E
from em_abm import paper
from em_abm.errors import UserError


def test_the_committed_experiment_results_are_current():
    # Otherwise `make paper` would rerun hours of experiments on a fresh clone.
    for name in paper.EXPERIMENTS:
        assert E.is_current(name), name


def test_the_paper_builds_byte_identical_twice(tmp_path):
    a = paper.render(tmp_path / "a", command="make paper", commit="test")
    b = paper.render(tmp_path / "b", command="make paper", commit="test")
    assert a.read_bytes() == b.read_bytes() and a.read_bytes().startswith(b"%PDF")
    figs = sorted(p.name for p in (tmp_path / "a" / "figures").iterdir())
    assert any(f.endswith(".svg") for f in figs) and any(f.endswith(".png") for f in figs)
    for f in figs:
        assert (tmp_path / "a/figures" / f).read_bytes() == (
            tmp_path / "b/figures" / f
        ).read_bytes()
    # The committed build is the build of the committed results.
    for f in figs:
        assert (paper.PAPER_DIR / "figures" / f).read_bytes() == (
            tmp_path / "a/figures" / f
        ).read_bytes(), f
    committed = json.loads((paper.PAPER_DIR / "numbers.json").read_text())
    assert committed == json.loads((tmp_path / "a/numbers.json").read_text())


def test_every_quoted_number_and_shown_figure_is_in_the_build():
    keys, figs = paper._references(paper.SOURCE.read_text(encoding="utf-8"))
    assert len(keys) > 30 and len(figs) >= 5
    paper.check(paper.PAPER_DIR)  # the committed build


def test_a_missing_number_or_figure_is_refused(tmp_path):
    (tmp_path / "figures").mkdir()
    (tmp_path / "numbers.json").write_text("{}")
    with pytest.raises(UserError, match=r"numbers not in numbers\.json"):
        paper.check(tmp_path)
    keys, _ = paper._references(paper.SOURCE.read_text(encoding="utf-8"))
    (tmp_path / "numbers.json").write_text(json.dumps(dict.fromkeys(keys, "1")))
    with pytest.raises(UserError, match="figures not drawn"):
        paper.check(tmp_path)


def test_stale_results_are_not_current(tmp_path):
    name = "pilots"
    src = E.results_dir(name)
    meta = json.loads((src / "experiment.json").read_text())
    out = tmp_path / name
    out.mkdir()
    for rel in meta["files"]:
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes((src / rel).read_bytes())
    (out / "experiment.json").write_text(json.dumps(meta))
    assert E.is_current(name, out=out)
    (out / "experiment.json").write_text(json.dumps({**meta, "version": "0.0.1"}))
    assert not E.is_current(name, out=out)
    (out / "experiment.json").write_text(json.dumps(meta))
    (out / meta["files"][0]).unlink()
    assert not E.is_current(name, out=out)
