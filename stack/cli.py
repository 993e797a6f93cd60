"""`carelay` / `python -m stack.cli`: run the whole pipeline locally, send a demo, print a report.

`run` starts, in order: Kafka, the schema registry, the catalog topics, the provider simulator,
the analytics owner (sink + analysts' API), the stream worker(s) and the gateway, each as its own
process logging to var/logs/, prints where each listens, and stops them in reverse on Ctrl-C.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from confluent_kafka.admin import AdminClient

from schemas.settings import Settings
from schemas.topics import ensure_topics
from stack.errors import StackError
from stack.javaproc import ChildProcess, port_open
from stack.kafka import LocalKafka
from stack.registry import LocalRegistry

ROOT = Path(__file__).resolve().parent.parent
SIMULATOR_PORT = 8100
DEMO_SENDER_KEY = "demo-clinic-sender-key"  # gateway/auth.py's built-in demo keys


@dataclass(frozen=True)
class Service:
    """One Python process of the pipeline and how to tell that it is ready."""

    name: str
    argv: Sequence[str]
    ready: Callable[[], bool]
    where: str


def _http_ok(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return httpx.get(url, timeout=1.0).status_code < 500
        except httpx.HTTPError:
            return False

    return check


def _port(url: str) -> int:
    port = urlsplit(url if "//" in url else f"//{url}").port
    if port is None:
        raise StackError(f"no port in {url!r}")
    return port


def pipeline_environment(settings: Settings) -> dict[str, str]:
    """What every child process sees: this environment plus the simulator as provider endpoint."""
    env = dict(os.environ)
    simulator = f"http://127.0.0.1:{SIMULATOR_PORT}"
    env.setdefault("CARELAY_TWILIO_BASE_URL", simulator)
    env.setdefault("CARELAY_META_BASE_URL", simulator)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def services(settings: Settings, workers: int) -> list[Service]:
    py = sys.executable
    gw = settings.gateway
    analytics_port = int(os.environ.get("CARELAY_ANALYTICS_PORT", "8200"))
    found: list[Service] = [
        Service("simulator", [py, "-m", "stack.simulator", "--port", str(SIMULATOR_PORT),
                              "--gateway-url", gw.public_url, "--scenario", "demo"],
                _http_ok(f"http://127.0.0.1:{SIMULATOR_PORT}/_sim/messages"),
                f"http://127.0.0.1:{SIMULATOR_PORT} (Twilio + Meta APIs; /_sim/messages lists what patients got)"),
        Service("analytics", [py, "-m", "analytics.service"],
                lambda: port_open(analytics_port),
                f"http://127.0.0.1:{analytics_port} (POST /v1/sql, GET /v1/report; owns {settings.clickhouse.path})"),
    ]
    for n in range(workers):
        found.append(Service(f"worker-{n}", [py, "-m", "streams", "worker"], lambda: True,
                             "Faust stream worker (consumer group carelay)"))
    found.append(Service(
        "gateway",
        [py, "-m", "uvicorn", "gateway.app:create_app", "--factory", "--host", gw.host, "--port", str(gw.port),
         "--workers", "2", "--no-access-log", "--log-level", "warning"],
        _http_ok(f"http://{gw.host}:{gw.port}/healthz"),
        f"http://{gw.host}:{gw.port} (POST /v1/messages, /webhooks/..., /metrics, /openapi.json)",
    ))
    return found


def _wait(name: str, ready: Callable[[], bool], proc: ChildProcess | None, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and not proc.running:
            raise StackError(f"{name} exited during start-up:\n{proc.log_tail()}")
        if ready():
            return
        time.sleep(0.2)
    raise StackError(f"{name} not ready after {timeout:.0f} s" + (f":\n{proc.log_tail()}" if proc else ""))


def run(settings: Settings, workers: int) -> int:
    data = settings.data_dir.resolve()
    logs = data / "logs"
    kafka = LocalKafka(data / "kafka", port=_port(settings.kafka.bootstrap))
    # schemas stored in Kafka itself, so ids survive a restart of `make run` along with the data
    registry = LocalRegistry(data / "registry", port=_port(settings.kafka.schema_registry_url),
                             kafka_bootstrap=kafka.bootstrap)
    children: list[ChildProcess] = []
    lines = []
    try:
        print("carelay: starting Kafka and the schema registry ...", flush=True)
        kafka.start()
        registry.start()
        lines += [f"  kafka      {kafka.bootstrap}", f"  registry   {settings.kafka.schema_registry_url}"]
        created = ensure_topics(AdminClient({"bootstrap.servers": kafka.bootstrap}), settings.kafka.topic_prefix,
                                settings.kafka.partitions, settings.kafka.replication_factor)
        print(f"carelay: {len(created)} topics created", flush=True)
        env = pipeline_environment(settings)
        for svc in services(settings, workers):
            proc = ChildProcess(svc.name, svc.argv, cwd=ROOT, log_path=logs / f"{svc.name}.log", env=env)
            proc.start()
            children.append(proc)
            _wait(svc.name, svc.ready, proc)
            lines.append(f"  {svc.name:<10} {svc.where}")
        print("\ncarelay is running (logs in var/logs/):\n" + "\n".join(lines))
        print(f"\n  demo organization 'demo-clinic', sender API key: {DEMO_SENDER_KEY}")
        print("  try: make demo    (or see README: Sending a message)\n  Ctrl-C stops everything.", flush=True)
        while all(p.running for p in children):
            time.sleep(0.5)
        dead = [p for p in children if not p.running]
        for p in dead:
            print(f"carelay: {p.name} stopped unexpectedly:\n{p.log_tail()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ncarelay: stopping ...", flush=True)
        return 0
    finally:
        for proc in reversed(children):
            proc.stop(timeout=15.0)
        registry.stop()
        kafka.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="carelay", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run", help="run the whole pipeline locally against the provider simulator")
    run_p.add_argument("--workers", type=int, default=1, help="stream worker processes (consumer group members)")
    sub.add_parser("report", help="print a delivery report (see `carelay report --help`)", add_help=False)
    args, rest = parser.parse_known_args(argv)
    if args.command == "report":
        from analytics.report import main as report_main

        return report_main(rest)
    settings = Settings.from_env()
    return run(settings, args.workers)


if __name__ == "__main__":
    sys.exit(main())
