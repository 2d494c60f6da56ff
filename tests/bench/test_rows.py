"""The context figures some benchmark rows carry beside their ratio."""

import torch  # noqa: F401  (a required test extra: its absence fails, never skips)


def test_conv_rows_report_back_to_back_ratio_and_blas_floor():
    from verigrad.bench import conv

    rows = conv.run(quick=True)
    assert len(rows) == 2 * len(conv.QUICK_CASES)  # fwd and fwd+bwd per case
    for row in rows:
        assert row.extra["threads"] == 1 and row.extra["faults"] >= 0
        assert row.extra["ref_faults"] >= 0 and row.extra["algo"] in ("im2col", "winograd")
    for row in rows[1::2]:
        assert "fwd+bwd" in row.case
        assert row.extra["ratio_back_to_back"] > 0
        # the floor is three bare matmuls: cheaper than our whole call on any machine
        assert 0 < row.extra["floor_over_torch"] < row.extra["ratio_back_to_back"]


def test_tsne_fft_floor_scales_with_iterations():
    from verigrad.bench.tsne import _fft_floor

    one, many = _fft_floor(1, repeats=3), _fft_floor(100, repeats=3)
    assert 0 < one and 20 * one < many


def test_train_rows_report_page_faults_and_the_digits_run():
    from verigrad.bench import train

    lenet, digits = train.run(quick=True)
    assert lenet.extra["threads"] == 1 and "[1 thread]" in lenet.case
    assert lenet.extra["faults_per_step"] >= 0 and lenet.extra["ref_faults_per_step"] >= 0
    assert lenet.extra["params"] == lenet.extra["ref_params"]
    # the default `verigrad train` (2 epochs in quick mode) against the same torch loop
    assert "digits `verigrad train`" in digits.case and "[1 thread]" in digits.case
    assert digits.extra["epochs"] == 2 and digits.extra["params"] == digits.extra["ref_params"]
    assert digits.ours_s > 0 and digits.reference_s > 0


def test_softmax_classifier_row_reaches_sagas_objective():
    from verigrad.bench import softmax_classifier

    (row,) = softmax_classifier.run(quick=True)
    assert row.target == 0.5 and "l1_ratio=1.0" in row.case
    assert row.extra["reached"] and row.extra["obj_rel"] <= 1e-6
    assert 0 < row.extra["nnz"] < 10 * 64


def test_lasso_sparse_row_reaches_sklearns_objective():
    from verigrad.bench.lasso_sparse import _sparse_case

    (row,) = _sparse_case(600, 1600, quick=True)
    assert "sparse" in row.case and row.target == 1.0
    assert row.extra["reached"] and row.extra["obj_rel"] <= 1e-6


def test_tsne_transform_row_reports_both_accuracies():
    from verigrad.bench.tsne import _transform_row

    row = _transform_row(n=400, seeds=(0,))
    assert "fit+transform" in row.case and row.target == 1.0
    assert 0.8 < row.extra["acc"] <= 1.0 and 0.8 < row.extra["ref_acc"] <= 1.0
