"""The benchmark harness: interleaved calls, medians, ratio and verdict, table formatting."""

import json

from verigrad.bench.harness import Row, back_to_back, compare, format_table, to_json, to_markdown


def test_compare_interleaves_and_takes_medians():
    calls = []
    row = compare(
        "demo",
        "case",
        lambda: calls.append("ours"),
        lambda: calls.append("ref"),
        "reference",
        repeats=4,
        warmup=1,
        target=2.0,
    )
    # warm-up pair, then A B, B A, A B, B A: neither side always runs first
    assert calls == ["ours", "ref", "ours", "ref", "ref", "ours", "ours", "ref", "ref", "ours"]
    assert row.repeats == 4 and row.ours_s > 0 and row.reference_s > 0
    assert row.ratio == row.ours_s / row.reference_s


def test_back_to_back_runs_each_call_in_a_block():
    calls = []
    medians = back_to_back(
        lambda: calls.append("a"), lambda: calls.append("b"), lambda: calls.append("c"), repeats=2
    )
    # a warm-up call, then the timed repeats, one call after the other
    assert calls == ["a"] * 3 + ["b"] * 3 + ["c"] * 3
    assert len(medians) == 3 and all(m > 0 for m in medians)


def test_verdict_and_formats():
    fast = Row("b", "fast case", "ref", 1.0, 2.0, target=0.6)
    slow = Row("b", "slow case", "ref", 0.004, 0.002, target=1.5, extra={"gflops": 12.3456})
    memory = Row("b", "peak", "4 GB budget", 0.974, 4.0, target=1.0, extra={"unit": "GB"})
    assert fast.met and not slow.met and memory.met
    table = format_table([fast, slow, memory])
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["benchmark", "case", "reference"]
    assert "0.50x" in lines[2] and "ok" in lines[2]
    assert "4.00 ms" in lines[3] and "2.00x" in lines[3] and "MISSED" in lines[3]
    assert "gflops=12.35" in lines[3]
    assert "0.974 GB" in lines[4] and " ms" not in lines[4]
    assert to_markdown([slow]).count("|") > 9
    piped = Row("b", "case", "ref", 1.0, 1.0, extra={"max|dW|": 1e-7})
    header, rule, line = to_markdown([piped]).splitlines()
    # every row has the header's number of cells: the note's pipes are escaped
    assert line.replace("\\|", "").count("|") == header.count("|") == rule.count("|")
    assert "verdict" in header and header.count("reference") == 2  # "reference time" too
    assert json.loads(to_json([slow]))[0]["met"] is False
