"""The fuzz campaign's slice and figures (see :mod:`tests.fuzz.campaign`).

Without ``VERIGRAD_FUZZ=campaign`` the cases marked ``fuzz_full`` are deselected (the fast
slice CI runs) and the random tests take few examples. Every run that tried fuzz cases ends
with their figures: cases per area and outcome.
"""

from __future__ import annotations

import os

from tests.fuzz import campaign


def pytest_collection_modifyitems(config, items):
    if campaign.CAMPAIGN:
        return
    kept, dropped = [], []
    for item in items:
        (dropped if item.get_closest_marker("fuzz_full") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_terminal_summary(terminalreporter):
    if not any(campaign.TALLY[area] for area in campaign.AREAS):
        return
    which = "full campaign" if campaign.CAMPAIGN else "fast slice (VERIGRAD_FUZZ=campaign: all)"
    terminalreporter.write_sep("=", f"bad-input campaign: {which}")
    terminalreporter.write_line(campaign.figures())
    report = os.environ.get("VERIGRAD_FUZZ_REPORT")
    if report:
        with open(report, "w") as fh:
            fh.write(campaign.figures_json() + "\n")
