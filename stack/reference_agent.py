"""`python -m stack.reference_agent`: a small rule-based AI agent, the other end of the AI bridge.

It stands where a real agent (an LLM service, a vendor's bot) would: an external system that only
speaks the topic contract. It reads AiMessages from `ai.requests`, opens the patient's words with
the PHI key ring, answers opening hours, the address, greetings, and "I want to talk to a person"
(a handoff: carelay sends its holding message and flags staff) in Spanish, English or Portuguese,
and writes the answer, sealed, to `ai.responses` with `correlation_id` = the request's message id.
No model, no download: the rules below are the whole brain.

Delivery is at least once: a request's offset is committed after its answer is acknowledged, and
the answer's id derives from the request, so carelay recognises a repeated answer.
"""
from __future__ import annotations

import argparse
import logging
import re
import signal
import threading
import time
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any

from confluent_kafka import Consumer, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from schemas.phi import Binding, PhiCipher, binding_of
from schemas.registry import registry_from_url
from schemas.settings import Settings
from schemas.topics import TOPICS, BoundTopic, Catalog, ensure_topics
from stack.health import Heartbeat

log = logging.getLogger("carelay.reference_agent")
# printed once partitions are assigned; stack.pipeline waits for it. A print, not a log record, so it
# shows at any CARELAY_LOG_LEVEL (make bench runs at WARNING)
READY = "reference agent ready"
# touched while the poll loop turns: the compose healthcheck (python -m stack.health --file) reads its age
HEARTBEAT_FILE = "reference-agent.alive"
LANGUAGES = ("es", "en", "pt")

# (rule, words or phrases per language); the first rule with a match answers
RULES: tuple[tuple[str, Mapping[str, tuple[str, ...]]], ...] = (
    ("handoff", {"es": ("persona", "humano", "agente", "hablar con", "recepcion", "operador"),
                 "en": ("person", "human", "agent", "speak to", "talk to", "someone", "staff"),
                 "pt": ("pessoa", "atendente", "falar com", "humano")}),
    ("hours", {"es": ("horario", "hora abren", "abren", "cierran", "abierto"),
               "en": ("hours", "open", "close", "opening"),
               "pt": ("horario de", "abrem", "fecham", "funcionamento", "aberto")}),
    ("address", {"es": ("direccion", "donde", "ubicacion", "ubicados", "como llego"),
                 "en": ("address", "where", "located", "location", "directions"),
                 "pt": ("endereco", "onde", "localizacao", "como chego")}),
    ("greeting", {"es": ("hola", "buenos dias", "buenas tardes", "buenas noches", "buenas"),
                  "en": ("hello", "hi", "hey", "good morning", "good afternoon", "good evening"),
                  "pt": ("ola", "oi", "bom dia", "boa tarde", "boa noite")}),
)

REPLIES: Mapping[str, Mapping[str, str]] = {
    "hours": {"es": "Atendemos de lunes a viernes de 8:00 a 20:00 y los sábados de 9:00 a 14:00.",
              "en": "We are open Monday to Friday 8:00-20:00 and Saturday 9:00-14:00.",
              "pt": "Atendemos de segunda a sexta das 8:00 às 20:00 e aos sábados das 9:00 às 14:00."},
    "address": {"es": "Estamos en Av. Insurgentes Sur 1234, Ciudad de México.",
                "en": "We are at Av. Insurgentes Sur 1234, Mexico City.",
                "pt": "Estamos na Av. Insurgentes Sur 1234, Cidade do México."},
    "greeting": {"es": "¡Hola! Puedo ayudarle con el horario y la dirección de la clínica.",
                 "en": "Hello! I can help with the clinic's opening hours and address.",
                 "pt": "Olá! Posso ajudar com o horário e o endereço da clínica."},
    "handoff": {"es": "Le comunicamos con una persona del equipo.",
                "en": "We are passing you to a member of our team.",
                "pt": "Vamos encaminhar você para alguém da equipe."},
    "fallback": {"es": "Puedo ayudarle con el horario y la dirección. Escriba PERSONA para hablar con el equipo.",
                 "en": "I can help with opening hours and the address. Write PERSON to talk to our team.",
                 "pt": "Posso ajudar com o horário e o endereço. Escreva PESSOA para falar com a equipe."},
}


@dataclass(frozen=True)
class Answer:
    rule: str       # hours, address, greeting, handoff, fallback (a label, never the patient's words)
    language: str
    text: str
    handoff: bool = False


