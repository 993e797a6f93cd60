"""The console's words in Spanish, English and Portuguese, and the choice of language per request.

One entry per message, all three languages in it (a unit test checks none is missing and that each
language fills the same placeholders). Choice: the `lang` query parameter (the switch on every page,
remembered in a cookie), else that cookie, else the best of the browser's Accept-Language, else English.
"""
from __future__ import annotations

from collections.abc import Mapping

from gateway.console.appointment_words import MESSAGES as APPOINTMENT_MESSAGES
from gateway.console.conversation_words import MESSAGES as CONVERSATION_MESSAGES
from gateway.console.ops_words import MESSAGES as OPS_MESSAGES
from gateway.console.page_words import MESSAGES as PAGE_MESSAGES
from gateway.console.report_words import MESSAGES as REPORT_MESSAGES
from gateway.console.templates_words import MESSAGES as TEMPLATE_MESSAGES

LANGUAGES = ("es", "en", "pt")
DEFAULT = "en"
LANGUAGE_NAMES = {"es": "Español", "en": "English", "pt": "Português"}

MESSAGES: Mapping[str, Mapping[str, str]] = {
    # layout
    "service": {"es": "carelay · consola del personal", "en": "carelay · staff console",
                "pt": "carelay · console da equipe"},
    "skip": {"es": "Saltar al contenido principal", "en": "Skip to main content",
             "pt": "Pular para o conteúdo principal"},
    "language": {"es": "Idioma", "en": "Language", "pt": "Idioma"},
    "signed_in_as": {"es": "Sesión de {user} ({role}), {org}", "en": "Signed in as {user} ({role}), {org}",
                     "pt": "Sessão de {user} ({role}), {org}"},
    "sign_out": {"es": "Cerrar sesión", "en": "Sign out", "pt": "Sair"},
    "nav": {"es": "Secciones", "en": "Sections", "pt": "Seções"},
    "nav_inbox": {"es": "Bandeja", "en": "Inbox", "pt": "Caixa de entrada"},
    "role_staff": {"es": "personal", "en": "staff", "pt": "equipe"},
    "role_admin": {"es": "administración", "en": "admin", "pt": "administração"},
    "role_auditor": {"es": "auditoría", "en": "auditor", "pt": "auditoria"},
    "role_analyst": {"es": "análisis", "en": "analyst", "pt": "análise"},
    # sign-in
    "signin_title": {"es": "Iniciar sesión", "en": "Sign in", "pt": "Entrar"},
    "organization": {"es": "Organización", "en": "Organization", "pt": "Organização"},
    "organization_hint": {"es": "El identificador de su clínica, por ejemplo clinic-42",
                          "en": "Your clinic's identifier, for example clinic-42",
                          "pt": "O identificador da sua clínica, por exemplo clinic-42"},
    "username": {"es": "Usuario", "en": "Username", "pt": "Usuário"},
    "password": {"es": "Contraseña", "en": "Password", "pt": "Senha"},
    "signin_button": {"es": "Iniciar sesión", "en": "Sign in", "pt": "Entrar"},
    "error_summary": {"es": "Hay un problema", "en": "There is a problem", "pt": "Há um problema"},
    "error_credentials": {"es": "La organización, el usuario o la contraseña no son correctos",
                          "en": "The organization, username or password is not right",
                          "pt": "A organização, o usuário ou a senha não estão corretos"},
    "error_locked": {"es": "La cuenta está bloqueada por demasiados intentos fallidos. Espere {minutes} "
                           "minutos o pida a un administrador que la desbloquee",
                     "en": "The account is locked after too many failed sign-ins. Wait {minutes} minutes "
                           "or ask an administrator to unlock it",
                     "pt": "A conta está bloqueada após tentativas demais. Aguarde {minutes} minutos ou "
                           "peça a um administrador para desbloqueá-la"},
    "error_required": {"es": "Escriba {field}", "en": "Enter {field}", "pt": "Informe {field}"},
    "notice_idle": {"es": "Su sesión se cerró tras {minutes} minutos sin actividad. Inicie sesión de nuevo",
                    "en": "You were signed out after {minutes} minutes without activity. Sign in again",
                    "pt": "Sua sessão foi encerrada após {minutes} minutos sem atividade. Entre de novo"},
    "notice_signed_out": {"es": "Cerró la sesión", "en": "You have signed out", "pt": "Você saiu"},
    # refusals
    "forbidden_title": {"es": "No tiene acceso a esta página", "en": "You cannot see this page",
                        "pt": "Você não tem acesso a esta página"},
    "forbidden_body": {"es": "Su función ({role}) no permite esta acción. Hable con un administrador "
                             "de su clínica si la necesita",
                       "en": "Your role ({role}) does not allow this. Ask an administrator of your clinic "
                             "if you need it",
                       "pt": "Sua função ({role}) não permite isto. Fale com um administrador da sua "
                             "clínica se precisar"},
    "csrf_title": {"es": "El formulario caducó", "en": "The form has expired", "pt": "O formulário expirou"},
    "csrf_body": {"es": "No se hizo nada. Vuelva a la página, recárguela y envíe el formulario otra vez",
                  "en": "Nothing was done. Go back, reload the page and send the form again",
                  "pt": "Nada foi feito. Volte, recarregue a página e envie o formulário de novo"},
    "loading_title": {"es": "La consola está arrancando", "en": "The console is starting",
                      "pt": "O console está iniciando"},
    "loading_body": {"es": "Inténtelo de nuevo en unos segundos", "en": "Try again in a few seconds",
                     "pt": "Tente de novo em alguns segundos"},
    "back": {"es": "Volver", "en": "Go back", "pt": "Voltar"},
    "not_found_title": {"es": "No se encontró", "en": "Not found", "pt": "Não encontrado"},
    "not_found_body": {"es": "Este aviso no existe o ya no está en la bandeja",
                       "en": "This notice does not exist or is no longer in the inbox",
                       "pt": "Este aviso não existe ou não está mais na caixa de entrada"},
    # inbox
    "inbox_title": {"es": "Avisos que necesitan a una persona", "en": "Notices that need a person",
                    "pt": "Avisos que precisam de uma pessoa"},
    "inbox_live": {"es": "La lista se actualiza sola", "en": "This list updates by itself",
                   "pt": "A lista se atualiza sozinha"},
    "inbox_empty": {"es": "No hay avisos pendientes", "en": "There are no open notices",
                    "pt": "Não há avisos pendentes"},
    "inbox_counts": {"es": "Pendientes por motivo", "en": "Open notices by reason",
                     "pt": "Pendentes por motivo"},
    "inbox_total": {"es": "Todos", "en": "All", "pt": "Todos"},
    "filter_reason": {"es": "Mostrar el motivo", "en": "Show the reason", "pt": "Mostrar o motivo"},
    "filter_apply": {"es": "Filtrar", "en": "Filter", "pt": "Filtrar"},
    "reason": {"es": "Motivo", "en": "Reason", "pt": "Motivo"},
    "count": {"es": "Número", "en": "Number", "pt": "Número"},
    "what_to_do": {"es": "Qué hacer", "en": "What to do", "pt": "O que fazer"},
    "received": {"es": "Recibido", "en": "Received", "pt": "Recebido"},
    "patient": {"es": "Paciente (seudónimo)", "en": "Patient (pseudonym)", "pt": "Paciente (pseudônimo)"},
    "appointment": {"es": "Cita", "en": "Appointment", "pt": "Consulta"},
    "message": {"es": "Mensaje", "en": "Message", "pt": "Mensagem"},
    "channel": {"es": "Canal", "en": "Channel", "pt": "Canal"},
    "has_words": {"es": "El paciente escribió un texto", "en": "The patient wrote a text",
                  "pt": "O paciente escreveu um texto"},
    "state": {"es": "Estado", "en": "Status", "pt": "Estado"},
    "state_open": {"es": "Pendiente", "en": "Open", "pt": "Pendente"},
    "state_assigned": {"es": "Asignado a {who}", "en": "Assigned to {who}", "pt": "Atribuído a {who}"},
    "state_acknowledged": {"es": "Visto por {who}", "en": "Acknowledged by {who}", "pt": "Visto por {who}"},
    "state_resolved": {"es": "Resuelto por {who}", "en": "Resolved by {who}", "pt": "Resolvido por {who}"},
    "act_acknowledge": {"es": "Marcar como visto", "en": "Acknowledge", "pt": "Marcar como visto"},
    "act_assign": {"es": "Asignármelo", "en": "Assign to me", "pt": "Atribuir a mim"},
    "act_resolve": {"es": "Resuelto", "en": "Resolve", "pt": "Resolvido"},
    "act_done": {"es": "Hecho: {what}", "en": "Done: {what}", "pt": "Feito: {what}"},
    # patients
    "nav_find": {"es": "Buscar paciente", "en": "Find a patient", "pt": "Buscar paciente"},
    "find_title": {"es": "Buscar un paciente por teléfono", "en": "Find a patient by phone number",
                   "pt": "Buscar um paciente pelo telefone"},
    "phone": {"es": "Número de teléfono", "en": "Phone number", "pt": "Número de telefone"},
    "phone_hint": {"es": "Con + y el código del país, por ejemplo +52 55 1234 5678",
                   "en": "With + and the country code, for example +52 55 1234 5678",
                   "pt": "Com + e o código do país, por exemplo +55 11 91234 5678"},
    "find_button": {"es": "Buscar", "en": "Find", "pt": "Buscar"},
    "find_error": {"es": "Escriba un número válido con + y el código del país",
                   "en": "Enter a valid number with + and the country code",
                   "pt": "Informe um número válido com + e o código do país"},
    "patient_title": {"es": "Paciente", "en": "Patient", "pt": "Paciente"},
    "phi_notice": {"es": "Esta página muestra datos de salud del paciente. Cada consulta queda registrada.",
                   "en": "This page shows the patient's health information. Every view is recorded.",
                   "pt": "Esta página mostra dados de saúde do paciente. Cada acesso é registrado."},
    "patient_empty": {"es": "No hay avisos de este paciente", "en": "There are no notices about this patient",
                      "pt": "Não há avisos deste paciente"},
    "patient_wrote": {"es": "El paciente escribió:", "en": "The patient wrote:", "pt": "O paciente escreveu:"},
    "words_unreadable": {"es": "El texto no se pudo abrir (clave desconocida)",
                         "en": "The text could not be opened (unknown key)",
                         "pt": "O texto não pôde ser aberto (chave desconhecida)"},
    "open_patient": {"es": "Ver al paciente", "en": "Open the patient's page", "pt": "Ver o paciente"},
    # messages
    "message_title": {"es": "Mensaje", "en": "Message", "pt": "Mensagem"},
    "message_find": {"es": "Buscar un mensaje por su identificador", "en": "Find a message by its id",
                     "pt": "Buscar uma mensagem pelo identificador"},
    "message_id": {"es": "Identificador del mensaje", "en": "Message id", "pt": "Identificador da mensagem"},
    "message_not_found": {"es": "No hay ningún mensaje de su organización con ese identificador",
                          "en": "There is no message of your organization with this id",
                          "pt": "Não há mensagem da sua organização com este identificador"},
    "message_history": {"es": "Historial", "en": "History", "pt": "Histórico"},
    "when": {"es": "Cuándo", "en": "When", "pt": "Quando"},
    "provider": {"es": "Proveedor", "en": "Provider", "pt": "Provedor"},
    "code": {"es": "Código", "en": "Code", "pt": "Código"},
    "created": {"es": "Aceptado", "en": "Accepted", "pt": "Aceito"},
    "updated": {"es": "Último cambio", "en": "Last change", "pt": "Última mudança"},
    "final_yes": {"es": "Terminado: no cambiará más", "en": "Finished: it will not change again",
                  "pt": "Concluída: não mudará mais"},
    "final_no": {"es": "En curso", "en": "In progress", "pt": "Em andamento"},
    "late": {"es": "llegó tarde, no cambia el estado", "en": "arrived late, does not change the status",
             "pt": "chegou atrasado, não muda o estado"},
    "open_message": {"es": "Ver el mensaje", "en": "Open the message", "pt": "Ver a mensagem"},
    # appointments
    "appointment_title": {"es": "Cita y sus recordatorios", "en": "Appointment and its reminders",
                          "pt": "Consulta e seus lembretes"},
    "appointment_find": {"es": "Buscar una cita por su identificador", "en": "Find an appointment by its id",
                         "pt": "Buscar uma consulta pelo identificador"},
    "appointment_id": {"es": "Identificador de la cita", "en": "Appointment id", "pt": "Identificador da consulta"},
    "appointment_not_found": {"es": "No hay ninguna cita de su organización con ese identificador",
                              "en": "There is no appointment of your organization with this id",
                              "pt": "Não há consulta da sua organização com este identificador"},
    "appointment_start": {"es": "Fecha y hora", "en": "Date and time", "pt": "Data e hora"},
    "appointment_reminders": {"es": "Recordatorios", "en": "Reminders", "pt": "Lembretes"},
    "reminder": {"es": "Recordatorio", "en": "Reminder", "pt": "Lembrete"},
    "reminder_due": {"es": "Previsto", "en": "Due", "pt": "Previsto"},
    "reminder_none": {"es": "No se puede enviar ningún recordatorio para esta cita",
                      "en": "No reminder can be sent for this appointment",
                      "pt": "Nenhum lembrete pode ser enviado para esta consulta"},
    "open_appointment": {"es": "Ver la cita", "en": "Open the appointment", "pt": "Ver a consulta"},
    # users (admin)
    "nav_users": {"es": "Cuentas", "en": "Accounts", "pt": "Contas"},
    "users_title": {"es": "Cuentas de la clínica", "en": "The clinic's accounts", "pt": "Contas da clínica"},
    "users_add": {"es": "Añadir una cuenta", "en": "Add an account", "pt": "Adicionar uma conta"},
    "role": {"es": "Función", "en": "Role", "pt": "Função"},
    "password_hint": {"es": "De 12 a 256 caracteres. Désela a la persona en mano, no por correo",
                      "en": "12 to 256 characters. Give it to the person in hand, not by email",
                      "pt": "De 12 a 256 caracteres. Entregue à pessoa em mãos, não por e-mail"},
    "error_username": {"es": "El usuario lleva letras, números, '.', '_' o '-' (hasta 64)",
                       "en": "A username has letters, digits, '.', '_' or '-' (up to 64)",
                       "pt": "O usuário tem letras, números, '.', '_' ou '-' (até 64)"},
    "error_password": {"es": "La contraseña tiene de 12 a 256 caracteres",
                       "en": "The password has 12 to 256 characters",
                       "pt": "A senha tem de 12 a 256 caracteres"},
    "account_active": {"es": "Activa", "en": "Active", "pt": "Ativa"},
    "account_disabled": {"es": "Desactivada", "en": "Disabled", "pt": "Desativada"},
    "account_locked": {"es": "Bloqueada por intentos fallidos", "en": "Locked after failed sign-ins",
                       "pt": "Bloqueada por tentativas falhas"},
    "act_disable": {"es": "Desactivar", "en": "Disable", "pt": "Desativar"},
    "act_unlock": {"es": "Desbloquear", "en": "Unlock", "pt": "Desbloquear"},
    "users_done": {"es": "Hecho", "en": "Done", "pt": "Feito"},
    "you": {"es": "usted", "en": "you", "pt": "você"},
    **APPOINTMENT_MESSAGES,
    **CONVERSATION_MESSAGES,
    **OPS_MESSAGES,
    **PAGE_MESSAGES,
    **REPORT_MESSAGES,
    **TEMPLATE_MESSAGES,
}

