"""The operations page's words in Spanish, English and Portuguese (merged into gateway.console.i18n), and
the idle warning's."""
from __future__ import annotations

from collections.abc import Mapping

MESSAGES: Mapping[str, Mapping[str, str]] = {
    "nav_operations": {"es": "Operación", "en": "Operations", "pt": "Operação"},
    "ops_title": {"es": "Operación de los canales", "en": "Channel operations", "pt": "Operação dos canais"},
    "ops_live": {"es": "Esta parte se actualiza sola; sin JavaScript, recargue la página",
                 "en": "This part updates by itself; without JavaScript, reload the page",
                 "pt": "Esta parte se atualiza sozinha; sem JavaScript, recarregue a página"},
    "ops_loading": {"es": "Aún se están leyendo los registros de Kafka: la página puede estar incompleta",
                    "en": "Kafka's records are still being read: the page may be incomplete",
                    "pt": "Os registros do Kafka ainda estão sendo lidos: a página pode estar incompleta"},
    "ops_loading_title": {"es": "Todavía no", "en": "Not yet", "pt": "Ainda não"},
    "ops_loading_body": {"es": "La consola aún lee los registros de Kafka. Inténtelo en unos segundos",
                         "en": "The console is still reading Kafka's records. Try again in a few seconds",
                         "pt": "O console ainda lê os registros do Kafka. Tente de novo em alguns segundos"},
    # circuits
    "ops_channels": {"es": "Canales y su disyuntor", "en": "Channels and their circuit breaker",
                     "pt": "Canais e seu disjuntor"},
    "ops_instance": {"es": "Instancia", "en": "Instance", "pt": "Instância"},
    "ops_since": {"es": "Desde", "en": "Since", "pt": "Desde"},
    "ops_transitions": {"es": "Cambios recientes", "en": "Recent changes", "pt": "Mudanças recentes"},
    "ops_no_transitions": {"es": "Ninguno", "en": "None", "pt": "Nenhuma"},
    "ops_no_channels": {"es": "Su organización no tiene canales configurados",
                        "en": "Your organization has no channels configured",
                        "pt": "Sua organização não tem canais configurados"},
    "ops_transition": {"es": "{at}: {previous} → {state} ({failures} fallos)",
                       "en": "{at}: {previous} → {state} ({failures} failures)",
                       "pt": "{at}: {previous} → {state} ({failures} falhas)"},
    "circuit_closed": {"es": "Cerrado: envía", "en": "Closed: sending", "pt": "Fechado: enviando"},
    "circuit_open": {"es": "Abierto: no envía, prueba más tarde", "en": "Open: not sending, will try again",
                     "pt": "Aberto: não envia, tentará de novo"},
    "circuit_half_open": {"es": "Semiabierto: probando", "en": "Half-open: trying", "pt": "Semiaberto: testando"},
    "ops_circuit_help": {"es": "Un disyuntor abierto desvía los mensajes a otro canal o los hace esperar. "
                               "Revise la cuenta del proveedor si sigue abierto",
                         "en": "An open breaker sends messages to another channel or makes them wait. "
                               "Check the provider account if it stays open",
                         "pt": "Um disjuntor aberto desvia as mensagens para outro canal ou as faz esperar. "
                               "Verifique a conta do provedor se continuar aberto"},
    # providers' error rates (gateway.console.rates)
    "ops_rates": {"es": "Errores de los proveedores, última hora", "en": "Providers' errors, last hour",
                  "pt": "Erros dos provedores, última hora"},
    "ops_rates_none": {"es": "Ningún mensaje entregado ni fallido en la última hora",
                       "en": "No message delivered or failed in the last hour",
                       "pt": "Nenhuma mensagem entregue ou com falha na última hora"},
    "ops_rate_delivered": {"es": "Entregados", "en": "Delivered", "pt": "Entregues"},
    "ops_rate_failed": {"es": "Fallidos", "en": "Failed", "pt": "Com falha"},
    "ops_rate_percent": {"es": "Tasa de error", "en": "Error rate", "pt": "Taxa de erro"},
    # consumer lag
    "ops_lag": {"es": "Registros por leer", "en": "Records still to read", "pt": "Registros por ler"},
    "ops_lag_help": {"es": "Lo que cada consumidor aún no leyó de cada tema, según Kafka (cada 15 s). Si crece "
                           "sin parar, el sistema no da abasto",
                     "en": "What each consumer has not read yet of each topic, as Kafka says (every 15 s). If it "
                           "keeps growing, the pipeline cannot keep up",
                     "pt": "O que cada consumidor ainda não leu de cada tópico, segundo o Kafka (a cada 15 s). Se "
                           "não parar de crescer, o sistema não dá conta"},
    "ops_lag_who": {"es": "Consumidor", "en": "Consumer", "pt": "Consumidor"},
    "ops_topic_read": {"es": "Tema", "en": "Topic", "pt": "Tópico"},
    "ops_lag_records": {"es": "Registros", "en": "Records", "pt": "Registros"},
    "ops_lag_streams": {"es": "Procesos de flujo", "en": "Stream workers", "pt": "Processos de fluxo"},
    "ops_lag_analytics": {"es": "Analítica", "en": "Analytics", "pt": "Análise"},
    "ops_lag_none": {"es": "Aún sin cifras (Kafka no respondió o ningún consumidor confirmó lecturas)",
                     "en": "No figures yet (Kafka did not answer, or no consumer has committed)",
                     "pt": "Ainda sem números (o Kafka não respondeu ou nenhum consumidor confirmou leituras)"},
    # unseen accepts
    "ops_unseen": {"es": "Envíos aceptados sin noticias", "en": "Accepted sends not picked up",
                   "pt": "Envios aceitos sem notícias"},
    "ops_unseen_none": {"es": "Ninguno: el sistema procesa lo aceptado",
                        "en": "None: the pipeline is processing what it accepted",
                        "pt": "Nenhum: o sistema processa o que aceitou"},
    "ops_unseen_alarm": {"es": "Alarma: {count} envíos aceptados siguen sin estado tras {seconds} s (el más antiguo "
                               "desde {oldest}). El sistema va muy atrasado o los perdió: avise a quien lo opera",
                         "en": "Alarm: {count} accepted sends still have no state after {seconds} s (the oldest "
                               "since {oldest}). The pipeline is far behind or lost them: tell whoever runs it",
                         "pt": "Alarme: {count} envios aceitos continuam sem estado após {seconds} s (o mais "
                               "antigo desde {oldest}). O sistema está muito atrasado ou os perdeu: avise quem o "
                               "opera"},
    "ops_unseen_ids": {"es": "Los más antiguos", "en": "The oldest", "pt": "Os mais antigos"},
    # dead letters
    "ops_dead_letters": {"es": "Cartas muertas", "en": "Dead letters", "pt": "Cartas mortas"},
    "ops_dead_help": {"es": "Registros que el sistema no pudo procesar, guardados enteros con el motivo",
                      "en": "Records the pipeline could not process, kept whole with the reason",
                      "pt": "Registros que o sistema não conseguiu processar, guardados inteiros com o motivo"},
    "ops_dead_counts": {"es": "Cartas muertas por motivo", "en": "Dead letters by reason",
                        "pt": "Cartas mortas por motivo"},
    "ops_dead_none": {"es": "No hay cartas muertas", "en": "No dead letters", "pt": "Não há cartas mortas"},
    "ops_dead_shown": {"es": "Se muestran las {shown} más recientes de {matched}",
                       "en": "Showing the newest {shown} of {matched}",
                       "pt": "Mostrando as {shown} mais recentes de {matched}"},
    "ops_unattributed": {"es": "{count} cartas muertas no indican organización (su registro no se puede leer): "
                               "las ve quien opera el sistema",
                         "en": "{count} dead letters name no organization (their record cannot be read): "
                               "whoever runs the system sees them",
                         "pt": "{count} cartas mortas não indicam organização (seu registro não pode ser lido): "
                               "quem opera o sistema as vê"},
    "ops_failed_at": {"es": "Falló", "en": "Failed", "pt": "Falhou"},
    "ops_topic": {"es": "Tema de origen", "en": "Source topic", "pt": "Tópico de origem"},
    "ops_position": {"es": "Posición de origen", "en": "Source position", "pt": "Posição de origem"},
    "ops_key": {"es": "Clave", "en": "Key", "pt": "Chave"},
    "ops_detail": {"es": "Detalle", "en": "Detail", "pt": "Detalhe"},
    "ops_open_letter": {"es": "Ver la carta {id}", "en": "Open dead letter {id}", "pt": "Abrir a carta {id}"},
    "ops_replayed": {"es": "Reenviada", "en": "Replayed", "pt": "Reenviada"},
    "ops_not_replayed": {"es": "Sin reenviar", "en": "Not replayed", "pt": "Não reenviada"},
    "ops_letter_title": {"es": "Carta muerta", "en": "Dead letter", "pt": "Carta morta"},
    "ops_letter_not_found": {"es": "Esta carta muerta no existe o no es de su organización",
                             "en": "This dead letter does not exist or is not your organization's",
                             "pt": "Esta carta morta não existe ou não é da sua organização"},
    "ops_original": {"es": "Registro original", "en": "Original record", "pt": "Registro original"},
    "ops_field": {"es": "Campo", "en": "Field", "pt": "Campo"},
    "ops_value": {"es": "Valor", "en": "Value", "pt": "Valor"},
    "ops_sealed": {"es": "Cifrado (datos del paciente, no se muestran)",
                   "en": "Sealed (patient data, not shown)", "pt": "Cifrado (dados do paciente, não mostrados)"},
    "ops_undecodable": {"es": "El registro original no se puede leer", "en": "The original record cannot be read",
                        "pt": "O registro original não pode ser lido"},
    "ops_back": {"es": "Volver a operación", "en": "Back to operations", "pt": "Voltar para operação"},
    # replay
    "ops_replay": {"es": "Reenviar", "en": "Replay", "pt": "Reenviar"},
    "ops_replay_title": {"es": "Reenviar al tema de origen", "en": "Replay onto its topic",
                         "pt": "Reenviar ao tópico de origem"},
    "ops_replay_help": {"es": "Publica de nuevo el registro original, igual, en su tema de origen. Hágalo solo "
                              "cuando la causa esté corregida. Solo se puede reenviar una vez",
                        "en": "Publishes the original record again, unchanged, on its topic. Do it only once its "
                              "cause is fixed. A dead letter can be replayed once",
                        "pt": "Publica de novo o registro original, igual, no seu tópico. Faça isso só quando a "
                              "causa estiver corrigida. Só pode ser reenviada uma vez"},
    "ops_why": {"es": "Por qué se puede reenviar ahora", "en": "Why it can be replayed now",
                "pt": "Por que pode ser reenviada agora"},
    "ops_why_hint": {"es": "Queda en el registro de auditoría. No escriba datos de pacientes",
                     "en": "Kept on the audit trail. Do not write patient details",
                     "pt": "Fica no registro de auditoria. Não escreva dados de pacientes"},
    "error_why": {"es": "Escriba por qué (de 3 a 300 caracteres)", "en": "Enter why (3 to 300 characters)",
                  "pt": "Escreva por quê (de 3 a 300 caracteres)"},
    "ops_replay_done": {"es": "Reenviada: el registro está otra vez en {topic}",
                        "en": "Replayed: the record is on {topic} again",
                        "pt": "Reenviada: o registro está de novo em {topic}"},
    "ops_replayed_by": {"es": "Reenviada por {who} el {at}: «{why}»", "en": "Replayed by {who} on {at}: “{why}”",
                        "pt": "Reenviada por {who} em {at}: «{why}»"},
    "ops_refused_already_replayed": {
        "es": "No se reenvía otra vez: ya se reenvió y una segunda copia sería un duplicado",
        "en": "Not replayed again: it was already replayed, and a second copy would be a duplicate",
        "pt": "Não é reenviada de novo: já foi reenviada e uma segunda cópia seria um duplicado"},
    "ops_refused_no_value": {"es": "No se puede reenviar: no se guardó ningún registro original",
                             "en": "Cannot be replayed: no original record was kept",
                             "pt": "Não pode ser reenviada: nenhum registro original foi guardado"},
    "ops_refused_unknown_topic": {"es": "No se puede reenviar: su tema no es de esta instalación",
                                  "en": "Cannot be replayed: its topic is not one of this deployment",
                                  "pt": "Não pode ser reenviada: seu tópico não é desta instalação"},
    # the idle warning (static/idle.js)
    "idle_warning": {"es": "Su sesión se cerrará pronto por inactividad. Para seguir, elija «Seguir con la sesión»",
                     "en": "You will be signed out soon for inactivity. To stay signed in, choose “Stay signed in”",
                     "pt": "Sua sessão será encerrada em breve por inatividade. Para continuar, escolha "
                           "«Continuar conectado»"},
    "idle_stay": {"es": "Seguir con la sesión", "en": "Stay signed in", "pt": "Continuar conectado"},
}
