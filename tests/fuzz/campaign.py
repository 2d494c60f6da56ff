"""The bad-input campaign's bookkeeping: how each case ended, tallied per area.

Every fuzz case runs through :func:`run_cli` or :func:`call_library`, which classify the
outcome before the test asserts the contract, so a failing case is counted too:

==================== ===============================================================
outcome              meaning
==================== ===============================================================
``refused``          one line naming the option or argument, exit 2 (a ``ValueError`` or
                     ``TypeError`` naming the parameter in the library)
``accepted``         the input was valid after all and the command or call succeeded
                     (exit 0 or 1; finite results)
``unnamed``          refused in one line that does not name what the user gave
``traceback``        a traceback or more than one line, or another exception type
``hang``             over the case's time budget
``crash``            a ``MemoryError``/``RecursionError``, a signal, a dead process
``silent NaN``       a NaN or infinity returned or written without an error
==================== ===============================================================

The default run is the fast slice (CI): every command and every area, few random examples.
``VERIGRAD_FUZZ=campaign`` runs the full campaign (the cases marked ``fuzz_full`` and many
more random examples); ``python -m tests.fuzz.campaign`` runs it and prints the figures (the
same table ends every run of ``tests/fuzz``; ``VERIGRAD_FUZZ_REPORT=FILE`` also writes it as
JSON).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import time
from collections import Counter

import numpy as np
from hypothesis import HealthCheck, settings

from verigrad.cli import main

#: the areas of the campaign, in the order the figures list them
AREAS = (
    "CLI commands",
    "library calls",
    "hostile files",
    "check-grad/grade formulas",
    "kill/resume",
    "disk full",
)
OUTCOMES = ("refused", "accepted", "unnamed", "traceback", "hang", "crash", "silent NaN")
#: outcomes that break the contract
FAILURES = ("unnamed", "traceback", "hang", "crash", "silent NaN")

CAMPAIGN = os.environ.get("VERIGRAD_FUZZ", "").strip().lower() == "campaign"

#: area -> Counter of outcomes, filled by every case of this process
TALLY: dict = {area: Counter() for area in AREAS}


def record(area: str, outcome: str) -> str:
    assert area in TALLY and outcome in OUTCOMES, (area, outcome)
    TALLY[area][outcome] += 1
    return outcome


def examples(ci: int, campaign: int):
    """Hypothesis settings: ``ci`` examples in the fast slice, ``campaign`` in the campaign
    (derandomized in CI so every run tries the same inputs)."""
    return settings(
        max_examples=campaign if CAMPAIGN else ci,
        deadline=None,
        derandomize=not CAMPAIGN,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


def classify_cli(code, err: str, what, elapsed: float, budget: float) -> str:
    """The outcome of a command line that exited with ``code`` and wrote ``err``."""
    # bench reports progress on stderr ("running NAME ..."): not part of the error
    lines = [line for line in err.strip().splitlines() if not line.startswith("running ")]
    if elapsed > budget:
        return "hang"
    if code is None or (isinstance(code, int) and code < 0) or "MemoryError" in err:
        return "crash"
    if "Traceback" in err or len(lines) > 1:
        return "traceback"
    if code in (0, 1):
        return "accepted"
    if code == 2 and len(lines) == 1:
        names = what is None or any(w in lines[0] for w in np.atleast_1d(what))
        return "refused" if names else "unnamed"
    return "crash"


@contextlib.contextmanager
def _no_debug():
    saved = os.environ.pop("VERIGRAD_DEBUG", None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ["VERIGRAD_DEBUG"] = saved


def run_cli(argv, area: str, what=None, budget: float = 30.0) -> tuple:
    """``main(argv)`` in this process; returns ``(outcome, code, stdout, stderr)`` with the
    outcome recorded under ``area``. ``what``: the text(s) the refusal must name."""
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    code = None
    with _no_debug(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except (MemoryError, RecursionError) as exc:
            print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        except BaseException as exc:  # noqa: BLE001 - any escape is a traceback for the user
            print(f"Traceback (escaped main): {type(exc).__name__}: {exc}", file=sys.stderr)
            code = 2
    elapsed = time.perf_counter() - start
    outcome = classify_cli(code, err.getvalue(), what, elapsed, budget)
    record(area, outcome)
    return outcome, code, out.getvalue(), err.getvalue()


def _finite(value) -> bool:
    if isinstance(value, (float, np.floating, np.ndarray)):
        array = np.asarray(value)
        return array.dtype.kind not in "fc" or bool(np.all(np.isfinite(array)))
    return True


def call_library(call, name, area: str, budget: float = 10.0, valid_ok: bool = False) -> tuple:
    """``call()``; returns ``(outcome, exception or result)`` recorded under ``area``. A
    ``ValueError``/``TypeError`` naming ``name`` (its ``param`` or its message) is
    ``refused``; a return is ``accepted`` if ``valid_ok`` and its arrays are finite."""
    start = time.perf_counter()
    try:
        result = call()
    except (ValueError, TypeError) as exc:
        elapsed = time.perf_counter() - start
        text = str(exc)
        names = name is None or any(
            getattr(exc, "param", None) == n or n in text for n in np.atleast_1d(name)
        )
        if elapsed > budget:
            outcome = "hang"
        elif "\n" in text.strip():
            outcome = "traceback"
        else:
            outcome = "refused" if names else "unnamed"
        return record(area, outcome), exc
    except (MemoryError, RecursionError) as exc:
        return record(area, "crash"), exc
    except Exception as exc:  # noqa: BLE001 - another type is what the contract forbids
        return record(area, "traceback"), exc
    elapsed = time.perf_counter() - start
    if elapsed > budget:
        return record(area, "hang"), result
    if isinstance(result, dict):
        values = list(result.values())
    elif isinstance(result, (list, tuple)):
        values = list(result)
    else:
        values = [result]
    if not all(_finite(v) for v in values if isinstance(v, (float, np.floating, np.ndarray))):
        return record(area, "silent NaN"), result
    return record(area, "accepted" if valid_ok else "silent NaN"), result


def figures() -> str:
    """The campaign's figures: cases per area and outcome, as a text table."""
    tried = {area: sum(TALLY[area].values()) for area in AREAS}
    width = max(len(a) for a in AREAS)
    head = f"{'area':{width}s}  {'cases':>6s}  " + "  ".join(f"{o:>10s}" for o in OUTCOMES)
    rows = [head, "-" * len(head)]
    for area in AREAS:
        counts = "  ".join(f"{TALLY[area][o]:>10d}" for o in OUTCOMES)
        rows.append(f"{area:{width}s}  {tried[area]:>6d}  {counts}")
    total = Counter()
    for area in AREAS:
        total.update(TALLY[area])
    counts = "  ".join(f"{total[o]:>10d}" for o in OUTCOMES)
    rows.append(f"{'total':{width}s}  {sum(tried.values()):>6d}  {counts}")
    return "\n".join(rows)


def figures_json() -> str:
    return json.dumps({area: dict(TALLY[area]) for area in AREAS}, indent=2)


def _campaign_main(argv) -> int:  # pragma: no cover - the campaign's own entry point
    import pytest

    os.environ["VERIGRAD_FUZZ"] = "campaign"
    here = os.path.dirname(os.path.abspath(__file__))
    return pytest.main([here, "-m", "slow or not slow", "-p", "no:cacheprovider", *argv])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_campaign_main(sys.argv[1:]))
