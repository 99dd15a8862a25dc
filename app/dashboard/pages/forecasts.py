"""Forecasts: fan charts per segment and scenario, a scenario editor with stored reruns, run comparison."""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, Input, Output, State, callback, ctx, dcc, html

from app import queries as q
from app.dashboard import components as ui
from app.dashboard import scenario_edit as se
from app.dashboard import share
from app.dashboard.errors import error_text
from app.dashboard.pages import forecasts_analysis as fa
from app.dashboard.pages import forecasts_views as views
from app.dashboard.views_common import SEGMENT_LABELS

dash.register_page(__name__, path="/forecasts", name="Forecasts", title="fabscope · Forecasts", order=5)

SEGMENTS = tuple(SEGMENT_LABELS)
SHARE = "forecast-share"
STATE = {
    "segment": ("forecast-segment", "value"),
    "runs": ("forecast-scenarios", "value"),
    "model": ("forecast-model", "value"),
    "a": ("compare-a", "value"),
    "b": ("compare-b", "value"),
    "metric": ("forecast-metric", "value"),
    "explain": ("forecast-explain-run", "value"),
    "year": ("forecast-explain-year", "value"),
    "x": ("forecast-threshold", "value"),
}
"""What of the page its link holds (``share``): segment, fan runs, model, compared runs, metric, the run
explained, its year and the P(share > x) threshold."""


# ---- logic behind the callbacks (plain functions) ----------------------------------------
def fan(db: str, segment: str, scenario_ids: list[str] | None, model: str | None) -> views.View:
    """Fan chart of the chosen scenarios (``None``: all stored), observed shares and third-party outlooks."""
    if scenario_ids is not None and not scenario_ids:  # a cleared picker asks for a pick, never "all runs"
        if q.forecast_scenarios(db):
            return views.empty_view("pick at least one scenario run", height=440)
        return views.empty_view(q.substitution_forecast(db, None).reason, height=440)
    return views.fan_view(
        q.substitution_forecast(db, scenario_ids or None),
        segment,
        scenario_ids,
        q.substitution_history(db, segment),
        q.substitution_outlooks(db, segment),
        model,
    )


def compare(db: str, a: str | None, b: str | None, segment: str) -> views.View:
    """Two stored runs on one chart and their p50 difference (or why there is nothing to compare)."""
    fc = q.substitution_forecast(db, [i for i in (a, b) if i] or None)
    return views.compare_runs_view(fc, a, b, segment)


def compose(
    base: str | None,
    name: str | None,
    lever_values: list[float | None],
    lever_ids: list[dict],
    upload: str | None,
    upload_name: str | None,
    trigger: Any,
) -> tuple[str | Any, Any]:
    """Editor text: from an upload when one arrived, else ``base`` + levers. Returns (yaml, message).

    An upload is kept until replaced (another upload) or discarded (the upload cleared): moving a lever or
    the base while an upload is loaded leaves the text alone and says so.
    """
    if trigger != "editor-upload" and upload:
        return dash.no_update, html.Span(
            f"your upload {upload_name} is kept — levers and base apply once you discard it",
            className="note",
            id="editor-upload-kept",
        )
    if trigger == "editor-upload" and upload:
        try:
            text = se.decode_upload(upload, upload_name)
        except se.ScenarioInputError as exc:
            return dash.no_update, html.Span(error_text(exc), className="error-text")
        return text, html.Span(
            f"loaded {upload_name} ({len(text.encode()):,} bytes) — valid scenario", className="note"
        )
    levers = {i["param"]: v for i, v in zip(lever_ids, lever_values, strict=True)}
    try:
        return se.build_scenario_yaml(base or "baseline.yaml", name or "", levers), ""
    except se.ScenarioInputError as exc:
        return dash.no_update, html.Span(error_text(exc), className="error-text")


def check(text: str | None) -> Any:
    """Validation message for the editor text."""
    try:
        sc = se.validate_scenario_text(text or "")
    except se.ScenarioInputError as exc:
        return html.Span(error_text(exc), className="error-text")
    return html.Span(
        f"✓ valid scenario {sc.name!r}: {len(sc.parameters)} parameters, {len(sc.regimes)} regimes, "
        f"{sc.horizon.start_year}–{sc.horizon.end_year}",
        className="note",
    )


