"""Smoke test of ``verigrad bench lasso --quick``: rows are produced and the objective is reached."""

from __future__ import annotations

from verigrad.bench import lasso


def test_quick_lasso_benchmark_reaches_sklearn_objective():
    rows = lasso.run(quick=True)
    assert len(rows) == 6
    working = [r for r in rows if r.case.endswith("working set")]
    assert len(working) == 2
    for row in working:
        assert row.extra["reached"] and row.extra["obj_rel"] <= 1e-9
        assert row.target == 1.0 and row.ours_s > 0 and row.reference_s > 0
    fista = [r for r in rows if "FISTA" in r.case]
    assert all(r.extra["reached"] for r in fista)
