"""One spelling of command-line flags for every tool: underscores, as PaddleDetection's tools.

Tools and benchmarks build their parser with :class:`FlagParser`. Each ``--name_with_underscores`` flag
also accepts its older hyphenated spelling (``--name-with-underscores``) for one release, with a
``warning:`` line on stderr naming the new spelling; the old spelling is not listed in ``--help``.
"""
import argparse
import sys

__all__ = ["FlagParser"]


class FlagParser(argparse.ArgumentParser):
    """An ``argparse.ArgumentParser`` whose underscore flags accept their hyphenated spelling, with a warning."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._hyphenated = {}

    def add_argument(self, *names, **kwargs):
        """As ``ArgumentParser.add_argument``; remembers ``--a-b`` as the old spelling of each ``--a_b``."""
        action = super().add_argument(*names, **kwargs)
        for name in names:
            if name.startswith("--") and "_" in name[2:]:
                self._hyphenated["--" + name[2:].replace("_", "-")] = name
        return action

    def parse_known_args(self, args=None, namespace=None):
        """Rewrite old spellings to the new ones (one warning each), then parse."""
        args = list(sys.argv[1:] if args is None else args)
        rewritten = []
        for i, arg in enumerate(args):
            if arg == "--":
                rewritten += args[i:]
                break
            flag, eq, value = arg.partition("=")
            if flag in self._hyphenated:
                print(f"warning: {flag} is deprecated and goes in the next release; use {self._hyphenated[flag]}",
                      file=sys.stderr)
                arg = self._hyphenated[flag] + eq + value
            rewritten.append(arg)
        return super().parse_known_args(rewritten, namespace)
