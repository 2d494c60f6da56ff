"""The context figures some benchmark rows carry beside their ratio."""

import torch  # noqa: F401  (a required test extra: its absence fails, never skips)


def test_conv_rows_report_back_to_back_ratio_and_blas_floor():
    from verigrad.bench import conv

    rows = conv.run(quick=True)
    assert len(rows) == len(conv.QUICK_CASES)
    for row in rows:
        assert row.extra["ratio_back_to_back"] > 0
        # the floor is three bare matmuls: cheaper than our whole call on any machine
        assert 0 < row.extra["floor_over_torch"] < row.extra["ratio_back_to_back"]


def test_tsne_fft_floor_scales_with_iterations():
    from verigrad.bench.tsne import _fft_floor

    one, many = _fft_floor(1, repeats=3), _fft_floor(100, repeats=3)
    assert 0 < one and 20 * one < many
