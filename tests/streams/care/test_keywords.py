import pytest

from streams.care.keywords import Intent, fold, read


@pytest.mark.parametrize("text", [
    "STOP", "stop", " Stop! ", "STOPALL", "UNSUBSCRIBE", "end", "Quit.", "BAJA", "¡Baja!", "parar", "ALTO",
    "no más", "NO MAS", "No-Más!!", "sair", "SAIR.",
])
def test_opt_out_words(text: str) -> None:
    assert read(text).intent in (Intent.OPT_OUT, Intent.OPT_OUT_ALL)


@pytest.mark.parametrize("text", ["STOPALL", "stop all"])
def test_stopall_is_every_channel(text: str) -> None:
    assert read(text).intent is Intent.OPT_OUT_ALL


@pytest.mark.parametrize("text", ["START", "unstop", "Alta", "VOLTAR", "yes"])
def test_opt_in_words_without_question(text: str) -> None:
    assert read(text).intent is Intent.OPT_IN


@pytest.mark.parametrize(("text", "lang"), [("HELP", "en"), ("info", None), ("Ayuda?", "es"), ("AJUDA", "pt")])
def test_help_words_and_reply_language(text: str, lang: str | None) -> None:
    reading = read(text)
    assert reading.intent is Intent.HELP
    assert reading.language == lang


@pytest.mark.parametrize("text", ["please stop texting me", "stop it now", "baja la cita", "help me please", "", "   "])
def test_only_the_whole_message_is_a_keyword(text: str) -> None:
    assert read(text).intent is Intent.NONE


def test_cancel_is_opt_out_without_an_open_question() -> None:
    assert read("CANCEL").intent is Intent.OPT_OUT
    assert read("cancelar").intent is Intent.OPT_OUT


def test_cancel_answers_an_open_question() -> None:
    assert read("CANCELAR", question_open=True).intent is Intent.CANCEL
    assert read("cancel", question_open=True).intent is Intent.CANCEL
    assert read("2", question_open=True).intent is Intent.CANCEL


def test_yes_confirms_an_open_question_instead_of_opting_in() -> None:
    assert read("YES", question_open=True).intent is Intent.CONFIRM
    assert read("sí", question_open=True).intent is Intent.CONFIRM
    assert read("1", question_open=True).intent is Intent.CONFIRM


def test_digits_mean_nothing_without_a_question() -> None:
    assert read("1").intent is Intent.NONE
    assert read("SI").intent is Intent.NONE


def test_stop_still_opts_out_with_a_question_open() -> None:
    assert read("STOP", question_open=True).intent is Intent.OPT_OUT
    assert read("baja", question_open=True).intent is Intent.OPT_OUT


def test_button_payload_names_the_message_and_wins_over_text() -> None:
    reading = read("Cancelar", "cancel:m-1")
    assert (reading.intent, reading.message_id) == (Intent.CANCEL, "m-1")
    assert read("x", "confirm:m-2").intent is Intent.CONFIRM
    assert (read(None, "reschedule:m-3").intent, read(None, "reschedule:m-3").message_id) == (Intent.RESCHEDULE, "m-3")


def test_unknown_payload_falls_back_to_text() -> None:
    assert read("STOP", "menu:3").intent is Intent.OPT_OUT


def test_fold() -> None:
    assert fold("  ¡No   más!  ") == "NO MAS"
    assert fold("Olá, João") == "OLA JOAO"