# A message's status in words (gateway.state.shown_status); an unknown one is shown as its code.
STATUSES: Mapping[str, Mapping[str, str]] = {
    "accepted": {"es": "Aceptado", "en": "Accepted", "pt": "Aceita"},
    "scheduled": {"es": "Programado", "en": "Scheduled", "pt": "Agendada"},
    "held": {"es": "En espera", "en": "Held", "pt": "Em espera"},
    "routed": {"es": "Canal elegido", "en": "Channel chosen", "pt": "Canal escolhido"},
    "retrying": {"es": "Reintentando", "en": "Retrying", "pt": "Tentando de novo"},
    "queued": {"es": "En cola del proveedor", "en": "Queued at the provider", "pt": "Na fila do provedor"},
    "sent": {"es": "Enviado", "en": "Sent", "pt": "Enviada"},
    "delivered": {"es": "Entregado", "en": "Delivered", "pt": "Entregue"},
    "read": {"es": "Leído", "en": "Read", "pt": "Lida"},
    "failed": {"es": "Falló", "en": "Failed", "pt": "Falhou"},
    "undelivered": {"es": "No entregado", "en": "Not delivered", "pt": "Não entregue"},
    "expired": {"es": "Caducado", "en": "Expired", "pt": "Expirada"},
    "cancelled": {"es": "Cancelado", "en": "Cancelled", "pt": "Cancelada"},
    "blocked": {"es": "Bloqueado", "en": "Blocked", "pt": "Bloqueada"},
}

