import pytest

from streams.care.keywords import Intent, read
from streams.care.replies import CANCEL_WORDS, CONFIRM_WORDS, Answer, parse


@pytest.mark.parametrize("text", ["1", "si", "Sí", "SI!", "confirmo", "Confirmar", "yes", "YES.", "sim", "Sim!",
                                  "sí, confirmo", "si si"])
def test_confirm(text):
    assert parse(text, question_open=True).answer is Answer.CONFIRM


@pytest.mark.parametrize("text", ["2", "no", "No.", "cancelar", "CANCELAR", "cancel", "nao", "não", "Não!",
                                  "no, cancelar"])
def test_cancel(text):
    assert parse(text, question_open=True).answer is Answer.CANCEL


@pytest.mark.parametrize("text", ["reprogramar", "Cambiar", "reschedule", "remarcar"])
def test_reschedule(text):
    assert parse(text, question_open=True).answer is Answer.RESCHEDULE


@pytest.mark.parametrize("text", ["maybe", "no sí", "si puedo ir pero tarde", "3", "", "👍", "¿a qué hora era?"])
def test_unclear(text):
    assert parse(text, question_open=True).answer is Answer.UNCLEAR


@pytest.mark.parametrize(("payload", "answer"), [("confirm:m-1", Answer.CONFIRM), ("cancel:m-1", Answer.CANCEL),
                                                 ("reschedule:m-1", Answer.RESCHEDULE)])
def test_button_payload_names_the_question(payload, answer):
    reply = parse(None, payload, question_open=True)
    assert (reply.answer, reply.message_id) == (answer, "m-1")
    assert parse("whatever", payload, question_open=False).answer is answer  # a button answers its own question


@pytest.mark.parametrize("text", ["1", "si", "cancelar", "CANCEL", "no", "reprogramar", "hola"])
def test_without_an_open_question_nothing_is_claimed(text):
    assert parse(text, question_open=False).answer is Answer.NONE


@pytest.mark.parametrize("text", ["STOP", "baja", "Parar", "alto", "no más", "SAIR", "STOPALL", "HELP", "ayuda",
                                  "ajuda", "START", "alta"])
def test_keywords_keep_their_meaning_with_a_question_open(text):
    assert parse(text, question_open=True).answer is Answer.NONE
    assert read(text, question_open=True).intent is not Intent.NONE


def test_cancelar_rule_agrees_with_keywords():
    # an open question: both read CANCELAR as the appointment answer; none: keywords opt out, we claim nothing
    assert parse("CANCELAR", question_open=True).answer is Answer.CANCEL
    assert read("CANCELAR", question_open=True).intent is Intent.CANCEL
    assert parse("CANCELAR", question_open=False).answer is Answer.NONE
    assert read("CANCELAR", question_open=False).intent is Intent.OPT_OUT


def test_every_answer_word_of_keywords_reads_the_same_here():
    # keywords.read answers a question for a subset of our words; they must never disagree
    for word in [*CONFIRM_WORDS, *CANCEL_WORDS]:
        intent = read(word, question_open=True).intent
        ours = parse(word, question_open=True).answer
        if intent is Intent.CONFIRM:
            assert ours is Answer.CONFIRM, word
        elif intent is Intent.CANCEL:
            assert ours is Answer.CANCEL, word
        else:
            assert intent is Intent.NONE, word  # a word keywords does not know yet: never an opt-out


def test_language_of_the_word():
    assert parse("sim", question_open=True).language == "pt"
    assert parse("1", question_open=True).language is None
