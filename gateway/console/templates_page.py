"""The admin's templates page: every template the organization may send with its rendering per channel
and language, a preview with sample values, and new versions (create, edit) written to the `templates`
topic, audited; a new or changed WhatsApp text is submitted for Meta's review first
(connectors.factory.template_submitter). The data and the checks are pure (templates_view)."""
from __future__ import annotations

from dataclasses import replace

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from connectors.factory import template_submitter
from connectors.templates import SubmitRefused
from gateway.audit import ALLOWED
from gateway.console import templates_view as tv
from gateway.console.context import Console, console
from gateway.console.roles import Permission
from gateway.console.web import Refused, Viewer, field, page, render
from gateway.services import remote_addr
from schemas.errors import UnknownTemplateError
from schemas.template_records import template_key, to_record
from schemas.templates import LANGUAGES, Template

PATH = "/console/admin/templates"
FIELDS = ("name", "category", "params", "language", "body", "sms", "voice")


def _held(con: Console, viewer: Viewer, name: str) -> Template:
    try:
        template = con.svc.templates.get(name)
    except UnknownTemplateError:
        template = None
    if template is None or not template.visible_to(viewer.account.organization_id):
        raise Refused(404, "not_found_title", "not_found_body")
    return template


def _list(request: Request, viewer: Viewer, *, status: int = 200, errors: list[str] | None = None,
          values: dict[str, str] | None = None) -> Response:
    con = console(request)
    return render(request, "templates.html", {
        "rows": tv.rows(con.svc.templates, viewer.account.organization_id), "errors": errors or [],
        "values": values or {"category": "UTILITY", "language": "pt"}, "categories": tv.CATEGORIES,
        "message_languages": LANGUAGES}, status=status, viewer=viewer)


def _detail(request: Request, viewer: Viewer, template: Template, *, status: int = 200,
            errors: list[str] | None = None, values: dict[str, str] | None = None,
            samples: dict[str, str] | None = None) -> Response:
    samples = samples or {p: "" for p in template.params}
    language = request.query_params.get("language", "")
    first = next(iter(template.languages))
    editing = values or _values(template, language if language in template.languages else first)
    return render(request, "template.html", {
        "template": template, "shared": template.organization_id is None, "samples": samples,
        "preview": tv.language_rows(template, samples), "errors": errors or [], "values": editing,
        "categories": tv.CATEGORIES, "message_languages": LANGUAGES, "done": request.query_params.get("done")},
        status=status, viewer=viewer)


def _values(template: Template, language: str) -> dict[str, str]:
    r = template.languages[language]
    return {"category": template.category, "language": language, "body": r.body or r.sms, "sms": r.sms,
            "voice": r.voice}


@page(Permission.TEMPLATES)
async def templates_page(request: Request, viewer: Viewer) -> Response:
    return _list(request, viewer)


@page(Permission.TEMPLATES)
async def template_page(request: Request, viewer: Viewer) -> Response:
    return _detail(request, viewer, _held(console(request), viewer, request.path_params["name"]))


@page(Permission.TEMPLATES, form=True)
async def preview(request: Request, viewer: Viewer, data: FormData) -> Response:
    """The texts with sample values: posted, not in the URL (a sample may be a real patient's name)."""
    template = _held(console(request), viewer, request.path_params["name"])
    return _detail(request, viewer, template, samples={p: field(data, f"param_{p}", 200) for p in template.params})


async def _review(con: Console, template: Template, language: str) -> Template:
    """The WhatsApp form submitted: PENDING with Meta's id, or still DRAFT with the reason it was not."""
    submitter = template_submitter(con.svc.settings)
    rendering = template.languages[language]
    try:
        done = await submitter.submit(template, language)
        rendering = replace(rendering, whatsapp_status=done.status, whatsapp_reason=None,
                            whatsapp_template_id=done.template_id)
    except SubmitRefused as exc:
        rendering = replace(rendering, whatsapp_reason=exc.reason)
    finally:
        await submitter.aclose()
    return replace(template, languages={**template.languages, language: rendering})


async def _save(con: Console, request: Request, viewer: Viewer, form: tv.Form, held: Template | None) -> Response:
    org, username = viewer.account.organization_id, viewer.account.username
    template = tv.build(form, held, org, con.clock(), username)
    if tv.needs_review(template, form.language):
        template = await _review(con, template, form.language)
    svc, topic = con.svc, con.svc.topics.templates
    record = to_record(template)
    status = template.languages[form.language].whatsapp_status
    await svc.publisher.wait([
        svc.publisher.submit(topic.name, template_key(org, template.name), topic.codec.encode(record)),
        svc.auditor.submit(viewer.actor, "console.templates.create" if held is None else "console.templates.edit",
                           ALLOWED, resource=template.name, remote_addr=remote_addr(request),
                           details={"version": str(template.version), "language": form.language,
                                    "whatsapp_status": status}),
    ], label="console template")
    svc.templates.put(template)  # this process shows it at once; the others within a poll
    where = f"{PATH}/{template.name}?language={form.language}&done={template.version}"
    return RedirectResponse(where, status_code=303)


def _form(data: FormData) -> tv.Form:
    return tv.Form.of({name: field(data, name, tv.MAX_TEXT + 1) for name in FIELDS})


@page(Permission.TEMPLATES, form=True)
async def create(request: Request, viewer: Viewer, data: FormData) -> Response:
    con = console(request)
    form = _form(data)
    errors = tv.errors(form, con.svc.templates, viewer.account.organization_id, None)
    if errors:
        return _list(request, viewer, status=400, errors=errors, values=form.values())
    return await _save(con, request, viewer, form, None)


@page(Permission.TEMPLATES, form=True)
async def edit(request: Request, viewer: Viewer, data: FormData) -> Response:
    con = console(request)
    held = _held(con, viewer, request.path_params["name"])
    form = _form(data)
    form = tv.Form(held.name, form.category, held.params, form.language, form.body, form.sms, form.voice)
    errors = tv.errors(form, con.svc.templates, viewer.account.organization_id, held)
    if errors:
        return _detail(request, viewer, held, status=400, errors=errors, values=form.values())
    return await _save(con, request, viewer, form, held)


ROUTES = (
    Route("/admin/templates", templates_page, methods=["GET"]),
    Route("/admin/templates", create, methods=["POST"]),
    Route("/admin/templates/{name}", template_page, methods=["GET"]),
    Route("/admin/templates/{name}", edit, methods=["POST"]),
    Route("/admin/templates/{name}/preview", preview, methods=["POST"]),
)
