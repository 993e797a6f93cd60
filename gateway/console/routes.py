"""The console's routes, mounted by the gateway under /console (gateway.app)."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from gateway.console import (
    appointment_page,
    appointments_page,
    conversation_page,
    idle_page,
    inbox_page,
    message_page,
    ops_page,
    patient_page,
    reports_page,
    signin,
    templates_page,
    users_page,
)
from gateway.console.context import STATIC_DIR


async def home(request: Request) -> Response:
    return RedirectResponse(inbox_page.PATH, status_code=303)


def mount() -> Mount:
    return Mount("/console", routes=[
        Route("/", home, methods=["GET"]),
        Route("/signin", signin.signin_page, methods=["GET"]),
        Route("/signin", signin.signin, methods=["POST"]),
        Route("/signout", signin.signout, methods=["POST"]),
        Route("/session", inbox_page.session_check, methods=["GET"]),
        Route("/session", idle_page.stay, methods=["POST"]),
        Route("/inbox", inbox_page.inbox_page, methods=["GET"]),
        Route("/inbox/events", inbox_page.events, methods=["GET"]),
        Route("/inbox/{notice_id}", inbox_page.act, methods=["POST"]),
        Route("/patients", patient_page.find_page, methods=["GET"]),
        Route("/patients/find", patient_page.find, methods=["POST"]),
        Route("/patients/{recipient_id}", patient_page.patient_page, methods=["GET"]),
        *conversation_page.ROUTES,
        Route("/messages", message_page.find, methods=["GET"]),
        Route("/messages/{message_id}", message_page.message_page, methods=["GET"]),
        Route("/appointments", appointments_page.appointments_page, methods=["GET"]),
        Route("/appointments/find", appointment_page.find, methods=["GET"]),  # before the id: "find" is no id
        Route("/appointments/{appointment_id}", appointment_page.appointment_page, methods=["GET"]),
        Route("/users", users_page.users_page, methods=["GET"]),
        Route("/users", users_page.add, methods=["POST"]),
        Route("/users/{username}", users_page.change, methods=["POST"]),
        Route("/operations", ops_page.operations_page, methods=["GET"]),
        Route("/operations/events", ops_page.events, methods=["GET"]),
        Route("/operations/deadletters/{dead_letter_id}", ops_page.dead_letter_page, methods=["GET"]),
        Route("/operations/deadletters/{dead_letter_id}/replay", ops_page.replay, methods=["POST"]),
        *templates_page.ROUTES,
        Route("/reports", reports_page.reports_page, methods=["GET"]),
        Route("/reports/{section}.csv", reports_page.csv_download, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=str(STATIC_DIR)), name="console-static"),
    ])
