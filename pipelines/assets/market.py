"""Market group: ticker universe (prices, FX and the event study are added by the market issue)."""


from pipelines.assets.reference_assets import reference_asset
from pipelines.checks import table_check

tickers = reference_asset("tickers", "market", "Ticker universe (Yahoo symbols) with each stock's benchmark index.")

ASSETS = [tickers]
CHECKS = [table_check("tickers", min_rows=20)]
