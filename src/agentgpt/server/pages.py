"""The web pages (customer chat, operator dashboard) and the development sign-in."""

from __future__ import annotations

from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from agentgpt.errors import AccessDenied
from agentgpt.server.problems import responses
from agentgpt.server.schemas import DemoTokenIn, TokenOut
from agentgpt.server.services import Services, services

router = APIRouter()
Svc = Annotated[Services, Depends(services)]

ROLE_SCOPES = {
    "customer": ("session:create", "session:read", "session:write"),
    "operator": ("session:monitor", "session:read", "session:admin"),
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
    "/v1/demo/token", response_model=TokenOut, tags=["development"],
    responses=responses(403, 422), summary="A short-lived token for the web pages (dev only)",
)  # fmt: skip
async def demo_token(svc: Svc, body: DemoTokenIn) -> TokenOut:
    """Issue a customer or operator token; refused outside ``environment: development``."""
    if not (svc.development and svc.settings.server.demo_tokens and svc.issuer is not None):
        raise AccessDenied("demo tokens are only issued in development; use agentgpt token create")
    scopes = ROLE_SCOPES[body.role]
    token = svc.issuer.issue(body.user, scopes, DEMO_TOKEN_TTL_S)
    return TokenOut(token=token, user=body.user, scopes=list(scopes), expires_in=DEMO_TOKEN_TTL_S)