def run_list(
    db: str, metric: str | None = None
) -> tuple[Any, list[dict[str, str]], str | None, str | None, list[dict[str, str]], list[str]]:
    """Run table, compare options, default A (baseline) and B (newest other), fan options and defaults
    (the runs made with ``metric`` when given)."""
    runs = q.scenario_runs(db, metric)
    if runs.empty and metric and q.scenario_runs(db).ok:  # runs stored, none with this metric
        reason = (
            f"no run stored with metric {metric} — run one from the editor below with this metric, or "
            f"`fabscope forecast run models/scenarios/baseline.yaml --metric {metric}`"
        )
        return ui.empty_state(reason, title="Stored runs"), [], None, None, [], []
    if runs.empty:
        ids = q.forecast_scenarios(db)
        opts = ui.id_options(ids)
        a = next((i for i in ids if i.startswith("baseline")), ids[0] if ids else None)
        b = next((i for i in ids if i != a), None)
        return ui.empty_state(runs.reason, title="Stored runs"), opts, a, b, opts, ids[:3]
    table = ui.data_table(runs.frame, table_id="runs-table", columns=views.RUN_COLUMNS, page_size=8)
    opts = views.run_options(runs)
    base = views.baseline_run_id(runs)
    others = [o["value"] for o in opts if o["value"] != base]
    return table, opts, base, (others[0] if others else None), opts, views.latest_per_name(runs)


# ---- layout ------------------------------------------------------------------------------
def _lever(param: str, specs: dict[str, tuple[str, str]]) -> html.Div:
    unit, doc = specs.get(param, ("", ""))
    return html.Div(
        className="param",
        children=[
            html.Div(f"{param} ({unit})", className="param-name"),
            html.Div(doc, className="param-meta"),
            dcc.Slider(
                id={"type": "lever", "param": param},
                min=se.LEVER_MIN,
                max=se.LEVER_MAX,
                step=se.LEVER_STEP,
                value=1.0,
                marks={0: "×0", 1: "×1", 2: "×2", 3: "×3"},
                tooltip={"placement": "bottom", "template": "×{value}"},
                updatemode="mouseup",
            ),
        ],
    )


def _editor(seed: int, paths: int) -> html.Div:
    files = sorted(se.shipped())
    specs = se.parameter_specs()
    levers = [_lever(p, specs) for p in se.EDITOR_LEVERS if p in specs]
    return html.Div(
        className="card",
        id="editor-card",
        children=[
            html.H3("Scenario editor", className="card-title"),
            html.Div(
                "Start from a shipped scenario, move the levers (each multiplies that parameter's distribution, "
                "in the base values and every regime), or upload a YAML file; then run. The run is stored in the "
                "warehouse through the single writer and overlaid against the baseline.",
                className="card-subtitle",
            ),
            html.Div(
                className="controls-row",
                style={"marginTop": "10px"},
                children=[
                    ui.picker(
                        "Base scenario",
                        "editor-base",
                        files,
                        "baseline.yaml" if "baseline.yaml" in files else (files[0] if files else None),
                        width=220,
                        clearable=False,
                    ),
                    ui.control(
                        "Run name",
                        dcc.Input(id="editor-name", type="text", value="my-scenario", debounce=True),
                    ),
                    ui.control("Seed", dcc.Input(id="editor-seed", type="number", value=seed, min=0, step=1)),
                    ui.control(
                        "Monte Carlo paths",
                        dcc.Input(
                            id="editor-paths",
                            type="number",
                            value=paths,
                            min=100,
                            max=se.MAX_PATHS,
                            step=1,
                        ),
                    ),
                    ui.control(
                        f"Upload scenario (≤ {se.MAX_UPLOAD_BYTES // 1024} KiB)",
                        dcc.Upload(
                            # No ``accept`` filter and a browser cap above the real limit: a wrong type or an oversized
                            # file reaches the server and is refused with a message (the browser would drop it silently).
                            id="editor-upload",
                            className="upload",
                            max_size=se.BROWSER_UPLOAD_BYTES,
                            children=html.Div(["drop or ", html.A("choose a .yaml")]),
                        ),
                    ),
                    html.Button("Discard upload", id="editor-discard", className="btn btn-small", n_clicks=0),
                ],
            ),
            html.Div(levers, className="param-grid"),
            html.Details(
                open=False,
                children=[
                    html.Summary("Scenario YAML (editable; this is what runs)", className="control-label"),
                    dcc.Textarea(id="editor-yaml", className="yaml", value="", spellCheck=False),
                ],
            ),
            html.Div(id="editor-upload-msg"),
            html.Div(id="editor-check"),
            html.Div(
                className="progress-wrap",
                children=[
                    html.Button("Run scenario", id="editor-run", className="btn", n_clicks=0),
                    html.Progress(id="editor-progress", value="0", max=str(se.RERUN_STEPS)),
                    dcc.Loading(html.Span("idle", id="editor-status", className="note"), type="circle"),
                ],
            ),
            ui.answer_slot("editor-result"),
            dcc.Store(id="editor-last-run"),
        ],
    )


