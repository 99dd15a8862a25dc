"""Forecast group, inputs: observed domestic shares and third-party outlooks."""

from pipelines.assets.reference_assets import reference_asset
from pipelines.checks import table_check

substitution_history = reference_asset(
    "substitution_history",
    "forecast",
    "Observed domestic shares per segment and year; disagreeing sources kept as separate rows.",
)
observations = reference_asset(
    "observations",
    "forecast",
    "Every observed figure (unit, H100e, revenue shares; localisation; unit counts) with its publication date.",
)
substitution_outlooks = reference_asset(
    "substitution_outlooks", "forecast", "Third-party forecasts of domestic shares, shown beside ours."
)
substitution_history_valid = table_check(
    "substitution_history", min_rows=8, conditions=("domestic_share BETWEEN 0 AND 1",)
)
observations_valid = table_check("observations", min_rows=10, conditions=("value >= 0",))
substitution_outlooks_valid = table_check(
    "substitution_outlooks", min_rows=1, conditions=("domestic_share BETWEEN 0 AND 1",)
)
