"""eval_tools.cli_flags: underscore flags, their hyphenated spelling accepted for one release with a warning."""
import pytest

from eval_tools.cli_flags import FlagParser


def _parser():
    p = FlagParser(prog="tool")
    p.add_argument("--num_train", type=int, default=1)
    p.add_argument("--no_progress", action="store_true")
    p.add_argument("--out", default="x")
    return p


def test_underscore_flags_parse_silently(capsys):
    args = _parser().parse_args(["--num_train", "3", "--no_progress"])
    assert (args.num_train, args.no_progress) == (3, True)
    assert capsys.readouterr().err == ""


def test_hyphenated_spelling_is_accepted_with_one_warning_each(capsys):
    args = _parser().parse_args(["--num-train=4", "--no-progress", "--out", "y"])
    assert (args.num_train, args.no_progress, args.out) == (4, True, "y")
    err = capsys.readouterr().err.splitlines()
    assert err.count("warning: --num-train is deprecated and goes in the next release; use --num_train") == 1
    assert "warning: --no-progress is deprecated and goes in the next release; use --no_progress" in err


def test_hyphenated_spelling_is_not_in_the_help_and_unknown_flags_still_fail(capsys):
    assert "--num-train" not in _parser().format_help() and "--num_train" in _parser().format_help()
    with pytest.raises(SystemExit):
        _parser().parse_args(["--num-tran", "3"])
    with pytest.raises(SystemExit):
        _parser().parse_args(["--out-dir", "3"])  # no such underscore flag: not an alias
