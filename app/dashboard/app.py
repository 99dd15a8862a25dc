"""The fabscope analyst dashboard: a Dash pages app on the published warehouse.

``create_app(db_path)`` builds the app (pages in ``app/dashboard/pages``, one file each);
``serve(db_path, host, port)`` runs it on Flask's development server (``fabscope serve --dev``);
``fabscope serve`` runs it under gunicorn (``app.dashboard.wsgi.create_server``). The warehouse location
is held in one place, the server config (``components.DB_CONFIG_KEY``), and read with
``components.current_db()``. Pages read the warehouse through :mod:`app.queries` with
short-lived read-only connections, so a refresh can publish a new file while the dashboard is open.
Each page's figure logic sits beside it in ``pages/<page>_views.py``. Scenario reruns are background
callbacks that write through the warehouse's single writer: on Celery workers over Redis when
``$FABSCOPE_REDIS_URL`` is set, else a local diskcache beside the warehouse; authentication, /healthz and
the background managers live in :mod:`app.dashboard.service`.
"""

from __future__ import annotations

from pathlib import Path

import dash
from dash import Input, Output, dcc, html

from app.dashboard import callback_guard, service
from app.dashboard import components as ui
from fabscope.settings import get_settings
from pipelines.warehouse_url import target

DASHBOARD_DIR = Path(__file__).resolve().parent
PAGES_DIR = DASHBOARD_DIR / "pages"
ASSETS_DIR = DASHBOARD_DIR / "assets"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8050
NAV_ORDER = ("/", "/market", "/policy", "/capacity", "/hardware", "/forecasts")
MAX_REQUEST_BYTES = 4 * 1024 * 1024
"""Largest request body the server reads (Flask ``MAX_CONTENT_LENGTH``; larger ones get HTTP 413).

Callback requests carry only small inputs; the biggest is a scenario upload, which the browser
caps at ``scenario_edit.BROWSER_UPLOAD_BYTES`` (base64 adds a third) and the server then checks
against the 64 KiB scenario limit with a readable message."""


def _navbar() -> html.Header:
    pages = sorted(
        dash.page_registry.values(),
        key=lambda p: (NAV_ORDER.index(p["path"]) if p["path"] in NAV_ORDER else len(NAV_ORDER), p["path"]),
    )
    links = [
        dcc.Link(
            p["name"],
            href=p["relative_path"],
            className="nav-link",
            id={"type": "nav", "page": p["module"].split(".")[-1]},
        )
        for p in pages
    ]
    return html.Header(
        className="navbar",
        children=[
            dcc.Link(
                className="brand",
                href="/",
                children=[html.Span("fab", className="brand-a"), html.Span("scope", className="brand-b")],
            ),
            html.Button(
                "☰ Menu",
                id="nav-toggle",
                className="nav-toggle",
                n_clicks=0,
                **{"aria-controls": "nav-links", "aria-label": "show or hide the page menu"},
            ),
            html.Nav(links, className="nav-links", id="nav-links", **{"aria-label": "pages"}),
            html.Div("US–China semiconductor race · analyst view", className="nav-tagline"),
        ],
    )


def nav_classes(pathname: str | None, hrefs: list[str]) -> list[str]:
    """Class of each navbar link: ``nav-link active`` for the page at ``pathname`` (``/`` only on itself)."""
    path = (pathname or "/").rstrip("/") or "/"
    return ["nav-link active" if (href.rstrip("/") or "/") == path else "nav-link" for href in hrefs]


_NAV_JS = """
function (pathname, hrefs) {
    const trim = p => (p && p.length > 1 && p.endsWith("/") ? p.slice(0, -1) : p || "/");
    return hrefs.map(h => (trim(h) === trim(pathname) ? "nav-link active" : "nav-link"));
}
"""
_TOGGLE_JS = """
function (n) { return (n || 0) % 2 ? "nav-links open" : "nav-links"; }
"""


def _register_shell_callbacks(app: dash.Dash) -> None:
    """Active-page mark in the navbar and the narrow-screen menu toggle (both run in the browser)."""
    from dash import ALL, State

    app.clientside_callback(
        _NAV_JS,
        Output({"type": "nav", "page": ALL}, "className"),
        Input("url", "pathname"),
        State({"type": "nav", "page": ALL}, "href"),
    )
    app.clientside_callback(_TOGGLE_JS, Output("nav-links", "className"), Input("nav-toggle", "n_clicks"))


def create_app(db_path: str | None = None) -> dash.Dash:
    """Build the dashboard for warehouse ``db_path`` (else ``$FABSCOPE_DB``, else ./data/fabscope.duckdb)."""
    db = str(target(db_path))  # a file's absolute path, or a ducklake: URL (pipelines.warehouse_url)
    settings = get_settings()
    manager = service.background_manager(db, settings)
    app = dash.Dash(
        __name__,
        use_pages=True,
        pages_folder=str(PAGES_DIR),
        assets_folder=str(ASSETS_DIR),
        title="fabscope",
        update_title=None,
        suppress_callback_exceptions=True,
        background_callback_manager=manager,
    )
    app.server.config[ui.DB_CONFIG_KEY] = db
    app.server.extensions[service.EXTENSION_KEY] = manager
    if settings.secret_key is not None:  # signs background handles alike on every web process
        app.server.secret_key = settings.secret_key.get_secret_value()
    app.server.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    app.index_string = app.index_string.replace("<html>", '<html lang="en">', 1)
    app.layout = html.Div(
        className="shell",
        children=[
            dcc.Location(id="url"),
            _navbar(),
            html.Div(id=SERVICE_BANNER_ID),
            html.Main(dash.page_container, className="content"),
            html.Footer(
                className="footer",
                children=[
                    html.Span("warehouse: "),
                    html.Code(db, id="footer-db"),
                    html.Span(" · read-only, short-lived connections · every chart: Download CSV + Sources"),
                ],
            ),
        ],
    )
    ui.register_shared_callbacks(app)
    _register_service_banner(app)
    service.register_healthz(app, settings)
    service.install_auth(app, settings)
    callback_guard.install(app)  # after auth: a refused request is told nothing before it signs in
    _register_shell_callbacks(app)
    return app


SERVICE_BANNER_ID = "service-banner"
"""The shell's banner saying background reruns cannot run (Redis down, no worker); empty otherwise."""


def _register_service_banner(app: dash.Dash) -> None:
    @app.callback(
        dash.Output(SERVICE_BANNER_ID, "children"),
        dash.Input("_pages_location", "pathname"),
    )
    def _banner(pathname: str | None) -> html.Div | None:
        on_forecasts = (pathname or "").rstrip("/").endswith("/forecasts")
        problem = service.background_problem(get_settings(), workers=on_forecasts)
        return html.Div(problem, className="banner banner-error", id="service-problem") if problem else None


def serve(db_path: str | None, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Serve the dashboard on http://host:port (127.0.0.1 by default; not for the open internet)."""
    from pipelines.warehouse import preload_for_threads

    app = create_app(db_path)
    preload_for_threads()  # before Flask's threads serve requests
    app.run(host=host, port=port, debug=False)
