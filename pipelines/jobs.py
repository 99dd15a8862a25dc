"""Jobs: the full refresh, the market refresh (launched by the CSV drop sensor), the scenario rerun."""

import dagster as dg

from pipelines.assets.forecast import rerun_scenario

refresh_job = dg.define_asset_job(
    "refresh",
    selection=dg.AssetSelection.all(),
    description="Materialise every asset into a staging copy; publish it if all assets and blocking checks pass.",
)

market_refresh_job = dg.define_asset_job(
    "market_refresh",
    selection=dg.AssetSelection.groups("market"),
    description="Refresh the market group (FX, prices, event study); the CSV drop sensor launches it.",
)


@dg.job(
    name="scenario_rerun", description="Rerun one scenario file given as run config; stores its forecast."
)
def scenario_rerun() -> None:
    rerun_scenario()