# An appointment's last event and a reminder's state in words (gateway.appointments, AppointmentPlan).
APPOINTMENT_WORDS: Mapping[str, Mapping[str, str]] = {
    "booked": {"es": "Reservada", "en": "Booked", "pt": "Marcada"},
    "rescheduled": {"es": "Cambiada de fecha", "en": "Rescheduled", "pt": "Remarcada"},
    "cancelled": {"es": "Cancelada", "en": "Cancelled", "pt": "Cancelada"},
    "noshow": {"es": "No se presentó", "en": "Did not attend", "pt": "Não compareceu"},
    "other": {"es": "Otro estado", "en": "Other status", "pt": "Outro estado"},
    "scheduled": {"es": "Programado", "en": "Scheduled", "pt": "Agendado"},
    "sent": {"es": "Enviado", "en": "Sent", "pt": "Enviado"},
    "skipped": {"es": "Omitido", "en": "Skipped", "pt": "Pulado"},
}

# Per reason of a staff.attention_needed notice: what happened, and what to do. "other" covers reasons
# this version does not know yet, so a new reason is shown, never dropped.
REASONS: Mapping[str, Mapping[str, Mapping[str, str]]] = {
    "unclear_reply": {
        "title": {"es": "Respuesta no entendida", "en": "Reply not understood", "pt": "Resposta não entendida"},
        "what": {"es": "El paciente contestó a un recordatorio y no entendimos su respuesta, ni tras pedirle "
                       "que la aclarara.",
                 "en": "The patient answered a reminder and we could not understand the answer, even after "
                       "asking once to clarify.",
                 "pt": "O paciente respondeu a um lembrete e não entendemos a resposta, nem depois de pedir "
                       "um esclarecimento."},
        "do": {"es": "Lea lo que escribió y llámele o respóndale.",
               "en": "Read what the patient wrote, then call or reply.",
               "pt": "Leia o que o paciente escreveu e ligue ou responda."},
    },
    "cancel_requested": {
        "title": {"es": "Pide cancelar la cita", "en": "Asks to cancel", "pt": "Pede para cancelar"},
        "what": {"es": "El paciente pidió cancelar su cita.", "en": "The patient asked to cancel the appointment.",
                 "pt": "O paciente pediu para cancelar a consulta."},
        "do": {"es": "Cancele la cita en la agenda de la clínica y libere el horario.",
               "en": "Cancel the appointment in the clinic's schedule and free the slot.",
               "pt": "Cancele a consulta na agenda da clínica e libere o horário."},
    },
    "reschedule_requested": {
        "title": {"es": "Pide cambiar la cita", "en": "Asks to reschedule", "pt": "Pede para remarcar"},
        "what": {"es": "El paciente pidió otra fecha u hora para su cita.",
                 "en": "The patient asked for another date or time.",
                 "pt": "O paciente pediu outra data ou horário."},
        "do": {"es": "Llame al paciente para acordar un nuevo horario y cámbielo en la agenda.",
               "en": "Call the patient to agree a new time and change it in the schedule.",
               "pt": "Ligue para o paciente, combine um novo horário e altere-o na agenda."},
    },
    "stale_answer": {
        "title": {"es": "Respuesta tardía", "en": "Late answer", "pt": "Resposta atrasada"},
        "what": {"es": "El paciente contestó a un recordatorio de una cita que ya pasó o cambió.",
                 "en": "The patient answered a reminder for an appointment that has passed or changed.",
                 "pt": "O paciente respondeu a um lembrete de uma consulta que já passou ou mudou."},
        "do": {"es": "Compruebe qué cita quiere decir y contáctele si hace falta.",
               "en": "Check which appointment the patient means and get in touch if needed.",
               "pt": "Verifique a que consulta o paciente se refere e entre em contato se preciso."},
    },
    "loop_paused": {
        "title": {"es": "Conversación en pausa", "en": "Conversation paused", "pt": "Conversa pausada"},
        "what": {"es": "Las respuestas automáticas se pausaron: parecía una conversación con otra máquina.",
                 "en": "Automatic replies were paused: the conversation looked like one with another machine.",
                 "pt": "As respostas automáticas foram pausadas: parecia uma conversa com outra máquina."},
        "do": {"es": "Revise la conversación; reanúdela solo si es un paciente real.",
               "en": "Look at the conversation; resume it only if it is a real patient.",
               "pt": "Veja a conversa; retome-a só se for um paciente real."},
    },
    "ai_timeout": {
        "title": {"es": "Sin respuesta del asistente", "en": "Assistant did not answer",
                  "pt": "Assistente sem resposta"},
        "what": {"es": "El paciente escribió y el asistente automático no respondió a tiempo; recibió un "
                       "mensaje de espera.",
                 "en": "The patient wrote and the automatic assistant did not answer in time; the patient "
                       "got a holding message.",
                 "pt": "O paciente escreveu e o assistente automático não respondeu a tempo; o paciente "
                       "recebeu uma mensagem de espera."},
        "do": {"es": "Responda usted al paciente.", "en": "Answer the patient yourself.",
               "pt": "Responda você ao paciente."},
    },
    "ai_handoff": {
        "title": {"es": "El asistente pide una persona", "en": "Assistant asks for a person",
                  "pt": "Assistente pede uma pessoa"},
        "what": {"es": "El asistente automático decidió que este mensaje necesita a una persona.",
                 "en": "The automatic assistant decided this message needs a person.",
                 "pt": "O assistente automático decidiu que esta mensagem precisa de uma pessoa."},
        "do": {"es": "Lea la conversación y responda al paciente.", "en": "Read the conversation and answer.",
               "pt": "Leia a conversa e responda ao paciente."},
    },
    "ops_alert": {
        "title": {"es": "Alerta de operaciones", "en": "Operations alert", "pt": "Alerta de operações"},
        "what": {"es": "La monitorización detectó un problema del sistema (abajo, la alerta).",
                 "en": "Monitoring found a problem with the system (the alert is below).",
                 "pt": "O monitoramento detectou um problema do sistema (o alerta está abaixo)."},
        "do": {"es": "Avise al equipo técnico; siga el manual de la alerta.",
               "en": "Tell the technical team; follow the alert's runbook.",
               "pt": "Avise a equipe técnica; siga o manual do alerta."},
    },
    "ops_alert_resolved": {
        "title": {"es": "Alerta resuelta", "en": "Alert resolved", "pt": "Alerta resolvido"},
        "what": {"es": "La monitorización ya no ve el problema de la alerta.",
                 "en": "Monitoring no longer sees the alert's problem.",
                 "pt": "O monitoramento não vê mais o problema do alerta."},
        "do": {"es": "Cierre este aviso y el de la alerta.", "en": "Close this notice and the alert's.",
               "pt": "Feche este aviso e o do alerta."},
    },
    "urgent_failed": {
        "title": {"es": "Aviso urgente no entregado", "en": "Urgent notice not delivered",
                  "pt": "Aviso urgente não entregue"},
        "what": {"es": "Un aviso urgente no llegó al paciente por ningún canal.",
                 "en": "An urgent notice reached the patient on no channel.",
                 "pt": "Um aviso urgente não chegou ao paciente por nenhum canal."},
        "do": {"es": "Llame al paciente ahora por teléfono.", "en": "Call the patient by phone now.",
               "pt": "Ligue para o paciente agora."},
    },
    "reminder_impossible": {
        "title": {"es": "Cita sin recordatorio", "en": "Appointment without a reminder",
                  "pt": "Consulta sem lembrete"},
        "what": {"es": "No se puede enviar ningún recordatorio para esta cita (sin consentimiento, sin "
                       "canal o demasiado pronto).",
                 "en": "No reminder can be sent for this appointment (no consent, no channel, or too soon).",
                 "pt": "Nenhum lembrete pode ser enviado para esta consulta (sem consentimento, sem canal "
                       "ou cedo demais)."},
        "do": {"es": "Avise al paciente de otra forma, por ejemplo por teléfono.",
               "en": "Remind the patient another way, for example by phone.",
               "pt": "Avise o paciente de outra forma, por exemplo por telefone."},
    },
    "other": {
        "title": {"es": "Necesita revisión", "en": "Needs a look", "pt": "Precisa de atenção"},
        "what": {"es": "El sistema marcó este caso para una persona ({reason}).",
                 "en": "The system flagged this case for a person ({reason}).",
                 "pt": "O sistema marcou este caso para uma pessoa ({reason})."},
        "do": {"es": "Revise la conversación del paciente.", "en": "Look at the patient's conversation.",
               "pt": "Veja a conversa do paciente."},
    },
}


def choose(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    for explicit in (query, cookie):
        if explicit in LANGUAGES:
            return explicit
    best, best_q = DEFAULT, 0.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        lang = tag.strip().lower().split("-")[0]
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        if lang in LANGUAGES and q > best_q:
            best, best_q = lang, q
    return best


class Words:
    """`t("key", name=value)` in one language; what templates call."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else DEFAULT

    def __call__(self, key: str, **values: object) -> str:
        return MESSAGES[key][self.lang].format(**values)

    def status(self, status: str) -> str:
        entry = STATUSES.get(status)
        return entry[self.lang] if entry else status

    def appointment(self, word: str) -> str:
        entry = APPOINTMENT_WORDS.get(word.lower())
        return entry[self.lang] if entry else word

    def reason(self, reason: str | None, part: str) -> str:
        entry = REASONS.get(reason or "", REASONS["other"])
        return entry[part][self.lang].format(reason=reason or "-")