def layout(**query: object) -> html.Div:
    """The page; its state (segment, runs, model, compared runs) restored from the URL ``query``."""
    db = ui.current_db()
    metric = str(query.get("metric")) if query.get("metric") in fa.METRICS else "units"
    table, run_opts, a, b, fan_opts, fan_ids = run_list(db, metric)
    segment, model = SEGMENTS[0], "structural"
    explained = str(query["explain"]) if query.get("explain") in {o["value"] for o in run_opts} else a
    tree = html.Div(
        [
            ui.page_header(
                "Forecasts",
                "Domestic share of China's purchases per segment: p10–p90 fans per scenario, "
                "observed shares and third-party outlooks.",
            ),
            html.Div(
                className="controls-row",
                children=[
                    ui.picker(
                        "Segment", "forecast-segment", SEGMENT_LABELS, segment, width=220, clearable=False
                    ),
                    ui.picker(
                        "Scenario runs",
                        "forecast-scenarios",
                        fan_opts,
                        fan_ids,
                        multi=True,
                        placeholder="pick runs",
                    ),
                    ui.picker("Model", "forecast-model", views.FAN_MODELS, model, width=160, clearable=False),
                    ui.choice("AI-accelerator metric", "forecast-metric", fa.METRICS, metric),
                    share.share_control(SHARE),
                ],
            ),
            ui.chart_card(
                "forecast-fan",
                "Fan chart: p10–p90 band, p50 line",
                subtitle="● observed (hollow = estimate), × third-party outlook; shares are fractions of "
                "China's purchases",
            ),
            fa.card(run_opts, explained, fa.run_years(q.scenario_runs(db), explained)),
            _editor(*views.editor_defaults(q.scenario_runs(db, metric), se.DEFAULT_PATHS)),
            ui.chart_card(
                "forecast-overlay",
                "Your rerun against the baseline",
                figure=views.empty_view(
                    "run a scenario from the editor to overlay it against the baseline", height=220
                ).figure,
            ),
            ui.chart_card(
                "forecast-diff",
                "Rerun minus baseline (paired paths)",
                subtitle="p10–p90 band and p50 of the path-by-path difference, as `fabscope forecast compare` "
                "returns it (common random numbers when the seeds match)",
                figure=views.difference_view(None, "").figure,
                footer=html.Div(id="forecast-diff-note", className="note"),
            ),
            ui.panel(
                "Backtest scores of the chosen segment",
                html.Div(id="forecast-backtest-wrap"),
                subtitle="rolling-origin backtests on vintages of the observations, as stored (forecast_backtest): "
                "out-of-sample CRPS, 80% interval score, p10–p90 coverage, MAE beside the in-sample MAE",
            ),
            ui.panel("Stored runs", html.Div(table, id="runs-list")),
            ui.chart_card(
                "forecast-compare",
                "Compare two runs",
                subtitle="CSV holds p50 of each run and the difference (B − A)",
                controls=[
                    ui.picker("Run A", "compare-a", run_opts, a, wide=True),
                    ui.picker("Run B", "compare-b", run_opts, b, wide=True),
                ],
            ),
        ]
    )
    return share.restore(tree, query, STATE)


# ---- callbacks ---------------------------------------------------------------------------
@callback(
    *ui.card_outputs("forecast-fan"),
    Input("forecast-segment", "value"),
    Input("forecast-scenarios", "value"),
    Input("forecast-model", "value"),
)
def _update_fan(segment: str, scenario_ids: list[str] | None, model: str | None) -> tuple:
    return fan(ui.current_db(), segment, scenario_ids or [], model).card_outputs


@callback(
    Output("editor-yaml", "value"),
    Output("editor-upload-msg", "children"),
    Input("editor-base", "value"),
    Input("editor-name", "value"),
    Input({"type": "lever", "param": ALL}, "value"),
    Input("editor-upload", "contents"),
    State({"type": "lever", "param": ALL}, "id"),
    State("editor-upload", "filename"),
)
def _compose(
    base: str | None,
    name: str | None,
    values: list,
    upload: str | None,
    ids: list[dict],
    filename: str | None,
) -> tuple:
    return compose(base, name, values, ids, upload, filename, ctx.triggered_id)


@callback(Output("editor-check", "children"), Input("editor-yaml", "value"))
def _check(text: str | None) -> Any:
    return check(text)


