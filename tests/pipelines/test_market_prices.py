"""Price providers: CSV drop layouts, validation, adjustment, recorded yfinance/akshare responses, sample, FX."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from pipelines.sources.fx import sample_fx, to_usd, yahoo_fx
from pipelines.sources.prices import parse_provider
from pipelines.sources.prices.adjustments import known_splits, split_factor
from pipelines.sources.prices.akshare import AkshareProvider
from pipelines.sources.prices.base import ProviderError, fetch_each, with_retries
from pipelines.sources.prices.csv_drop import read_drop, read_price_file
from pipelines.sources.prices.csv_layouts import a_share_symbol
from pipelines.sources.prices.sample import ANCHORS, sample_prices
from pipelines.sources.prices.yahoo import YahooProvider, frame_from_download

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def ticker_universe() -> dict[str, str]:
    """The bundled ticker universe (symbol → listing currency), as a refresh passes it to the drop reader."""
    from pipelines.sources.reference import REFERENCE_DIR

    frame = pl.read_csv(REFERENCE_DIR / "tickers.csv", infer_schema_length=0)
    return dict(zip(frame["ticker"].to_list(), frame["currency"].to_list(), strict=True))


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _universe() -> pl.DataFrame:
    from pipelines.sources.reference import REFERENCE_FILES

    return REFERENCE_FILES["tickers"].load().good


# ---- provider strings ---------------------------------------------------------------------------
def test_parse_provider_accepts_the_four_kinds(tmp_path: Path) -> None:
    assert parse_provider("sample").name == "sample" and parse_provider("YAHOO").name == "yahoo"
    spec = parse_provider(f"csv:{tmp_path}")
    assert spec.name == "csv" and spec.directory == tmp_path and str(spec) == f"csv:{tmp_path}"


@pytest.mark.parametrize(
    "bad, words",
    [
        ("bloomberg", ["unknown price provider", "csv:DIR"]),
        ("csv:", ["needs a folder"]),
        ("csv:/no/such/folder", ["/no/such/folder", "does not exist"]),
        ("sample:x", ["unknown price provider"]),
    ],
)
def test_parse_provider_errors_are_readable(bad: str, words: list[str]) -> None:
    with pytest.raises(ValueError) as err:
        parse_provider(bad)
    assert all(w in str(err.value) for w in words)


def test_market_run_config_selects_provider(tmp_path: Path) -> None:
    from pipelines.assets.market import market_run_config

    cfg = market_run_config(f"csv:{tmp_path}")
    assert cfg["ops"]["prices_daily"]["config"] == {"provider": f"csv:{tmp_path}"}
    assert cfg["ops"]["fx_daily"]["config"] == {"provider": "sample"}
    assert market_run_config("yahoo")["ops"]["fx_daily"]["config"] == {"provider": "yahoo"}
    with pytest.raises(ValueError, match="does not exist"):
        market_run_config(f"csv:{tmp_path / 'missing'}")


def test_market_run_config_akshare_without_extra_is_readable(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    from pipelines.assets.market import market_run_config

    real_import = builtins.__import__

    def no_akshare(name, *args, **kwargs):
        if name == "akshare":
            raise ImportError("No module named 'akshare'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_akshare)
    with pytest.raises(ValueError, match=r"pip install 'fabscope\[akshare\]'"):
        market_run_config("akshare")


# ---- CSV drop: layouts --------------------------------------------------------------------------
def test_canonical_layout_any_order_and_currency(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "mine.csv",
        "ticker,close,date,volume\nNVDA,100.5,2025-01-02,10\n688256.SS,500,2025-01-02,7\n",
    )
    res = read_drop(tmp_path)
    f = res.frame.sort("ticker")
    assert f["ticker"].to_list() == ["688256.SS", "NVDA"]
    assert f["currency"].to_list() == ["CNY", "USD"] and f["close"].to_list() == [500.0, 100.5]
    assert set(f["provider"]) == {"csv"} and not res.refused_files


def test_yfinance_download_with_and_without_adj_close_either_order(tmp_path: Path) -> None:
    _write(tmp_path, "AMD.csv", "Date,Open,High,Low,Close,Adj Close,Volume\n2024-01-02,10,11,9,10,9.5,100\n")
    _write(
        tmp_path, "MU.csv", "Date,Close,High,Low,Open,Volume\n2025-05-12,92.07,93.98,91.73,92.59,27765300\n"
    )
    f = read_drop(tmp_path).frame.sort("ticker")
    amd, mu = f.row(0, named=True), f.row(1, named=True)
    assert (
        amd["ticker"] == "AMD"
        and amd["close"] == pytest.approx(9.5)
        and amd["adj_factor"] == pytest.approx(0.95)
    )
    assert amd["open"] == pytest.approx(9.5)  # open scaled by the same factor
    assert mu["close"] == 92.07 and mu["open"] == 92.59 and mu["adj_factor"] == 1.0


def test_yfinance_history_tz_dates_and_splits(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "0981.HK.csv",
        "Date,Open,High,Low,Close,Volume,Dividends,Stock Splits\n"
        "2020-01-02 00:00:00+08:00,11.9,12.7,11.9,12.6,113010310,0.0,0.0\n"
        "2020-01-03 00:00:00+08:00,12.8,13.0,12.5,12.6,63114482,0.0,2.0\n",
    )
    res = read_drop(tmp_path)
    assert res.frame["date"].to_list() == [date(2020, 1, 2), date(2020, 1, 3)]
    assert set(res.frame["currency"]) == {"HKD"}
    split = res.splits.filter(pl.col("ticker") == "0981.HK")
    assert split.select("ex_date", "ratio").rows() == [(date(2020, 1, 3), 2.0)]
    assert res.frame["adj_factor"].to_list() == [1.0, 1.0]  # already adjusted by yfinance


def test_chinese_headers_and_exchange_suffix(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "688256.csv",
        "日期,开盘价,最高价,最低价,收盘价,成交量,成交额\n20250522,666.49,669.88,656.5,661.66,2969543,1968237437\n",
    )
    _write(
        tmp_path,
        "002371.csv",
        "日期,开盘价,最高价,最低价,收盘价,成交量,成交额\n20250523,422.86,428.3,422,424.86,3646800,1549954900\n",
    )
    _write(
        tmp_path,
        "ak.csv",
        "日期,股票代码,开盘,收盘,最高,最低,成交量,成交额\n2025-06-03,688981,84,83.8,84.68,83.71,133473,1\n",
    )
    f = read_drop(tmp_path).frame.sort("ticker")
    assert f.select("ticker", "date").rows() == [
        ("002371.SZ", date(2025, 5, 23)),
        ("688256.SS", date(2025, 5, 22)),
        ("688981.SS", date(2025, 6, 3)),
    ]
    assert f["volume"].to_list() == [3646800.0, 2969543.0, 13347300.0]  # akshare lots of 100 → shares
    assert set(f["currency"]) == {"CNY"}


@pytest.mark.parametrize(
    "code, symbol",
    [
        ("688256", "688256.SS"),
        ("002371", "002371.SZ"),
        ("300750", "300750.SZ"),
        ("600519", "600519.SS"),
        ("sh688012", "688012.SS"),
        ("830799", "830799.BJ"),
        ("688041.SH", "688041.SS"),
    ],
)
def test_a_share_symbols(code: str, symbol: str) -> None:
    assert a_share_symbol(code) == symbol


def test_yfinance_multiheader_fixture_as_a_drop(tmp_path: Path) -> None:
    (tmp_path / "download.csv").write_bytes((FIXTURES / "yfinance_download_amd_nvda.csv").read_bytes())
    res = read_drop(tmp_path)
    assert res.tickers_ok == ["AMD", "NVDA"] and res.frame.height == 20
    nvda = res.frame.filter(pl.col("ticker") == "NVDA").sort("date").row(0, named=True)
    assert nvda["close"] == pytest.approx(133.815) and nvda["adj_factor"] == pytest.approx(133.815 / 133.949)


def test_unknown_layout_is_refused_naming_file_and_columns(tmp_path: Path) -> None:
    _write(tmp_path, "weird.csv", "when,what,price\n2025-01-02,X,3\n")
    _write(tmp_path, "ok.csv", "date,ticker,close\n2025-01-02,NVDA,1\n")
    res = read_drop(tmp_path)
    ((path, why),) = res.refused_files.items()
    assert path.endswith("weird.csv") and "weird.csv" in why and "['when', 'what', 'price']" in why
    assert res.tickers_ok == ["NVDA"]  # the other file is still read
    with pytest.raises(ProviderError, match="unknown price layout"):
        read_price_file(tmp_path / "weird.csv")


def test_malformed_rows_are_quarantined_with_row_and_field(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "bad.csv",
        "date,ticker,close\n"
        "2025-01-02,NVDA,100\n"  # line 2 good
        "2025-13-45,NVDA,101\n"  # line 3 bad date
        "2025-01-06,NVDA,abc\n"  # line 4 non-numeric
        "2025-01-07,NVDA,-5\n"  # line 5 negative
        "2025-01-08,NVDA,102\n"  # line 6 duplicate key
        "2025-01-08,NVDA,103\n"  # line 7 duplicate key
        "2025-01-09,NVDA,0\n",
    )  # line 8 zero price
    res = read_drop(tmp_path)
    (v,) = res.validations
    q = v.quarantine.select("row", "field").rows()
    assert (3, "date") in q and (4, "close") in q and (5, "close") in q and (8, "close") in q
    assert (6, "date,ticker") in q and (7, "date,ticker") in q
    assert res.frame["date"].to_list() == [date(2025, 1, 2)]


# ---- adjustment ---------------------------------------------------------------------------------
def test_split_factor_depends_on_file_units() -> None:
    splits = known_splits()
    rows = pl.DataFrame(
        {
            "date": [
                date(2024, 3, 8),
                date(2024, 3, 8),
                date(2024, 6, 7),
                date(2024, 6, 10),
                date(2021, 7, 19),
            ],
            "ticker": ["NVDA"] * 5,
            # adjusted file ending 2024-03-08; adjusted file ending 2025; unadjusted file across the split (x2); old row
            "units_as_of": [date(2024, 3, 8), date(2025, 5, 1), None, None, date(2024, 3, 8)],
        }
    )
    assert split_factor(rows, splits).to_list() == pytest.approx([0.1, 1.0, 0.1, 1.0, 0.1])
    unadjusted_2021 = rows.with_columns(pl.lit(None, dtype=pl.Date).alias("units_as_of")).tail(1)
    assert split_factor(unadjusted_2021, splits).to_list() == pytest.approx([0.025])  # 4:1 then 10:1


# ---- real exports (read in place; never copied into the project) --------------------------------
@pytest.mark.parametrize(
    "folder, tickers",
    [
        ("prices_us_dieperdev", {"AMAT", "AMD", "ASML", "LRCX", "NVDA", "TSM"}),
        ("prices_us_key07211", {"AMD", "ASML", "MU", "NVDA", "^SOX", "TSM"}),
        ("prices_cn_suiwenfeng", {"002371.SZ", "688012.SS", "688041.SS", "688256.SS", "688981.SS"}),
        ("prices_hk_georgelikechen", {"0981.HK"}),
    ],
)
def test_real_exports_parse(folder: str, tickers: set[str], real_prices: Path) -> None:
    res = read_drop(real_prices / folder, ticker_universe())
    assert not res.refused_files
    assert set(res.tickers_ok) == tickers
    assert all(v.quarantine.height == 0 for v in res.validations), [v.summary() for v in res.validations]
    assert res.frame.filter(pl.col("close") <= 0).height == 0


def test_real_nvda_split_join_has_no_fake_crash(tmp_path: Path, real_prices: Path) -> None:
    shutil.copyfile(real_prices / "prices_us_dieperdev" / "NVDA.csv", tmp_path / "NVDA.csv")  # no links out
    (tmp_path / "nvda_2025.csv").write_text(  # same ticker from the post-split export, canonical layout
        read_drop(real_prices / "prices_us_key07211")
        .frame.filter(pl.col("ticker") == "NVDA")
        .select("date", "ticker", "close")
        .write_csv()
    )
    f = read_drop(tmp_path).frame.filter(pl.col("ticker") == "NVDA").sort("date")
    ret = f["close"] / f["close"].shift(1) - 1
    assert ret.min() > -0.5  # a naive join shows 875.28 → 122.97 (-86 %) across the 10:1 split
    gap = f.filter(pl.col("date").is_between(date(2024, 3, 8), date(2025, 5, 12)))
    assert gap["close"].to_list() == pytest.approx([87.528003, 122.97], rel=1e-6)
    assert gap["adj_factor"][0] == pytest.approx(0.1)


# ---- yfinance (recorded frame) ------------------------------------------------------------------
def _recorded_download() -> pd.DataFrame:
    frame = pd.read_csv(
        FIXTURES / "yfinance_download_amd_nvda.csv", header=[0, 1], index_col=0, parse_dates=True
    )
    frame.columns.names = ["Price", "Ticker"]
    frame.index.name = "Date"
    return frame


def test_frame_from_download_multiindex() -> None:
    raw = frame_from_download(_recorded_download())
    assert sorted(raw["ticker"].unique()) == ["AMD", "NVDA"] and raw.height == 20
    assert raw.schema["date"] == pl.Date


def test_yahoo_provider_retries_and_keeps_other_tickers(monkeypatch: pytest.MonkeyPatch) -> None:
    import yfinance

    recorded = _recorded_download()
    calls: dict[str, int] = {}

    def fake_download(ticker, **kwargs):
        calls[ticker] = calls.get(ticker, 0) + 1
        assert kwargs["auto_adjust"] is False and kwargs["end"] == "2025-06-14"  # end made exclusive
        if ticker == "AMD" and calls[ticker] == 1:
            raise ConnectionError("temporary failure")
        if ticker == "DEAD":
            return pd.DataFrame()
        return recorded.loc[:, recorded.columns.get_level_values("Ticker") == ticker]

    monkeypatch.setattr(yfinance, "download", fake_download)
    sleeps: list[float] = []
    provider = YahooProvider(sleep=sleeps.append)
    res = provider.fetch(["AMD", "DEAD", "NVDA"], date(2025, 6, 2), date(2025, 6, 13))
    assert res.tickers_ok == ["AMD", "NVDA"] and res.frame.height == 20
    assert res.failures == {
        "DEAD": "ProviderError: yahoo (Yahoo Finance via yfinance): DEAD: no rows returned"
    }
    assert calls == {"AMD": 2, "DEAD": 3, "NVDA": 1}  # bounded: 3 attempts at most
    assert sleeps == [1.0, 1.0, 2.0]  # AMD once; DEAD twice with doubling backoff
    assert set(res.frame["provider"]) == {"yahoo"} and "FAILED DEAD" in res.summary()


def test_with_retries_reraises_after_bounded_attempts() -> None:
    attempts = []

    def boom():
        attempts.append(1)
        raise TimeoutError("down")

    with pytest.raises(TimeoutError):
        with_retries(boom, attempts=3, backoff_s=0.5, sleep=lambda s: None)
    assert len(attempts) == 3
    res = fetch_each(["A"], lambda t: (_ for _ in ()).throw(OSError("x")), sleep=lambda s: None)
    assert res.failures == {"A": "OSError: x"} and res.frame.height == 0


# ---- akshare (recorded frames) ------------------------------------------------------------------
class _FakeAkshare:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def stock_zh_a_hist(self, symbol, period, start_date, end_date, adjust):
        self.calls.append((symbol, adjust))
        name = "qfq" if adjust == "qfq" else "raw"
        df = pd.read_csv(FIXTURES / f"akshare_stock_zh_a_hist_688256_{name}.csv", dtype={"股票代码": str})
        df["日期"] = pd.to_datetime(df["日期"]).dt.date  # akshare returns datetime.date objects
        return df


def test_akshare_provider_with_recorded_frames() -> None:
    fake = _FakeAkshare()
    res = AkshareProvider(module=fake, sleep=lambda s: None).fetch(
        ["688256.SS", "NVDA"], date(2025, 6, 3), date(2025, 6, 12)
    )
    assert fake.calls == [("688256", ""), ("688256", "qfq")]  # NVDA is outside akshare's scope
    f = res.frame.sort("date")
    assert f.height == 8 and set(f["ticker"]) == {"688256.SS"} and set(f["currency"]) == {"CNY"}
    assert f["close"][0] == pytest.approx(600.1 - 1.5) and f["adj_factor"][0] == pytest.approx(598.6 / 600.1)
    assert f["adj_factor"][-1] == 1.0 and f["volume"][0] == 2_969_500.0  # lots × 100
    assert set(f["provider"]) == {"akshare"}


# ---- sample ---------------------------------------------------------------------------------------
def test_sample_is_deterministic_prefix_stable_and_hits_anchors() -> None:
    uni = _universe()
    events = [date(2022, 10, 7), date(2023, 10, 17)]
    a = sample_prices(uni, date(2024, 1, 1), date(2025, 7, 31), events=events)
    b = sample_prices(uni, date(2024, 1, 1), date(2025, 7, 31), events=events)
    assert a.equals(b)
    shorter = sample_prices(uni, date(2024, 1, 1), date(2025, 3, 31), events=events)
    assert shorter.equals(a.filter(pl.col("date") <= date(2025, 3, 31)))
    for anchor in ANCHORS:
        s = a.filter(pl.col("ticker") == anchor.ticker)
        p0 = s.filter(pl.col("date") == anchor.start)["close"].item()
        p1 = s.filter(pl.col("date") == anchor.end)["close"].item()
        assert p1 / p0 - 1 == pytest.approx(anchor.total_return, rel=1e-9)
    assert set(a["provider"]) == {"sample"} and a.filter(pl.col("close") <= 0).height == 0
    assert a.filter(pl.col("date").dt.weekday() > 5).height == 0
    assert set(a["ticker"]) == set(uni["ticker"])


def test_sample_changes_with_seed() -> None:
    uni = _universe().head(3)
    a = sample_prices(uni, date(2024, 1, 1), date(2024, 3, 1), seed=1)
    b = sample_prices(uni, date(2024, 1, 1), date(2024, 3, 1), seed=2)
    assert not np.allclose(a["close"].to_numpy(), b["close"].to_numpy())


# ---- FX -------------------------------------------------------------------------------------------
def test_sample_fx_and_usd_conversion() -> None:
    fx = sample_fx(date(2024, 1, 1), date(2024, 12, 31))
    assert set(fx["currency"]) == {"CNY", "HKD", "KRW", "EUR", "TWD", "JPY"}
    hkd = fx.filter(pl.col("currency") == "HKD")["units_per_usd"]
    assert hkd.min() > 7.7 and hkd.max() < 7.9  # pegged band
    assert fx.equals(sample_fx(date(2024, 1, 1), date(2024, 12, 31)))
    prices = pl.DataFrame(
        {
            "date": [date(2024, 6, 1), date(2024, 6, 3), date(2024, 6, 3)],  # a Saturday, Monday
            "ticker": ["688256.SS", "688256.SS", "NVDA"],
            "close": [720.0, 720.0, 100.0],
            "currency": ["CNY", "CNY", "USD"],
        }
    )
    out = to_usd(prices, fx)
    fri = fx.filter((pl.col("currency") == "CNY") & (pl.col("date") == date(2024, 5, 31)))[
        "units_per_usd"
    ].item()
    assert out["close_usd"][0] == pytest.approx(720.0 / fri)  # weekend uses Friday's rate
    assert out["close_usd"][2] == 100.0 and out["ticker"].to_list() == prices["ticker"].to_list()


def test_yahoo_fx_with_recorded_shape() -> None:
    idx = pd.DatetimeIndex(pd.to_datetime(["2025-06-02", "2025-06-03"]), name="Date")

    def fake_download(symbol, **kwargs):
        if symbol == "KRW=X":
            raise ConnectionError("down")
        cols = pd.MultiIndex.from_product([["Close", "Open"], [symbol]], names=["Price", "Ticker"])
        return pd.DataFrame([[7.19, 7.18], [7.20, 7.19]], index=idx, columns=cols)

    rates, failures = yahoo_fx(
        date(2025, 6, 2), date(2025, 6, 3), ["CNY", "KRW"], download=fake_download, sleep=lambda s: None
    )
    assert rates["currency"].to_list() == ["CNY", "CNY"] and rates["units_per_usd"].to_list() == [7.19, 7.20]
    assert "KRW" in failures and set(rates["provider"]) == {"yahoo"}


def test_offline_yahoo_names_itself_and_the_cause(monkeypatch: pytest.MonkeyPatch) -> None:
    import logging

    import yfinance.shared as shared

    from pipelines.sources.prices.yahoo import download_daily

    def offline(symbol, **kwargs):
        logging.getLogger("yfinance").error("235 lines of library noise")
        shared._ERRORS[symbol] = "ConnectionError('Failed to resolve query1.finance.yahoo.com')"
        return None

    monkeypatch.setattr(shared, "_ERRORS", {})
    with pytest.raises(ProviderError, match=r"^yahoo \(Yahoo Finance via yfinance\): NVDA: ConnectionError"):
        download_daily(offline, "NVDA", date(2025, 1, 2), date(2025, 1, 3))


def test_an_empty_drop_folder_says_why(tmp_path: Path) -> None:
    from pipelines.market_store import _why_empty
    from pipelines.sources.prices import parse_provider

    spec = parse_provider(f"csv:{tmp_path}")
    assert "holds no price files" in _why_empty(spec, read_drop(tmp_path))
