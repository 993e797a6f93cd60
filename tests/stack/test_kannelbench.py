"""The bench's peer: carelay's figures as ratios to Kannel's, and Kannel's loop run end to end for a
handful of messages where Debian's kannel and kannel-extras are installed."""
from __future__ import annotations

from typing import Any

import pytest

from stack import kannelbench

KANNEL = {"messages": 2000, "complete": 2000, "messages_per_s": 400.0, "cpu_ms_per_message": 0.4}


def e2e(cpu_ms: float, reconciled: float) -> dict[str, Any]:
    return {"carelay_cpu_ms_per_message": cpu_ms, "reconciled_per_s": reconciled}


@pytest.mark.parametrize(("carelay", "kannel", "cpu", "rate"), [
    (e2e(12.0, 80.0), KANNEL, 30.0, 0.2),
    (e2e(0.4, 400.0), KANNEL, 1.0, 1.0),
    (e2e(1.2, 100.0), {**KANNEL, "cpu_ms_per_message": 1.2, "messages_per_s": 1000.0}, 1.0, 0.1),
    (e2e(5.0, 50.0), {**KANNEL, "cpu_ms_per_message": 0.0, "messages_per_s": 0.0}, None, None),
], ids=["twelve_times_the_cpu", "equal", "a_tenth_of_the_rate", "kannel_measured_nothing"])
def test_ratios(carelay: dict[str, Any], kannel: dict[str, Any], cpu: float | None, rate: float | None) -> None:
    got = kannelbench.ratios(carelay, kannel)
    assert got["cpu_per_message"] == (pytest.approx(cpu) if cpu is not None else None)
    assert got["messages_per_s"] == (pytest.approx(rate) if rate is not None else None)


def test_ratio_lines_name_both_runs_and_give_the_paced_run_no_rate() -> None:
    lines = kannelbench.ratio_lines({"kannel": KANNEL, "end_to_end": e2e(12.0, 80.0),
                                     "end_to_end_paced": e2e(14.0, 95.0)})
    assert lines[0].startswith("peer: Kannel")
    assert "400 messages/s full loop" in lines[0] and "0.400 ms CPU per message" in lines[0]
    saturated, paced = lines[1:]
    assert "saturated" in saturated and "CPU per message 30.0x" in saturated and "messages/s 0.20x" in saturated
    assert "paced" in paced and "CPU per message 35.0x" in paced and "messages/s" not in paced


def test_ratio_lines_without_kannel_say_so() -> None:
    lines = kannelbench.ratio_lines({"end_to_end": e2e(12.0, 80.0), "kannel_missing": kannelbench.missing_text()})
    assert lines == [f"peer: {kannelbench.missing_text()}"]
    assert "Kannel not installed" in lines[0]


def test_ratio_lines_with_nothing_measured_print_not_applicable() -> None:
    zero = {**KANNEL, "complete": 0, "messages_per_s": 0.0, "cpu_ms_per_message": 0.0}
    (_, saturated) = kannelbench.ratio_lines({"kannel": zero, "end_to_end": e2e(12.0, 80.0)})
    assert "CPU per message n/a" in saturated and "messages/s n/a" in saturated


def test_kannel_loop_runs_end_to_end() -> None:
    binaries = kannelbench.find_binaries()
    if binaries is None:
        pytest.skip("Kannel not installed (Debian: apt-get install kannel kannel-extras, or `make kannel`)")
    result = kannelbench.measure(5, concurrency=2, binaries=binaries)
    assert result is not None
    assert (result["accepted"], result["complete"], result["reports"]) == (5, 5, 10)  # both reports per message
    assert result["messages_per_s"] > 0 and result["cpu_ms_per_message"] >= 0
