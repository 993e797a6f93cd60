"""The patient page's words in Spanish, English and Portuguese (plain language), and which one to use."""
from __future__ import annotations

LANGUAGES = ("es", "en", "pt")
LANGUAGE_NAMES = {"es": "Español", "en": "English", "pt": "Português"}

WORDS: dict[str, dict[str, str]] = {
    "title": {"es": "Sus citas y mensajes", "en": "Your appointments and messages",
              "pt": "Suas consultas e mensagens"},
    "skip": {"es": "Ir al contenido", "en": "Skip to main content", "pt": "Ir para o conteúdo"},
    "language": {"es": "Idioma", "en": "Language", "pt": "Idioma"},
    "appointments": {"es": "Sus próximas citas", "en": "Your next appointments", "pt": "Suas próximas consultas"},
    "no_appointments": {"es": "No tiene citas próximas con nosotros.",
                        "en": "You have no upcoming appointments with us.",
                        "pt": "Você não tem consultas marcadas conosco."},
    "when": {"es": "Fecha y hora", "en": "Date and time", "pt": "Data e hora"},
    "status": {"es": "Estado", "en": "Status", "pt": "Situação"},
    "kind_BOOKED": {"es": "Reservada", "en": "Booked", "pt": "Marcada"},
    "kind_RESCHEDULED": {"es": "Cambiada de fecha", "en": "Moved to a new time", "pt": "Remarcada"},
    "kind_OTHER": {"es": "Reservada", "en": "Booked", "pt": "Marcada"},
    "answer_confirmed": {"es": "Usted la confirmó", "en": "You confirmed it", "pt": "Você confirmou"},
    "answer_cancel_requested": {"es": "Usted pidió cancelarla", "en": "You asked to cancel it",
                                "pt": "Você pediu para cancelar"},
    "answer_reschedule_requested": {"es": "Usted pidió cambiarla", "en": "You asked to change it",
                                    "pt": "Você pediu para remarcar"},
    "confirm": {"es": "Confirmar", "en": "Confirm", "pt": "Confirmar"},
    "cancel": {"es": "Cancelar la cita", "en": "Cancel the appointment", "pt": "Cancelar a consulta"},
    "reschedule": {"es": "Cambiar la fecha", "en": "Change the date", "pt": "Remarcar"},
    "no_buttons": {"es": "Para responder sobre esta cita, escríbanos abajo.",
                   "en": "To answer about this appointment, write to us below.",
                   "pt": "Para responder sobre esta consulta, escreva abaixo."},
    "messages": {"es": "Mensajes de la clínica", "en": "Messages from the clinic", "pt": "Mensagens da clínica"},
    "no_messages": {"es": "Todavía no hay mensajes.", "en": "No messages yet.", "pt": "Ainda não há mensagens."},
    "live": {"es": "Los mensajes nuevos aparecen aquí solos.", "en": "New messages appear here by themselves.",
             "pt": "As novas mensagens aparecem aqui sozinhas."},
    "sent_on": {"es": "Enviado", "en": "Sent", "pt": "Enviada"},
    "unreadable": {"es": "Este mensaje no se puede mostrar.", "en": "This message cannot be shown.",
                   "pt": "Esta mensagem não pode ser mostrada."},
    "reply": {"es": "Escribir a la clínica", "en": "Write to the clinic", "pt": "Escrever para a clínica"},
    "reply_hint": {"es": "Máximo 1000 letras. No escriba urgencias aquí: llame al 911.",
                   "en": "Up to 1000 characters. Not for emergencies: call your emergency number.",
                   "pt": "Até 1000 letras. Não use para emergências: ligue 192."},
    "send": {"es": "Enviar", "en": "Send", "pt": "Enviar"},
    "done_reply": {"es": "Recibimos su mensaje.", "en": "We received your message.",
                   "pt": "Recebemos sua mensagem."},
    "done_confirm": {"es": "Recibimos su confirmación.", "en": "We received your confirmation.",
                     "pt": "Recebemos sua confirmação."},
    "done_cancel": {"es": "Recibimos su pedido de cancelar.", "en": "We received your request to cancel.",
                    "pt": "Recebemos seu pedido de cancelamento."},
    "done_reschedule": {"es": "Recibimos su pedido de cambiar la fecha.",
                        "en": "We received your request to change the date.",
                        "pt": "Recebemos seu pedido de remarcação."},
    "error_title": {"es": "Hay un problema", "en": "There is a problem", "pt": "Há um problema"},
    "error_empty": {"es": "Escriba su mensaje", "en": "Enter your message", "pt": "Escreva sua mensagem"},
    "error_long": {"es": "Su mensaje tiene más de 1000 letras", "en": "Your message is longer than 1000 characters",
                   "pt": "Sua mensagem tem mais de 1000 letras"},
    "gone_title": {"es": "Este enlace no funciona", "en": "This link does not work",
                   "pt": "Este link não funciona"},
    "gone_body": {"es": "Puede haber vencido o ser de otro teléfono. Pida un enlace nuevo a su clínica.",
                  "en": "It may have expired or belong to another phone. Ask your clinic for a new link.",
                  "pt": "Ele pode ter vencido ou ser de outro telefone. Peça um novo link à sua clínica."},
    "busy_title": {"es": "Demasiados intentos", "en": "Too many tries", "pt": "Tentativas demais"},
    "busy_body": {"es": "Espere un minuto y vuelva a intentarlo.", "en": "Wait a minute and try again.",
                  "pt": "Espere um minuto e tente de novo."},
    "expired_form_title": {"es": "No pudimos enviar esto", "en": "We could not send this",
                           "pt": "Não conseguimos enviar isto"},
    "expired_form_body": {"es": "Vuelva a abrir la página e inténtelo otra vez. No se hizo nada.",
                          "en": "Open the page again and try once more. Nothing was done.",
                          "pt": "Abra a página de novo e tente outra vez. Nada foi feito."},
    "back": {"es": "Volver", "en": "Back", "pt": "Voltar"},
}


def choose(asked: str | None, remembered: str | None, link_language: str | None) -> str:
    """The page's language: the one picked on the page (`?lang=`), else the one picked before (cookie),
    else the patient's language as the clinic knows it, else Spanish."""
    for candidate in (asked, remembered, link_language):
        if candidate in LANGUAGES:
            return candidate
    return "es"


class Words:
    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else "es"

    def __call__(self, key: str) -> str:
        entry = WORDS.get(key)
        return entry[self.lang] if entry is not None else key
