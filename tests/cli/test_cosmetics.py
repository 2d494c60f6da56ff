"""Small things a person notices: epoch ticks, sparsity digits, a start that overflows."""

import verigrad.plots
from verigrad.cli import main


def test_curves_have_integer_epoch_ticks(tmp_path, monkeypatch):
    figures = []
    monkeypatch.setattr(verigrad.plots, "save_figure", lambda fig, path: figures.append(fig))
    for epochs in ([1], [1, 2, 3]):
        verigrad.plots.plot_curves(epochs, {"loss": {"train": [1.0] * len(epochs)}}, "x.png")
        ax = figures[-1].axes[0]
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks


def test_train_summary_prints_small_sparsity_with_digits(tmp_path, capsys, monkeypatch):
    import verigrad.training.loop

    monkeypatch.setattr(verigrad.training.loop, "sparsity", lambda model: 1.7e-4)
    argv = ["train", "--model", "softmax", "--epochs", "1", "--l1", "1e-9", "--no-tsne"]
    assert main([*argv, "--quiet", "--no-progress", "--out", str(tmp_path / "r")]) == 0
    assert "sparsity 0.017%" in capsys.readouterr().out


def test_optimize_refuses_a_start_whose_loss_overflows(tmp_path, capsys):
    out = tmp_path / "o.png"
    assert main(["optimize", "--start=1e200,1e200", "--steps", "3", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "--start:" in err and len(err.splitlines()) == 1 and not out.exists()
