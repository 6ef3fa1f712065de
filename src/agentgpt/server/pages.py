"""The web pages (customer chat, operator dashboard) and the development sign-in."""

from __future__ import annotations

from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from agentgpt.errors import AccessDenied
from agentgpt.server.auth import charge_address
from agentgpt.server.problems import responses
from agentgpt.server.safety import is_loopback
from agentgpt.server.services import Services, services
from agentgpt.wire import DemoTokenIn, TokenOut

router = APIRouter()
Svc = Annotated[Services, Depends(services)]

# Never session:admin: a token anyone on the machine can mint must not read or erase
# every customer's session. Operators' admin tokens come from `agentgpt token create`.
ROLE_SCOPES = {
    "customer": ("session:create", "session:read", "session:write"),
    "operator": ("session:monitor",),
}
DEMO_TOKEN_TTL_S = 3600


def _page(name: str) -> HTMLResponse:
    html = (resources.files("agentgpt.server") / "static" / name).read_text(encoding="utf-8")
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def chat_page() -> HTMLResponse:
    """The customer chat."""
    return _page("index.html")


@router.get("/ops", response_class=HTMLResponse, include_in_schema=False)
async def ops_page() -> HTMLResponse:
    """The operator dashboard (its data needs a ``session:monitor`` token)."""
    return _page("ops.html")


@router.post(
    "/v1/demo/token",
    response_model=TokenOut,
    tags=["development"],
    responses=responses(403, 422, 429),
    summary="A short-lived token for the web pages (development, loopback, when enabled)",
)
async def demo_token(request: Request, svc: Svc, body: DemoTokenIn) -> TokenOut:
    """Issue a customer or operator token when demo tokens are on (``agentgpt demo``)."""
    server = svc.settings.server
    allowed = svc.development and server.demo_tokens and is_loopback(server.host)
    if not allowed or svc.issuer is None:
        raise AccessDenied(
            "demo tokens are off: run agentgpt demo or agentgpt serve --demo-tokens on "
            "127.0.0.1, or mint a token with agentgpt token create"
        )
    await charge_address(svc, request, "demo")
    scopes = ROLE_SCOPES[body.role]
    token = svc.issuer.issue(body.user, scopes, DEMO_TOKEN_TTL_S)
    return TokenOut(token=token, user=body.user, scopes=list(scopes), expires_in=DEMO_TOKEN_TTL_S)
