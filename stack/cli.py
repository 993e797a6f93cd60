"""`carelay` / `python -m stack.cli`: run the whole pipeline locally, send a demo, print a report.

`run` starts, in order: Kafka, the schema registry, the catalog topics, the provider simulator,
the analytics owner (sink + analysts' API), the stream worker(s), the gateway, Alertmanager and
Prometheus (when Debian's packages are installed: stack/monitoring.py), each as its own
process logging to var/logs/, prints where each listens, and stops them in reverse on Ctrl-C or
SIGTERM.
"""
from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Sequence
from urllib.parse import urlsplit

from confluent_kafka.admin import AdminClient

from schemas.settings import Settings
from schemas.topics import ensure_topics
from stack import monitoring
from stack.errors import StackError
from stack.kafka import LocalKafka
from stack.pipeline import Pipeline, Ports
from stack.registry import LocalRegistry

DEMO_SENDER_KEY = "demo-clinic-sender-key"  # access/keys.py's built-in demo keys


def _port(url: str) -> int:
    port = urlsplit(url if "//" in url else f"//{url}").port
    if port is None:
        raise StackError(f"no port in {url!r}")
    return port


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run(settings: Settings, workers: int) -> int:
    # Ctrl-C, and a supervisor's SIGTERM (docker stop, systemd), both stop everything in order. SIGINT
    # is set explicitly: a shell starting this in the background hands it down ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    data = settings.data_dir.resolve()
    kafka = LocalKafka(data / "kafka", port=_port(settings.kafka.bootstrap))
    # schemas stored in Kafka itself, so ids survive a restart of `make run` along with the data
    registry = LocalRegistry(data / "registry", port=_port(settings.kafka.schema_registry_url),
                             kafka_bootstrap=kafka.bootstrap)
    pipeline = Pipeline({}, data, ports=Ports(gateway=settings.gateway.port), workers=workers, gateway_workers=2,
                        scenario="demo", webhooks=True)
    # Prometheus and Alertmanager beside it (docs/monitoring.md); without Debian's packages the pipeline runs alone
    watched = not monitoring.missing_tools()
    if watched:
        monitoring.attach(pipeline)
    try:
        print("carelay: starting Kafka and the schema registry ...", flush=True)
        kafka.start()
        registry.start()
        created = ensure_topics(AdminClient({"bootstrap.servers": kafka.bootstrap}), settings.kafka.topic_prefix,
                                settings.kafka.partitions, settings.kafka.replication_factor)
        print(f"carelay: {len(created)} topics created; starting the pipeline ...", flush=True)
        from gateway.console.users import demo_accounts

        console_accounts = demo_accounts(settings)  # refused in production
        pipeline.start()
        lines = [f"  {'kafka':<10} {kafka.bootstrap}", f"  {'registry':<10} {settings.kafka.schema_registry_url}",
                 *pipeline.describe()]
        print(f"\ncarelay is running (logs in {pipeline.log_dir}):\n" + "\n".join(lines))
        print(f"\n  demo organization 'demo-clinic', sender API key: {DEMO_SENDER_KEY}")
        print(f"  staff console: {pipeline.gateway_url}/console  (docs/console.md)")
        for org, user, password in console_accounts:
            print(f"    organization {org}, username {user}, password {password}")
        if not watched:
            print("  no Prometheus / Alertmanager: `make monitoring-tools` installs them (docs/monitoring.md)")
        print("  in another terminal: make demo   (sends appointment reminders, prints the delivery report)")
        print("  Ctrl-C stops everything.", flush=True)
        while not pipeline.dead():
            time.sleep(0.5)
        for proc in pipeline.dead():
            print(f"carelay: {proc.name} stopped unexpectedly:\n{proc.log_tail()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ncarelay: stopping ...", flush=True)
        return 0
    finally:
        pipeline.stop()
        registry.stop()
        kafka.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="carelay", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run", help="run the whole pipeline locally against the provider simulator")
    run_p.add_argument("--workers", type=int, default=1, help="stream worker processes (consumer group members)")
    sub.add_parser("demo", help="send demo appointment reminders through a running `carelay run`, print the report")
    sub.add_parser("users", help="staff console accounts: add, unlock, disable (see `carelay users --help`)",
                   add_help=False)
    sub.add_parser("keys", help="retire a PHI key: re-seal the stream state, count what older keys still seal "
                   "(see `carelay keys --help`)", add_help=False)
    sub.add_parser("report", help="print the delivery report and the appointment confirmation / cancellation rates "
                   "(see `carelay report --help`)", add_help=False)
    args, rest = parser.parse_known_args(argv)
    if args.command == "report":
        from analytics.report import main as report_main

        return report_main(rest)
    if args.command == "keys":
        from stack.keys import main as keys_main

        return keys_main(rest)
    if args.command == "users":
        from gateway.console.users import main as users_main

        return users_main(rest)
    if args.command == "demo":
        from stack.demo import main as demo_main

        return demo_main()
    settings = Settings.from_env()
    return run(settings, args.workers)


if __name__ == "__main__":
    sys.exit(main())
