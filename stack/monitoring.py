"""Prometheus and Alertmanager beside the local pipeline (Debian's `prometheus` and
`prometheus-alertmanager`, `make monitoring-tools`).

`attach(pipeline)` writes their configuration under the pipeline's data directory and appends both to
its processes: Prometheus scrapes the gateway, every stream worker and the analytics owner, evaluates
monitoring/rules/, and sends alerts to Alertmanager, whose webhook receiver is the gateway's
`POST /v1/ops/alerts` with an ops key, so an alert becomes a staff notice in the console. The files are
JSON, which both read as YAML. `FAST` timings (1 s scrapes and evaluations, every `for:` cut to 5 s)
serve the end-to-end test; `make run` uses `STANDARD`.
"""
from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stack.errors import StackError
from stack.javaproc import free_port
from stack.pipeline import ROOT, Pipeline, Spec, _http_ok

RULES_DIR = ROOT / "monitoring" / "rules"
PROMETHEUS, ALERTMANAGER = "prometheus", "prometheus-alertmanager"
OPS_DEMO_KEY = "demo-clinic-ops-key"  # access/keys.py's demo ops key (development only)
_FOR = re.compile(r"^(\s+for: )\S+\s*$", re.M)


@dataclass(frozen=True)
class Timing:
    scrape: str = "15s"
    scrape_timeout: str = "10s"  # at most `scrape`
    evaluation: str = "15s"
    rule_for: str | None = None  # every rule's `for:` replaced (tests), or as written
    group_wait: str = "10s"
    group_interval: str = "1m"
    repeat_interval: str = "4h"
    resend_delay: str = "1m"


STANDARD = Timing()
FAST = Timing(scrape="1s", scrape_timeout="1s", evaluation="1s", rule_for="5s", group_wait="1s", group_interval="1s",
              resend_delay="1s")


@dataclass(frozen=True)
class MonitoringPorts:
    prometheus: int = 9090
    alertmanager: int = 9093

    @classmethod
    def free(cls) -> MonitoringPorts:
        return cls(free_port(), free_port())


def missing_tools() -> list[str]:
    return [tool for tool in (PROMETHEUS, ALERTMANAGER) if shutil.which(tool) is None]


def scrape_targets(pipe: Pipeline) -> dict[str, list[str]]:
    """Job name -> host:port of every carelay process of `pipe` that serves /metrics."""
    names = {s.name for s in pipe.specs}
    p = pipe.ports
    workers = sorted(int(name.removeprefix("worker-")) for name in names if name.startswith("worker-"))
    jobs = {"carelay-gateway": [f"127.0.0.1:{p.gateway}"],
            "carelay-streams": [f"127.0.0.1:{p.worker_metrics + n}" for n in workers]}
    if "analytics" in names:
        jobs["carelay-analytics"] = [f"127.0.0.1:{p.analytics}"]
    return {job: targets for job, targets in jobs.items() if targets}


def prometheus_config(targets: dict[str, list[str]], alertmanager: str, rule_files: list[str],
                      timing: Timing) -> dict[str, Any]:
    return {
        "global": {"scrape_interval": timing.scrape, "evaluation_interval": timing.evaluation,
                   "scrape_timeout": timing.scrape_timeout},
        "rule_files": rule_files,
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
        "scrape_configs": [{"job_name": job, "static_configs": [{"targets": hosts}]}
                           for job, hosts in sorted(targets.items())],
    }


def alertmanager_config(receiver_url: str, bearer_token: str, timing: Timing) -> dict[str, Any]:
    """Every alert its own notification (group_by '...'), resolutions too, to the console's receiver."""
    return {
        "route": {"receiver": "carelay-console", "group_by": ["..."], "group_wait": timing.group_wait,
                  "group_interval": timing.group_interval, "repeat_interval": timing.repeat_interval},
        "receivers": [{"name": "carelay-console", "webhook_configs": [{
            "url": receiver_url, "send_resolved": True, "max_alerts": 100,
            "http_config": {"authorization": {"type": "Bearer", "credentials": bearer_token}}}]}],
    }


def rules_text(text: str, rule_for: str | None) -> str:
    return text if rule_for is None else _FOR.sub(lambda m: f"{m.group(1)}{rule_for}", text)


@dataclass(frozen=True)
class Monitoring:
    prometheus_url: str
    alertmanager_url: str
    config_dir: Path


def attach(pipe: Pipeline, *, ports: MonitoringPorts | None = None, timing: Timing = STANDARD,
           ops_key: str = OPS_DEMO_KEY) -> Monitoring:
    """Write the configuration and append Alertmanager and Prometheus to `pipe`'s processes (started
    after the carelay processes, stopped before them)."""
    missing = missing_tools()
    if missing:
        raise StackError(f"{', '.join(missing)} not found: `make monitoring-tools` installs Debian's packages")
    ports = ports or MonitoringPorts()
    conf = pipe.data_dir / "monitoring"
    rules = conf / "rules"
    rules.mkdir(parents=True, exist_ok=True)
    rule_files = []
    for source in sorted(RULES_DIR.glob("*.rules.yml")):
        (rules / source.name).write_text(rules_text(source.read_text(), timing.rule_for))
        rule_files.append(str(rules / source.name))
    am_addr, prom_addr = f"127.0.0.1:{ports.alertmanager}", f"127.0.0.1:{ports.prometheus}"
    (conf / "prometheus.yml").write_text(json.dumps(
        prometheus_config(scrape_targets(pipe), am_addr, rule_files, timing), indent=2))
    (conf / "alertmanager.yml").write_text(json.dumps(
        alertmanager_config(f"{pipe.gateway_url}/v1/ops/alerts", ops_key, timing), indent=2))
    am_url, prom_url = f"http://{am_addr}", f"http://{prom_addr}"
    pipe.specs.append(Spec(
        "alertmanager",
        [ALERTMANAGER, f"--config.file={conf / 'alertmanager.yml'}", f"--storage.path={conf / 'alertmanager'}",
         f"--web.listen-address={am_addr}", "--cluster.listen-address=", "--log.level=warn"],
        pipe.env, _http_ok(f"{am_url}/-/ready"), f"{am_url}  Alertmanager (alerts -> POST /v1/ops/alerts)"))
    pipe.specs.append(Spec(
        "prometheus",
        [PROMETHEUS, f"--config.file={conf / 'prometheus.yml'}", f"--storage.tsdb.path={conf / 'prometheus'}",
         f"--web.listen-address={prom_addr}", f"--rules.alert.resend-delay={timing.resend_delay}",
         "--storage.tsdb.retention.time=7d", "--log.level=warn"],
        pipe.env, _http_ok(f"{prom_url}/-/ready"), f"{prom_url}  Prometheus (monitoring/rules, /alerts)"))
    return Monitoring(prom_url, am_url, conf)
