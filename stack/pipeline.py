"""The carelay processes as one unit: provider simulator, analytics owner, stream workers, the
reference AI agent, gateway.

`make run`, `make demo`, the benchmark and the end-to-end tests all start the pipeline through
`Pipeline`, against a broker and registry started separately, so what is measured and tested is
what users run. Each process gets the same CARELAY_* environment plus its own ports.
"""
from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from stack.errors import StackError
from stack.javaproc import ChildProcess, free_port, port_open
from stack.reference_agent import READY
from stack.simulator.sns_keys import write_signing_pair

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Ports:
    gateway: int = 8000
    simulator: int = 8100
    analytics: int = 8200
    worker_metrics: int = 9102  # worker n listens on worker_metrics + n

    @classmethod
    def free(cls) -> Ports:
        return cls(free_port(), free_port(), free_port(), free_port())


@dataclass(frozen=True)
class Spec:
    name: str
    argv: list[str]
    env: dict[str, str]
    ready: Callable[[], bool]
    where: str


def _http_ok(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return httpx.get(url, timeout=1.0).status_code < 500
        except httpx.HTTPError:
            return False

    return check


def _log_says(path: Path, line: str) -> Callable[[], bool]:
    """Ready when the process has logged `line` (a Kafka client with no port to probe); logs append
    across runs, so only what was written after this check was made counts."""
    since = path.stat().st_size if path.exists() else 0

    def check() -> bool:
        try:
            with open(path, "rb") as log:
                log.seek(since)
                return line.encode() in log.read()
        except FileNotFoundError:
            return False

    return check


class Pipeline:
    def __init__(
        self,
        env: Mapping[str, str],
        data_dir: Path,
        *,
        ports: Ports | None = None,
        workers: int = 1,
        gateway_workers: int = 1,
        scenario: str = "none",
        analytics: bool = True,
        ai_agent: bool = True,
        webhooks: bool = False,
    ) -> None:
        self.ports = ports or Ports()
        self.data_dir = data_dir
        self.log_dir = data_dir / "logs"
        p = self.ports
        self.gateway_url = f"http://127.0.0.1:{p.gateway}"
        self.simulator_url = f"http://127.0.0.1:{p.simulator}"
        self.analytics_url = f"http://127.0.0.1:{p.analytics}"
        # the simulator signs SNS delivery reports with this key; the gateway trusts its certificate
        sns_key, sns_cert = write_signing_pair(data_dir / "sns")
        base = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "CARELAY_DEMO_API_KEYS": "true",  # the local stack's explicit opt-in to the demo API keys
            # the demo clinic is the operator; the console's reports page reads analytics with its analyst's key
            "CARELAY_ANALYTICS_SQL_ORGS": "demo-clinic",
            "CARELAY_ANALYTICS_API_KEY": "demo-clinic-analyst-key",
            "CARELAY_TWILIO_BASE_URL": self.simulator_url,
            "CARELAY_META_BASE_URL": self.simulator_url,
            "CARELAY_SNS_ENDPOINT_URL": f"{self.simulator_url}/sns",
            "CARELAY_SNS_SIGNING_CERT_FILE": str(sns_cert),
            "CARELAY_BIRD_BASE_URL": self.simulator_url,
            "CARELAY_GATEWAY_PORT": str(p.gateway),
            "CARELAY_PUBLIC_URL": self.gateway_url,
            "CARELAY_ANALYTICS_PORT": str(p.analytics),
            "CARELAY_CLICKHOUSE_PATH": str(data_dir / "chdb"),
            "CARELAY_DATA_DIR": str(data_dir),
            **env,
        }
        self.env = base
        py = sys.executable
        self.specs: list[Spec] = [
            Spec("simulator", [py, "-m", "stack.simulator", "--port", str(p.simulator), "--gateway-url",
                               self.gateway_url, "--scenario", scenario, "--sns-signing-key", str(sns_key)], base,
                 _http_ok(f"{self.simulator_url}/_sim/messages?limit=1"),
                 f"{self.simulator_url}  provider simulator (Twilio, Meta, SNS, Bird APIs; GET /_sim/messages)"),
        ]
        if analytics:
            self.specs.append(Spec("analytics", [py, "-m", "analytics.service"], base,
                                   _http_ok(f"{self.analytics_url}/v1/health"),
                                   f"{self.analytics_url}  analytics owner (POST /v1/sql, GET /v1/report)"))
        for n in range(workers):
            wenv = {**base, "CARELAY_STREAMS_METRICS_PORT": str(p.worker_metrics + n)}
            self.specs.append(Spec(f"worker-{n}", [py, "-m", "streams", "worker"], wenv,
                                   lambda port=p.worker_metrics + n: port_open(port),  # type: ignore[misc]
                                   f"http://127.0.0.1:{p.worker_metrics + n}/metrics  stream worker {n}"))
        if webhooks:  # outbound webhooks to the clinics' endpoints (docs/webhooks.md)
            self.specs.append(Spec("webhooks", [py, "-m", "streams.webhooks"], base,
                                   _log_says(self.log_dir / "webhooks.log", "webhook endpoints loaded"),
                                   "webhook.deliveries -> the clinics' endpoints  webhook process"))
        if ai_agent:
            self.specs.append(Spec("reference-agent", [py, "-m", "stack.reference_agent"], base,
                                   _log_says(self.log_dir / "reference-agent.log", READY),
                                   "ai.requests -> ai.responses  reference AI agent (rule-based)"))
        # The gateway's workers share their metrics through files here (gateway/metrics.py), emptied at each start.
        self.metrics_dir = data_dir / "gateway-metrics"
        genv = {**base, "PROMETHEUS_MULTIPROC_DIR": str(self.metrics_dir)}
        # The console's live streams never end by themselves: a stop cancels them after 5 s instead of waiting.
        self.specs.append(Spec(
            "gateway",
            [py, "-m", "uvicorn", "gateway.app:create_app", "--factory", "--host", "127.0.0.1", "--port",
             str(p.gateway), "--workers", str(gateway_workers), "--no-access-log", "--log-level", "warning",
             "--timeout-graceful-shutdown", "5"],
            genv, _http_ok(f"{self.gateway_url}/readyz"),
            f"{self.gateway_url}  gateway (POST /v1/messages, /webhooks/..., /metrics, /openapi.json)"))
        self.procs: dict[str, ChildProcess] = {}

    def __enter__(self) -> Pipeline:
        """Starts every process; if one fails to come up, stops those already started before raising."""
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 90.0) -> None:
        for spec in self.specs:
            self.start_one(spec.name, timeout)

    def start_one(self, name: str, timeout: float = 90.0) -> ChildProcess:
        spec = next(s for s in self.specs if s.name == name)
        multiproc = spec.env.get("PROMETHEUS_MULTIPROC_DIR")
        if multiproc:  # last run's files would add their counts to this run's
            shutil.rmtree(multiproc, ignore_errors=True)
            Path(multiproc).mkdir(parents=True)
        proc = ChildProcess(spec.name, spec.argv, cwd=ROOT, log_path=self.log_dir / f"{spec.name}.log", env=spec.env)
        proc.start()
        self.procs[name] = proc
        deadline = time.monotonic() + timeout
        while not spec.ready():
            if not proc.running:
                raise StackError(f"{name} exited during start-up (exit code {proc.returncode}):\n{proc.log_tail()}")
            if time.monotonic() > deadline:
                raise StackError(f"{name} not ready after {timeout:.0f} s:\n{proc.log_tail()}")
            time.sleep(0.2)
        return proc

    def kill(self, name: str) -> None:
        """SIGKILL: a crash, no shutdown (chaos tests)."""
        self.procs[name].kill()

    def stop(self) -> None:
        for proc in reversed(list(self.procs.values())):
            proc.stop(timeout=15.0)

    def dead(self) -> list[ChildProcess]:
        return [p for p in self.procs.values() if not p.running]

    def describe(self) -> list[str]:
        return [f"  {s.name:<10} {s.where}" for s in self.specs]
