"""`make screenshots` walks the console's pages and leaves a full-page PNG of each."""
from __future__ import annotations

import struct

from stack import screenshots
from stack.browser import WINDOW
from tests.browser.clinic import RECEPTION, Clinic


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n"), "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_each_console_page_becomes_a_png(clinic: Clinic, tmp_path):
    for reason, _, _ in screenshots.MORNING[1:]:
        clinic.notice(RECEPTION.organization, reason)
    worded = clinic.notice(RECEPTION.organization, "unclear_reply", phone="+5215550009876", words=screenshots.WORDS)
    message_id = screenshots.send_message(clinic.pipeline.gateway_url)
    screenshots.patient_writes(clinic.pipeline.simulator_url)
    saved = screenshots.visit_pages(clinic.pipeline.gateway_url, tmp_path, RECEPTION.organization,
                                    RECEPTION.username, RECEPTION.password, worded, message_id,
                                    screenshots.conversation_path(clinic.settings, RECEPTION.organization))
    assert [p.stem for p in saved] == ["signin", "signin-error", "inbox", "patient", "find", "message",
                                       "conversation", "appointments", "signed-out"]
    sizes = {p.stem: png_size(p.read_bytes()) for p in saved}
    assert all(w == WINDOW[0] for w, _ in sizes.values()), sizes
    assert sizes["inbox"][1] > sizes["signin"][1], "the whole inbox, not only the window"
