"""`carelay report`: text table and CSV, fetched over HTTP from a live analytics endpoint."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from access.keys import KeyStore
from analytics import report
from analytics.access import AccessPolicy
from analytics.http import create_app
from analytics.migrations import migrate
from analytics.service import _serve
from analytics.store import QueryLimits, open_client, open_readers
from schemas.settings import AnalyticsSettings, ClickHouseSettings
from stack.javaproc import free_port
from tests.analytics import figures
from tests.analytics.scenario import Scenario, build

OPERATOR = frozenset({"demo-clinic"})  # the demo-clinic keys see every organization's report


def test_table_aligns_numbers_right_and_blanks_nulls():
    out = io.StringIO()
    report.render_table(["org", "n", "rate"], [["a", 5, 0.5], ["bbb", 12, None]], out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "org   n  rate"
    assert lines[2] == "a     5   0.5"
    assert lines[3] == "bbb  12"


def test_empty_table_says_so():
    out = io.StringIO()
    report.render_table(["org"], [], out)
    assert out.getvalue() == "no messages in this range\n"


def test_dates_are_utc_midnight_and_bad_ones_are_refused():
    args = report.parser().parse_args(["--from", "2026-03-01", "--to", "2026-03-02T06:00:00Z"])
    assert args.start.isoformat() == "2026-03-01T00:00:00+00:00"
    assert args.end.isoformat() == "2026-03-02T06:00:00+00:00"
    with pytest.raises(SystemExit):
        report.parser().parse_args(["--from", "last week"])


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Scenario]]:
    ch = ClickHouseSettings(path=str(tmp_path_factory.mktemp("report") / "chdb"))
    writer = open_client(ch)
    migrate(writer, ch)
    sc = build(messages=20)
    figures.load(writer, sc)
    readers = open_readers(ch, QueryLimits(10, 1000))
    cfg = AnalyticsSettings(port=free_port())
    app = create_app(readers, AccessPolicy(KeyStore.demo(), OPERATOR), lambda: {"status": "ok"})
    server, thread = _serve(app, cfg)
    yield cfg.base_url, sc
    server.should_exit = True
    thread.join(5)
    readers.close()
    writer.close()


def test_report_over_http_prints_a_table_and_writes_csv(endpoint, tmp_path: Path, capsys: pytest.CaptureFixture):
    url, sc = endpoint
    start, end = figures.window(sc)
    out_csv = tmp_path / "report.csv"
    env = {"CARELAY_ANALYTICS_URL": url, "CARELAY_ANALYTICS_API_KEY": "demo-clinic-analyst-key"}
    code = report.main(["--from", start.isoformat(), "--to", end.isoformat(), "--csv", str(out_csv)], env)
    assert code == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("Delivery report") and printed[1].split()[:3] == ["organization_id", "channel",
                                                                                    "provider"]
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text())))
    assert printed[3 + len(rows)] == "" and printed[4 + len(rows)].startswith("Appointment reminders answered")
    for r in rows:
        want = sc.rates(r["organization_id"], r["channel"])
        assert (int(r["messages"]), int(r["delivered"]), int(r["blocked"])) == (
            want["messages"], want["delivered"], want["blocked"])
    # the answers: per organization and day, the confirmation and cancellation rates
    header = printed[5 + len(rows)].split()
    assert header == ["organization_id", "day", "confirmed", "cancel_requested", "reschedule_requested", "answered",
                      "confirmation_rate", "cancellation_rate"]
    got: dict[str, list[int]] = {}
    for line in printed[7 + len(rows):]:
        org, _day, confirmed, cancels, _, answered, confirmation, cancellation = line.split()
        assert float(confirmation) == pytest.approx(int(confirmed) / int(answered), abs=1e-4)
        assert float(cancellation) == pytest.approx(int(cancels) / int(answered), abs=1e-4)
        counts = got.setdefault(org, [0, 0])
        counts[0] += int(confirmed)
        counts[1] += int(cancels)
    assert got == {org: [c["appointment.confirmed"], c["appointment.cancel_requested"]]
                   for org, c in sc.appointments.items()}


def test_report_for_one_organization_as_csv_on_stdout(endpoint, capsys: pytest.CaptureFixture):
    url, sc = endpoint
    start, end = figures.window(sc)
    env = {"CARELAY_ANALYTICS_URL": url, "CARELAY_ANALYTICS_API_KEY": "demo-clinic-auditor-key"}
    assert report.main(["--from", start.isoformat(), "--to", end.isoformat(), "--org", "clinic-b", "--csv", "-"],
                       env) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows and {r["organization_id"] for r in rows} == {"clinic-b"}


def test_report_with_a_wrong_key_exits_with_the_reason(endpoint):
    url, _ = endpoint
    with pytest.raises(SystemExit, match="401"):
        report.main([], {"CARELAY_ANALYTICS_URL": url, "CARELAY_ANALYTICS_API_KEY": "nope"})


@pytest.mark.parametrize(("argv", "env_key", "message"), [
    pytest.param([], "", "no API key; pass --key or set CARELAY_ANALYTICS_API_KEY", id="no-key"),
    pytest.param([], "   ", "no API key", id="blank-key"),
    pytest.param(["--key", "bad key"], "", "printable ASCII without spaces", id="key-with-space"),
    pytest.param(["--key", "ключ"], "", "printable ASCII without spaces", id="non-ascii-key"),
], )
def test_report_without_a_usable_key_exits_with_one_line(endpoint, argv: list[str], env_key: str, message: str):
    url, _ = endpoint
    with pytest.raises(SystemExit) as exited:
        report.main(argv, {"CARELAY_ANALYTICS_URL": url, "CARELAY_ANALYTICS_API_KEY": env_key})
    text = str(exited.value.code)
    assert message in text and "\n" not in text


def test_report_key_and_url_options_override_the_environment(endpoint, capsys: pytest.CaptureFixture):
    url, sc = endpoint
    start, end = figures.window(sc)
    env = {"CARELAY_ANALYTICS_URL": f"http://127.0.0.1:{free_port()}", "CARELAY_ANALYTICS_API_KEY": "nope"}
    argv = ["--from", start.isoformat(), "--to", end.isoformat(), "--csv", "-"]
    assert report.main([*argv, "--key", "demo-clinic-analyst-key", "--url", url + "/"], env) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows


def test_report_with_no_analytics_listening_exits_with_one_line():
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(SystemExit) as exited:
        report.main(["--key", "demo-clinic-analyst-key", "--url", url], {})
    text = str(exited.value.code)
    assert text.startswith(f"carelay report: cannot reach analytics at {url}") and "\n" not in text