def _normal(text: str) -> str:
    """Lower case, accents off, words separated by single spaces, padded for whole-word matches."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return f" {' '.join(re.findall(r'[a-z0-9]+', plain))} "


def answer(text: str, language: str | None = None) -> Answer:
    """The reply to one patient message. The language is the one the message is written in when a
    rule's words show it, else the request's, else Spanish."""
    words = _normal(text)
    preferred = language if language in LANGUAGES else None
    for rule, phrases in RULES:
        hits = {lang: sum(f" {p} " in words for p in phrases[lang]) for lang in LANGUAGES}
        best = max(hits.values())
        if best:
            # the language with the most matching words; a tie goes to the request's language
            tied = [lang for lang in LANGUAGES if hits[lang] == best]
            lang = preferred if preferred in tied else tied[0]
            return Answer(rule, lang, REPLIES[rule][lang], handoff=rule == "handoff")
    lang = preferred or "es"
    return Answer("fallback", lang, REPLIES["fallback"][lang])


def response(request: Mapping[str, Any], reply: Answer, sealed_text: Mapping[str, Any], now_ms: int) -> dict[str, Any]:
    """The AiMessage for `ai.responses`: same conversation, correlated to the request, id from it."""
    return {
        "message_id": f"{request['message_id']}:answer", "conversation_id": request["conversation_id"],
        "organization_id": request["organization_id"], "recipient_id": request["recipient_id"],
        "correlation_id": request["message_id"], "text": dict(sealed_text), "language": reply.language,
        "channel": request.get("channel") or "UNKNOWN", "appointment_id": request.get("appointment_id"),
        "handoff": reply.handoff, "created_at": now_ms, "metadata": {"agent": "reference", "rule": reply.rule},
    }


class ReferenceAgent:
    def __init__(self, consumer: Consumer, producer: Producer, requests: BoundTopic, responses: BoundTopic,
                 cipher: PhiCipher, heartbeat: Heartbeat | None = None) -> None:
        self.consumer = consumer
        self.heartbeat = heartbeat or Heartbeat(None)
        self.producer = producer
        self.requests = requests
        self.responses = responses
        self.cipher = cipher
        self._stop = threading.Event()
        self.answered = 0

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        def on_assign(consumer: Consumer, partitions: list[TopicPartition]) -> None:
            print(f"{READY}: {len(partitions)} partitions of {self.requests.name}", flush=True)

        self.consumer.subscribe([self.requests.name], on_assign=on_assign)
        try:
            while not self._stop.is_set():
                self.heartbeat.beat()
                batch = self.consumer.consume(100, timeout=0.2)
                if not batch:
                    continue
                for msg in batch:
                    self.handle(msg)
                if self.producer.flush(30) != 0:
                    raise KafkaException("answers not acknowledged within 30 s")  # no commit: re-read them
                self.consumer.commit(asynchronous=False)
        finally:
            self.consumer.close()
            self.producer.flush(10)

    def handle(self, msg: Message) -> None:
        value = msg.value()
        if msg.error() is not None or value is None:
            return
        try:
            request = self.requests.codec.decode(value)
            words = self.cipher.open("text", request["text"], binding_of("AiMessage", request))
        except Exception as exc:  # someone else's record, or a key we do not hold: skip it, say which
            log.warning("skipping %s[%d]@%d: %s", msg.topic(), msg.partition(), msg.offset(), type(exc).__name__)
            return
        reply = answer(words, request.get("language"))
        answer_id = f"{request['message_id']}:answer"
        sealed = self.cipher.seal("text", reply.text, Binding(request["organization_id"], answer_id))
        record = response(request, reply, sealed, int(time.time() * 1000))
        self.producer.produce(self.responses.name, key=request["recipient_id"].encode(),
                              value=self.responses.codec.encode(record))
        self.answered += 1
        log.info("answered %s with rule %s (%s)", request["message_id"], reply.rule, reply.language)


def main(argv: Sequence[str] | None = None, environ: dict[str, str] | None = None) -> int:
    argparse.ArgumentParser(
        prog="python -m stack.reference_agent",
        description="The rule-based reference AI agent: answers ai.requests on ai.responses until "
                    "SIGTERM/SIGINT. Settings from CARELAY_* variables (README: Settings).",
    ).parse_args(argv)
    settings = Settings.from_env(environ)
    kafka = settings.kafka
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    catalog = Catalog(kafka.topic_prefix, registry_from_url(kafka.schema_registry_url))
    ensure_topics(AdminClient({"bootstrap.servers": kafka.bootstrap}), kafka.topic_prefix, kafka.partitions,
                  kafka.replication_factor, topics=[TOPICS.ai_requests, TOPICS.ai_responses])
    consumer = Consumer({"bootstrap.servers": kafka.bootstrap, "group.id": f"{kafka.topic_prefix}reference-agent",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    # answers keyed by recipient_id on the patient's partition: Kafka's default (murmur2) partitioner
    producer = Producer({"bootstrap.servers": kafka.bootstrap, "partitioner": "murmur2_random",
                         "enable.idempotence": True, "linger.ms": 1})
    agent = ReferenceAgent(consumer, producer, catalog.ai_requests, catalog.ai_responses,
                           PhiCipher(settings.phi_keys, accept_unbound=settings.phi_accept_unbound),
                           Heartbeat(settings.data_dir / HEARTBEAT_FILE))

    def on_signal(signum: int, frame: FrameType | None) -> None:
        agent.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    agent.run()
    log.info("reference agent stopped after %d answers", agent.answered)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
