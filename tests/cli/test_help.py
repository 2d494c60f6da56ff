"""Every command's --help prints its description and examples exactly as written."""

import importlib
import re

import pytest

from verigrad.cli import COMMANDS, main


def _help(capsys, command) -> str:
    assert main([command, "--help"]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_has_no_control_characters_and_keeps_the_description(capsys, command):
    text = _help(capsys, command)
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f]", text), repr(text)
    module = importlib.import_module(f"verigrad.commands.{COMMANDS[command]}")
    description = getattr(module, "DESCRIPTION", module.HELP)
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f]", description)
    assert description in text  # RawDescriptionHelpFormatter: line breaks kept as written


def test_check_grad_help_shows_the_latex_example_as_typed(capsys):
    text = _help(capsys, "check-grad")
    assert r"\frac{\partial l}{\partial W_{ij}}" in text and r"\sum_{k \neq i}" in text
    lines = text.splitlines()
    continued = (
        '  verigrad check-grad --latex --define "a = Wx + b" --define "\\hat y = \\sigma(a)" \\'
    )
    start = lines.index(continued)
    assert lines[start + 1 : start + 4] == [
        '      --f "-\\sum_i y_i \\log \\hat y_i" --wrt W \\',
        '      --grad "\\frac{\\partial l}{\\partial W_{ij}} = (\\hat y_i - y_i) x_j" \\',
        "      --shape W=3x4 x=4 b=3 --onehot y=3",
    ]


def test_tsne_help_gives_every_option_a_help_and_its_default(capsys):
    import argparse

    from verigrad.cli import build_parser
    from verigrad.commands import tsne
    from verigrad.manifold import TSNE
    from verigrad.manifold.tsne import EXPLORATION_ITER

    parser = build_parser()._subparsers._group_actions[0].choices["tsne"]
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help, f"{action.option_strings or action.dest} has no help"
        if action.default not in (None, False):
            assert "default" in action.help, action.option_strings
            shown = f"{action.default:g}" if isinstance(action.default, float) else action.default
            assert str(shown) in action.help, (action.option_strings, action.help)
    library = TSNE().get_params()
    defaults = {a.dest: a.default for a in parser._actions}
    for name in ("n_components", "perplexity", "max_iter", "init"):
        assert defaults[name] == library[name], name  # the command keeps TSNE's defaults
    assert tsne.EXPLORATION_ITER == EXPLORATION_ITER and library["early_exaggeration"] == 12.0
    text = _help(capsys, "tsne")
    for words in ("(default 30)", "(default 1000)", "(default 2;", "pca (default)", "default 0"):
        assert words in text, words