@callback(
    Output("editor-last-run", "data"),
    Output("editor-result", "children"),
    Input("editor-run", "n_clicks"),
    State("editor-yaml", "value"),
    State("editor-seed", "value"),
    State("editor-paths", "value"),
    State("forecast-metric", "value"),
    background=True,
    progress=[
        Output("editor-progress", "value"),
        Output("editor-progress", "max"),
        Output("editor-status", "children"),
    ],
    running=[(Output("editor-run", "disabled"), True, False)],
    prevent_initial_call=True,
)
def _rerun(set_progress, n_clicks: int, text: str | None, seed: Any, paths: Any, metric: str | None) -> tuple:
    def progress(step: int, total: int, message: str) -> None:
        set_progress((str(step), str(total), message))

    try:
        job = se.Rerun(
            text or "",
            seed=None if seed in (None, "") else int(seed),
            n_paths=paths,
            metric=metric or "units",
        )
        doc = se.rerun_in_subprocess(ui.current_db(), job, progress=progress)
    except Exception as exc:  # shown to the analyst, never a traceback
        set_progress(("0", str(se.RERUN_STEPS), "failed"))
        return dash.no_update, html.Div(f"Run failed: {error_text(exc)}", className="banner banner-error")
    return (
        {"scenario_id": doc["scenario_id"], "name": doc["name"]},
        html.Div(
            [
                html.Strong("Stored "),
                html.Code(doc["scenario_id"]),
                f" ({doc['n_paths']:,} paths, seed {doc['seed']}, warehouse {doc['warehouse_version']}).",
            ],
            className="banner banner-ok",
            id="editor-done",
        ),
    )


@callback(
    *ui.card_outputs("forecast-overlay"), Input("editor-last-run", "data"), Input("forecast-segment", "value")
)
def _overlay(last: dict | None, segment: str) -> tuple:
    db = ui.current_db()
    run_id = (last or {}).get("scenario_id")
    runs = q.scenario_runs(db)
    base = views.baseline_run_id(runs, q.forecast_scenarios(db))
    return views.overlay_view(
        q.substitution_forecast(db, [i for i in (base, run_id) if i] or None), base, run_id, segment
    ).card_outputs


@callback(Output("forecast-backtest-wrap", "children"), Input("forecast-segment", "value"))
def _backtest(segment: str) -> Any:
    scores = q.forecast_backtest(ui.current_db(), segment)
    frame, formats = views.backtest_table(scores)
    if frame.is_empty():
        return ui.empty_state(scores.reason or f"no backtest stored for {segment}", title="Backtest")
    return ui.data_table(frame, table_id="forecast-backtest-table", formats=formats, page_size=12)


share.register("/forecasts", SHARE, STATE)


@callback(Output("editor-upload", "contents"), Input("editor-discard", "n_clicks"), prevent_initial_call=True)
def _discard(_n: int) -> None:
    return None


@callback(
    *ui.card_outputs("forecast-diff"),
    Output("forecast-diff-note", "children"),
    Input("editor-last-run", "data"),
    Input("forecast-segment", "value"),
)
def _difference(last: dict | None, segment: str) -> tuple:
    view = fa.difference(ui.current_db(), (last or {}).get("scenario_id"), segment)
    return (*view.card_outputs, view.note or "")


@callback(
    Output("runs-list", "children"),
    Output("compare-a", "options"),
    Output("compare-b", "options"),
    Output("compare-b", "value"),
    Output("forecast-scenarios", "options"),
    Input("editor-last-run", "data"),
    State("forecast-metric", "value"),
    prevent_initial_call=True,
)
def _refresh_runs(last: dict | None, metric: str | None) -> tuple:
    table, opts, _a, b, fan_opts, _ids = run_list(ui.current_db(), metric)
    newest = (last or {}).get("scenario_id") or b
    return table, opts, opts, newest, fan_opts


@callback(
    *ui.card_outputs("forecast-compare"),
    Input("compare-a", "value"),
    Input("compare-b", "value"),
    Input("forecast-segment", "value"),
)
def _compare(a: str | None, b: str | None, segment: str) -> tuple:
    return compare(ui.current_db(), a, b, segment).card_outputs


@callback(
    *ui.card_outputs("forecast-tornado"),
    Output("forecast-tornado-note", "children"),
    Output("forecast-exceedance", "children"),
    Input("forecast-explain-run", "value"),
    Input("forecast-explain-year", "value"),
    Input("forecast-segment", "value"),
    Input("forecast-threshold", "value"),
)
def _tornado(run_id: str | None, year: Any, segment: str, threshold: Any) -> tuple:
    return fa.tornado_outputs(ui.current_db(), run_id, year, segment, threshold)


@callback(
    Output("runs-list", "children", allow_duplicate=True),
    Output("compare-a", "options", allow_duplicate=True),
    Output("compare-b", "options", allow_duplicate=True),
    Output("compare-a", "value"),
    Output("compare-b", "value", allow_duplicate=True),
    Output("forecast-scenarios", "options", allow_duplicate=True),
    Output("forecast-scenarios", "value"),
    Output("forecast-explain-run", "options"),
    Output("forecast-explain-run", "value"),
    Input("forecast-metric", "value"),
    prevent_initial_call=True,
)
def _metric(metric: str | None) -> tuple:
    """The toggle lists the runs made with that metric (``fabscope forecast run --metric``)."""
    table, opts, a, b, fan_opts, ids = run_list(ui.current_db(), metric)
    return table, opts, opts, a, b, fan_opts, ids, opts, a
