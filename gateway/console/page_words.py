"""The inbox's paging words in Spanish, English and Portuguese (merged into gateway.console.i18n)."""
from __future__ import annotations

from collections.abc import Mapping

MESSAGES: Mapping[str, Mapping[str, str]] = {
    "inbox_shown": {"es": "Avisos {first} a {last} de {matched}, los más recientes primero",
                    "en": "Notices {first} to {last} of {matched}, newest first",
                    "pt": "Avisos {first} a {last} de {matched}, os mais recentes primeiro"},
    "inbox_pages": {"es": "Páginas de avisos", "en": "Pages of notices", "pt": "Páginas de avisos"},
    "inbox_newer": {"es": "Avisos más recientes", "en": "Newer notices", "pt": "Avisos mais recentes"},
    "inbox_older": {"es": "Avisos anteriores", "en": "Older notices", "pt": "Avisos anteriores"},
}
