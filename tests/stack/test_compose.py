"""docker-compose.yml runs what the local stack tests: same Kafka, real settings variables, valid file."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from stack.kafka import KAFKA_VERSION
from stack.registry import APICURIO_VERSION

REPO = Path(__file__).resolve().parents[2]
PROVIDER_SECRETS = ("CARELAY_TWILIO_AUTH_TOKEN", "CARELAY_META_ACCESS_TOKEN", "CARELAY_META_APP_SECRET",
                    "CARELAY_META_VERIFY_TOKEN")
REQUIRED = {"CARELAY_PHI_KEYS": "k1:" + "A" * 43 + "=", "CARELAY_PSEUDONYM_KEY": "B" * 24,
            "CLICKHOUSE_PASSWORD": "test-password", "GRAFANA_ADMIN_PASSWORD": "test-grafana",
            **{var: f"test-{var.lower()}" for var in PROVIDER_SECRETS}}


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
