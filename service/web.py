"""The web console and the API docs, served by the API itself.

- `/` and every non-API path: the single-page app built into `web/dist` (`make web`); a path
  that is not a file there gets `index.html` (the app routes in the browser).
- `/docs` (Swagger UI) and `/redoc`: from assets the web build copies out of npm packages into
  `web/dist/docs-assets/`, so they work offline (FastAPI's defaults load from a CDN).
- CORS for the origins in `CORS_ORIGINS` (comma-separated), for the app deployed on its own
  (Vercel) against this API.
- `/config.json`: what the app needs at run time to offer Firebase sign-in (the project, the
  web API key, the Auth emulator when one is configured); nothing secret.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from pydantic_settings import BaseSettings, SettingsConfigDict

from reporting.settings import Settings

DEFAULT_DIST = Path(__file__).resolve().parent.parent / "web" / "dist"
ASSETS = "/docs-assets"
# Paths the app never answers with index.html: the API, its schema and docs, the probes.
NOT_APP = {"v1", "openapi.json", "docs", "redoc", "healthcheck", "readiness", "config.json"}


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    cors_origins: str = ""  # CORS_ORIGINS: e.g. https://reportbook.vercel.app,http://localhost:5173
    web_dist_dir: Path = DEFAULT_DIST  # WEB_DIST_DIR: the built app
    firebase_web_api_key: str = ""  # FIREBASE_WEB_API_KEY: the Firebase project's web API key
    firebase_auth_domain: str = ""  # FIREBASE_AUTH_DOMAIN: e.g. <project>.firebaseapp.com

    @property
    def origins(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip()]


def register(app: FastAPI, api_settings: Settings, settings: WebSettings | None = None) -> None:
    """Docs, CORS and the app; call after the API routers so theirs match first."""
    settings = settings or WebSettings()
    firebase = None
    if api_settings.firebase_project_id:
        firebase = {
            "projectId": api_settings.firebase_project_id,
            "apiKey": settings.firebase_web_api_key or "emulator-api-key",
            "authDomain": settings.firebase_auth_domain or None,
            "authEmulatorHost": api_settings.firebase_auth_emulator_host,
        }
    dist = settings.web_dist_dir.resolve()
    if settings.origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.origins,
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key"],
            expose_headers=["Content-Disposition", "X-Request-ID"],
        )

    @app.get("/config.json", include_in_schema=False)
    def web_config() -> dict:
        return {"firebase": firebase}

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url="/favicon.svg",
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{ASSETS}/redoc.standalone.js",
            redoc_favicon_url="/favicon.svg",
            with_google_fonts=False,
        )

    @app.get("/{path:path}", include_in_schema=False)
    def app_file(path: str, request: Request) -> FileResponse:
        if path in NOT_APP or path.startswith("v1/"):
            raise HTTPException(404, "Not Found")
        target = (dist / path).resolve()
        if path and target.is_file() and target.is_relative_to(dist):
            cache = (
                "public, max-age=31536000, immutable" if path.startswith("assets/") else "no-cache"
            )
            headers = {"Cache-Control": cache, "Vary": "Accept-Encoding"}
            packed = target.with_name(target.name + ".gz")
            if "gzip" in request.headers.get("accept-encoding", "") and packed.is_file():
                media_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
                headers["Content-Encoding"] = "gzip"
                return FileResponse(packed, media_type=media_type, headers=headers)
            return FileResponse(target, headers=headers)
        index = dist / "index.html"
        if not index.is_file() or path.startswith(("assets/", "docs-assets/")):
            raise HTTPException(404, f"Not Found{'' if index.is_file() else ' (run make web)'}")
        return FileResponse(index, headers={"Cache-Control": "no-cache"})
