import pytest

from stack.reference_agent import REPLIES, answer, response


@pytest.mark.parametrize(("text", "language", "rule", "replied_in"), [
    ("¿Cuál es su horario?", None, "hours", "es"),
    ("What are your opening hours?", "es", "hours", "en"),  # the words' language beats the request's
    ("Qual é o horário de funcionamento?", None, "hours", "pt"),
    ("¿Dónde están ubicados?", None, "address", "es"),
    ("what is the address", None, "address", "en"),
    ("Qual o endereço?", None, "address", "pt"),
    ("Hola", None, "greeting", "es"),
    ("Oi, bom dia", None, "greeting", "pt"),
    ("hola, quiero hablar con una persona", None, "handoff", "es"),
    ("Can I talk to a human please", None, "handoff", "en"),
    ("Quero falar com uma pessoa", None, "handoff", "pt"),
    ("mi perro se comió la receta", None, "fallback", "es"),
    ("xyz", "pt", "fallback", "pt"),
])
def test_rules(text: str, language: str | None, rule: str, replied_in: str) -> None:
    got = answer(text, language)
    assert (got.rule, got.language) == (rule, replied_in)
    assert got.text == REPLIES[rule][replied_in]
    assert got.handoff == (rule == "handoff")


def test_whole_words_only() -> None:
    assert answer("chiste").rule == "fallback"  # "hi" inside a word is not a greeting
    assert answer("ohio").rule == "fallback"


def test_the_response_answers_the_request_in_its_conversation() -> None:
    request = {"message_id": "ai:twilio:SM1", "conversation_id": "clinic|rid-1", "organization_id": "clinic",
               "recipient_id": "rid-1", "correlation_id": "twilio:SM1", "channel": "SMS", "appointment_id": "a-1",
               "language": None}
    sealed = {"kid": "k1", "nonce": b"n" * 12, "ct": b"c"}
    out = response(request, answer("persona"), sealed, 42)
    assert (out["correlation_id"], out["message_id"], out["conversation_id"]) == (
        "ai:twilio:SM1", "ai:twilio:SM1:answer", "clinic|rid-1")
    assert out["handoff"] and out["text"] == sealed and out["channel"] == "SMS" and out["appointment_id"] == "a-1"
    assert out["metadata"] == {"agent": "reference", "rule": "handoff"}
