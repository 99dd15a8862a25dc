"""Jobs: the full refresh, the market refresh (launched by the CSV drop sensor), the scenario rerun."""

import dagster as dg

from pipelines.assets.forecast import rerun_scenario

# a run longer than this is stopped by Dagster's run monitoring (tag ``dagster/max_runtime``, seconds):
# a hung download or a runaway scenario never holds the writer lock for ever
MAX_RUNTIME_S = 3600
RUNTIME_TAGS = {"dagster/max_runtime": str(MAX_RUNTIME_S)}

refresh_job = dg.define_asset_job(
    "refresh",
    selection=dg.AssetSelection.all(),
    tags=RUNTIME_TAGS,
    description="Materialise every asset into a staging copy; publish it if all assets and blocking checks pass.",
)

market_refresh_job = dg.define_asset_job(
    "market_refresh",
    selection=dg.AssetSelection.groups("market"),
    tags=RUNTIME_TAGS,
    description="Refresh the market group (FX, prices, event study); the CSV drop sensor launches it.",
)


@dg.job(
    name="scenario_rerun",
    description="Rerun one scenario file given as run config; stores its forecast.",
    tags=RUNTIME_TAGS,
)
def scenario_rerun() -> None:
    rerun_scenario()
