"""docker-compose.yml runs what the local stack tests: same Kafka, real settings variables, valid file."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from stack.kafka import KAFKA_VERSION
from stack.registry import APICURIO_VERSION

REPO = Path(__file__).resolve().parents[2]
PROVIDER_SECRETS = ("CARELAY_TWILIO_AUTH_TOKEN", "CARELAY_META_ACCESS_TOKEN", "CARELAY_META_APP_SECRET",
                    "CARELAY_META_VERIFY_TOKEN", "CARELAY_CONSOLE_SESSION_KEY", "CARELAY_PATIENT_LINK_KEY")
REQUIRED = {"CARELAY_PHI_KEYS": "k1:" + "A" * 43 + "=", "CARELAY_PSEUDONYM_KEY": "B" * 24,
            "CARELAY_CONSOLE_SESSION_KEY": "test-console-session-key",
            "CLICKHOUSE_PASSWORD": "test-password", "GRAFANA_ADMIN_PASSWORD": "test-grafana",
            **{var: f"test-{var.lower()}" for var in PROVIDER_SECRETS},
            "CARELAY_PATIENT_LINK_KEY": "C" * 24}  # base64, 18 bytes


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((REPO / "docker-compose.yml").read_text()))


def settings_variables() -> set[str]:
    from schemas.settings import declared_variables

    return set(declared_variables())


def test_compose_runs_the_versions_the_local_stack_tests() -> None:
    services = compose()["services"]
    assert set(services) == {"kafka", "registry", "clickhouse", "gateway", "worker", "sink", "agent", "prometheus",
                             "alertmanager", "grafana"}
    assert services["kafka"]["image"] == f"apache/kafka:{KAFKA_VERSION}"
    assert services["registry"]["image"].endswith(f":{APICURIO_VERSION}")
    assert services["kafka"]["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_app_services_run_the_four_roles_from_one_image() -> None:
    services = compose()["services"]
    commands = {name: " ".join(services[name]["command"]) for name in ("gateway", "worker", "sink", "agent")}
    assert commands["gateway"].startswith("uvicorn gateway.app:create_app --factory")
    assert "--port 8000" in commands["gateway"]
    assert commands["worker"].startswith("faust -A streams.app worker")
    assert commands["sink"] == "python -m analytics.sink"
    assert commands["agent"] == "python -m stack.reference_agent"  # what stack/pipeline.py starts
    assert all(services[name]["build"] == "." for name in commands)


def test_the_local_stack_starts_the_agent_compose_runs(tmp_path: Path) -> None:
    from stack.pipeline import Pipeline, Ports

    specs = {s.name: s for s in Pipeline({}, tmp_path, ports=Ports.free()).specs}
    assert specs["reference-agent"].argv[1:] == compose()["services"]["agent"]["command"][1:]  # python -m ...
    assert "reference-agent" not in {s.name for s in Pipeline({}, tmp_path, ports=Ports.free(), ai_agent=False).specs}


def test_app_environment_names_only_real_settings() -> None:
    known = settings_variables()
    assert "CARELAY_KAFKA_BOOTSTRAP" in known  # the pattern still finds the variables
    for name in ("gateway", "worker", "sink", "agent"):
        env = compose()["services"][name]["environment"]
        unknown = {key for key in env if key.startswith("CARELAY_")} - known
        assert not unknown, f"{name}: not a declared setting (schemas/settings/): {sorted(unknown)}"
        assert env["CARELAY_KAFKA_BOOTSTRAP"] == "kafka:19092"
        assert env["CARELAY_SCHEMA_REGISTRY_URL"].endswith("/apis/ccompat/v7")


def test_dockerfile_installs_the_project_on_python_311_slim() -> None:
    text = (REPO / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", text, re.MULTILINE)
    assert "pip install --no-deps ." in text


def _compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True, check=False).returncode == 0:
        return [docker, "compose"]
    return None


def test_docker_compose_accepts_the_file_and_demands_the_secrets() -> None:
    compose = _compose_command()
    assert compose is not None, "docker-compose is missing: `make tools` installs it"
    command = [*compose, "-f", str(REPO / "docker-compose.yml"), "config", "-q"]
    base = {k: v for k, v in os.environ.items() if k not in REQUIRED and not k.startswith("CARELAY_")}
    ok = subprocess.run(command, env={**base, **REQUIRED}, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    missing = subprocess.run(command, env=base, capture_output=True, text=True, check=False)
    assert missing.returncode != 0
    assert "CARELAY_PHI_KEYS" in missing.stderr or "CLICKHOUSE_PASSWORD" in missing.stderr


@pytest.mark.parametrize("value", [pytest.param(None, id="unset"), pytest.param("", id="empty")])
@pytest.mark.parametrize("var", PROVIDER_SECRETS)
def test_docker_compose_demands_every_provider_secret(var: str, value: str | None) -> None:
    compose = _compose_command()
    assert compose is not None, "docker-compose is missing: `make tools` installs it"
    base = {k: v for k, v in os.environ.items() if k not in REQUIRED and not k.startswith("CARELAY_")}
    env = {**base, **REQUIRED}
    if value is None:
        del env[var]
    else:
        env[var] = value
    command = [*compose, "-f", str(REPO / "docker-compose.yml"), "config", "-q"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert result.returncode != 0 and var in result.stderr


# The rendered file (anchors merged, variables substituted), as the engine would run it.
def rendered() -> dict[str, Any]:
    compose = _compose_command()
    assert compose is not None, "docker-compose is missing: `make tools` installs it"
    base = {k: v for k, v in os.environ.items() if k not in REQUIRED and not k.startswith("CARELAY_")}
    result = subprocess.run([*compose, "-f", str(REPO / "docker-compose.yml"), "config"], env={**base, **REQUIRED},
                            capture_output=True, text=True, check=True)
    return dict(yaml.safe_load(result.stdout))


# carelay's roles that serve HTTP: (address setting, port setting, health path); the worker serves /metrics only
SERVED = {"gateway": ("CARELAY_GATEWAY_HOST", "CARELAY_GATEWAY_PORT", "/healthz"),
          "worker": (None, "CARELAY_STREAMS_METRICS_PORT", "/metrics"),
          "sink": ("CARELAY_ANALYTICS_HOST", "CARELAY_ANALYTICS_PORT", "/v1/health")}
PEER_URLS = ("CARELAY_KAFKA_BOOTSTRAP", "CARELAY_SCHEMA_REGISTRY_URL", "CARELAY_CLICKHOUSE_URL",
             "CARELAY_ANALYTICS_URL")


def _host_port(address: str) -> tuple[str, int]:
    parsed = urlsplit(address if "//" in address else f"//{address}")
    assert parsed.hostname and parsed.port, address
    return parsed.hostname, parsed.port


def test_every_service_has_a_healthcheck() -> None:
    for name, service in rendered()["services"].items():
        check = service.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name}: no healthcheck"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name


def test_every_dependency_waits_for_health() -> None:
    services = rendered()["services"]
    for name, service in services.items():
        for peer, how in (service.get("depends_on") or {}).items():
            assert how == {"condition": "service_healthy"}, f"{name} starts before {peer} is healthy: {how}"
            assert services[peer].get("healthcheck"), f"{name} waits for {peer}, which reports no health"


@pytest.mark.parametrize("name", ["gateway", "worker", "sink", "agent"])
def test_carelay_services_reach_their_peers_by_service_name(name: str) -> None:
    services = rendered()["services"]
    env = services[name]["environment"]
    for var in PEER_URLS:
        if var in env:
            host, _ = _host_port(env[var])
            assert host in services, f"{name}: {var} names {host!r}, not a compose service"
    assert env["CARELAY_ANALYTICS_URL" if name == "gateway" else "CARELAY_KAFKA_BOOTSTRAP"]
    assert set(services[name]["depends_on"]) >= {"kafka", "registry"}


@pytest.mark.parametrize("name", ["gateway", "worker", "sink", "agent"])
def test_carelay_services_accept_their_environment_in_production(name: str) -> None:
    from schemas.settings import Settings

    env = {k: v for k, v in rendered()["services"][name]["environment"].items() if v is not None}
    assert env["CARELAY_ENV"] == "production"
    Settings.from_env(env)  # what each process does first: production refuses a missing or development secret


@pytest.mark.parametrize("name", sorted(SERVED))
def test_carelay_http_services_bind_every_interface_and_check_that_port(name: str) -> None:
    services = rendered()["services"]
    env = {k: v for k, v in services[name]["environment"].items() if v is not None}
    host_var, port_var, path = SERVED[name]
    if host_var is not None:  # the default 127.0.0.1 is unreachable from the other containers
        assert env.get(host_var) == "0.0.0.0", f"{name}: {host_var} must be 0.0.0.0 inside its container"
    assert port_var in env, f"{name}: {port_var} stated, so Prometheus and the healthcheck agree with it"
    if name == "gateway":
        command = services[name]["command"]
        assert command[command.index("--host") + 1] == "0.0.0.0"
        assert command[command.index("--port") + 1] == env[port_var]
    test = services[name]["healthcheck"]["test"]
    assert test[:4] == ["CMD", "python", "-m", "stack.health"]
    assert test[4] == f"http://127.0.0.1:{env[port_var]}{path}"


def test_prometheus_scrapes_every_carelay_http_service_on_the_port_it_serves() -> None:
    services = rendered()["services"]
    config = yaml.safe_load((REPO / "monitoring" / "compose" / "prometheus.yml").read_text())
    targets = {_host_port(t) for job in config["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]}
    for host, _ in targets:
        assert host in services, f"Prometheus scrapes {host}, not a compose service"
    for name, (_, port_var, _) in SERVED.items():
        assert (name, int(services[name]["environment"][port_var])) in targets, f"Prometheus misses {name}"
    alerting = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert {_host_port(t)[0] for t in alerting} == {"alertmanager"}


def test_the_agent_healthcheck_reads_the_heartbeat_the_agent_writes() -> None:
    from stack.health import HEARTBEAT_EVERY_S
    from stack.reference_agent import HEARTBEAT_FILE

    agent = rendered()["services"]["agent"]
    test = agent["healthcheck"]["test"]
    path = test[test.index("--file") + 1]
    assert path == f"{agent['environment']['CARELAY_DATA_DIR']}/{HEARTBEAT_FILE}"
    assert float(test[test.index("--max-age") + 1]) >= 5 * HEARTBEAT_EVERY_S
