"""The OpenAPI explorer at ``/docs``, with Swagger UI's assets served by the app itself.

FastAPI's default ``/docs`` and ``/redoc`` load their JavaScript and CSS from a public CDN:
inside a bank's network, or on a machine without internet access, they render a blank
page. The assets come from the ``swagger-ui-py`` wheel (Swagger UI 5, which reads the
OpenAPI 3.1 documents FastAPI produces) and are served under ``/docs-assets``.
"""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"


def install(app: FastAPI) -> None:
    """Serve ``/docs`` and its assets (create the app with ``docs_url=None``)."""
    folder = resources.files("swagger_ui") / "static"
    app.mount(ASSETS, StaticFiles(directory=str(folder)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        """The interactive API reference."""
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        )
