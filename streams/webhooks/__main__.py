"""`python -m streams.webhooks`: the outbound webhook process (fan-out and delivery), docs/webhooks.md."""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import Sequence


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m streams.webhooks",
        description="Send the pipeline's events to the organizations' webhook endpoints, signed per Standard "
                    "Webhooks, retried through the delay topics (which a stream worker forwards) for 24 h. "
                    "Settings from CARELAY_* variables (README: Settings).")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds one POST may take (default 10)")
    return p


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    from confluent_kafka.admin import AdminClient

    from schemas.phi import PhiCipher
    from schemas.registry import registry_from_url
    from schemas.settings import Settings
    from schemas.topics import Catalog, ensure_topics
    from streams.webhooks.service import Options, WebhookService

    settings = Settings.from_env()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    k = settings.kafka
    ensure_topics(AdminClient({"bootstrap.servers": k.bootstrap}), k.topic_prefix, k.partitions,
                  k.replication_factor)
    service = WebhookService(Options(k.bootstrap, args.timeout), Catalog(k.topic_prefix,
                             registry_from_url(k.schema_registry_url)),
                             PhiCipher(settings.phi_keys, accept_unbound=settings.phi_accept_unbound))

    async def run() -> None:
        task = asyncio.create_task(service.run())
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        logging.getLogger("carelay.webhooks").info("webhook process started")
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await service.close()

    asyncio.run(run())


if __name__ == "__main__":
    main()
