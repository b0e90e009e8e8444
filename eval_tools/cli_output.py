"""Writing the optional outputs of the evaluation command lines (``--json``, ``--plot``)."""
import json
from pathlib import Path

__all__ = ["write_outputs"]


def write_outputs(json_path=None, payload=None, plot_path=None, plot=None):
    """Write ``payload`` as JSON to ``json_path`` and ``plot(plot_path)`` (a PNG), each when given.

    Prints ``wrote <path>`` for each file. Raises ``SystemExit`` with one ``error:`` line when a file
    cannot be written.
    """
    if json_path:
        out = Path(json_path)
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
        except OSError as exc:
            raise SystemExit(f"error: cannot write {out}: {exc}") from None
        print(f"wrote {out}")
    if plot_path:
        try:
            print(f"wrote {plot(plot_path)}")
        except OSError as exc:
            raise SystemExit(f"error: cannot write {plot_path}: {exc}") from None
