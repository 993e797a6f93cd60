"""`python -m stack.simulator --port 8100 --gateway-url http://127.0.0.1:8000 [--scenario demo]`.

Credentials default to the same CARELAY_* settings the connectors read, so a local stack agrees.
"""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import uvicorn

from schemas.settings import Settings
from stack.simulator.app import create_app
from stack.simulator.scenarios import PRESETS
from stack.simulator.state import DEV_D360_API_KEY, SimulatorConfig


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m stack.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--gateway-url", default=None, help="where callbacks go (default: CARELAY_PUBLIC_URL)")
    parser.add_argument("--meta-webhook-url", default="", help="default: <gateway-url>/webhooks/meta")
    parser.add_argument("--twilio-inbound-url", default="", help="default: <gateway-url>/webhooks/twilio/inbound")
    parser.add_argument("--d360-api-key", default=DEV_D360_API_KEY)
    parser.add_argument("--scenario", default="none", choices=sorted(PRESETS), help="a built-in scenario")
    parser.add_argument("--scenario-file", type=Path, default=None, help="a scenario JSON file")
    parser.add_argument("--webhook-retries", type=int, default=3,
                        help="Meta webhook retries after a failed delivery (backoff doubling to 4 s)")
    parser.add_argument("--sns-signing-key", default="",
                        help="PEM key signing SNS notifications (its certificate: CARELAY_SNS_SIGNING_CERT_FILE)")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)

    settings = Settings.from_env()
    scenario = json.loads(args.scenario_file.read_text()) if args.scenario_file else {}
    scenario.setdefault("preset", args.scenario)
    overrides = {"meta_webhook_url": args.meta_webhook_url, "twilio_inbound_url": args.twilio_inbound_url,
                 "d360_api_key": args.d360_api_key, "scenario": scenario,
                 "webhook_retries": args.webhook_retries, "sns_signing_key_file": args.sns_signing_key}
    if args.gateway_url:
        overrides["gateway_url"] = args.gateway_url.rstrip("/")
    config = SimulatorConfig.from_settings(settings, **overrides)
    logging.basicConfig(level=args.log_level.upper())
    # access log off: request lines carry patient numbers in query strings
    uvicorn.run(create_app(config), host=args.host, port=args.port, log_level=args.log_level, access_log=False,
                timeout_graceful_shutdown=5)


if __name__ == "__main__":
    main()
