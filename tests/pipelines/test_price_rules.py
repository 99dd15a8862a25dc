"""Plausibility rules and conflict decisions over dropped prices (issue 18): each case the red team found."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from pipelines.price_rules import DECLARATION_FILE, JUMP_RATIO, OVERRIDE_FOLDER, PLAUSIBILITY_RULES
from pipelines.sources.prices.csv_drop import read_drop

TODAY = date(2026, 5, 29)
HEAD = "date,ticker,open,high,low,close,volume,currency\n"


def _days(n: int, start: date = date(2025, 1, 2)) -> list[str]:
    return [(start + timedelta(days=i)).isoformat() for i in range(n)]


def _file(tmp_path: Path, name: str, rows: list[str]) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEAD + "".join(r + "\n" for r in rows))
    return path


def _clean(ticker: str = "NVDA", n: int = 30, price: float = 100.0, ccy: str = "USD") -> list[str]:
    return [f"{d},{ticker},{price},{price},{price},{price},1000,{ccy}" for d in _days(n)]


def _reasons(res) -> dict[tuple[str, int], str]:
    out: dict[tuple[str, int], str] = {}
    for v in res.validations:
        for r in v.quarantine.iter_rows(named=True):
            key = (Path(v.source_file).name, r["row"])
            out[key] = (out[key] + " | " if key in out else "") + f"{r['field']}: {r['reason']}"
    return out


@pytest.mark.parametrize(
    ("row", "field", "rule"),
    [
        ("2025-02-10,NVDA,1,1,1,1e308,1,USD", "close", "price_range"),
        ("2025-02-10,NVDA,100,100,100,0,1,USD", "close", "below minimum"),  # close > 0 (parse rule)
        ("2025-02-10,NVDA,100,100,100,100,-5,USD", "volume", "below minimum"),
        ("0001-01-01,NVDA,100,100,100,100,1,USD", "date", "two-digit year"),
        ("1900-01-01,NVDA,100,100,100,100,1,USD", "date", "date_range"),
        ("2099-01-01,NVDA,100,100,100,100,1,USD", "date", "after the run date"),
        ("24-01-05,NVDA,100,100,100,100,1,USD", "date", "two-digit year"),
        ("2025-02-10,NVDA,100,90,110,100,1,USD", "low", "ohlc_order"),
        ("2025-02-10,NVDA,100,105,95,120,1,USD", "high", "ohlc_order"),
        ("2025-02-10,NVDA,100,100,100,100,1,JPY", "currency", "listing_currency"),
        ("2025-02-10,NVDA,100,100,100,100,1,XYZ", "currency", "NVDA is listed in USD"),
        ("2025-02-10,NVDA,100,100,100,100,1,€", "currency", "listing_currency"),
        ("2025-02-10," + "T" * 100_000 + ",100,100,100,100,1,USD", "ticker", "field_length"),
    ],
)
def test_each_implausible_row_is_quarantined_and_the_rest_stored(
    tmp_path: Path, row: str, field: str, rule: str
) -> None:
    _file(tmp_path, "a.csv", [*_clean(), row])
    res = read_drop(tmp_path, today=TODAY)
    reasons = _reasons(res)
    assert list(reasons) == [("a.csv", 32)], reasons
    assert f"{field}: " in reasons[("a.csv", 32)] and rule in reasons[("a.csv", 32)]
    assert res.frame.height == 30 and res.frame["close"].max() == 100.0
    assert all(len(v) < 400 for v in reasons.values())  # a huge value is shown shortened


def test_amat_in_jpy_is_refused_against_the_universe_and_unknown_tickers_need_declaring(
    tmp_path: Path,
) -> None:
    known = {"AMAT": "USD", "NVDA": "USD"}
    _file(tmp_path, "a.csv", [*_clean("AMAT", 25), "2025-03-01,AMAT,30,30,30,30,1,JPY", *_clean("ZZZZ", 2)])
    res = read_drop(tmp_path, known, today=TODAY)
    reasons = _reasons(res)
    assert "AMAT is listed in USD" in reasons[("a.csv", 27)]
    assert "not in the ticker universe" in reasons[("a.csv", 28)]
    assert set(res.frame["ticker"]) == {"AMAT"}
    (tmp_path / DECLARATION_FILE).write_text("ticker,currency\nZZZZ,USD\n")
    assert set(read_drop(tmp_path, known, today=TODAY).frame["ticker"]) == {"AMAT", "ZZZZ"}


def test_mixed_currencies_within_one_ticker_are_held_back(tmp_path: Path) -> None:
    _file(tmp_path, "a.csv", [*_clean("ASML.AS", 25, ccy="EUR"), "2025-03-01,ASML.AS,30,30,30,30,1,USD"])
    res = read_drop(tmp_path, today=TODAY)
    assert "listed in EUR" in _reasons(res)[("a.csv", 27)] and set(res.frame["currency"]) == {"EUR"}


def test_a_one_day_spike_is_quarantined_not_the_return(tmp_path: Path) -> None:
    rows = _clean(n=30)
    rows[10] = rows[10].replace(",100.0,100.0,100.0,100.0,", ",9999,9999,9999,9999,")
    _file(tmp_path, "a.csv", rows)
    res = read_drop(tmp_path, today=TODAY)
    reasons = _reasons(res)
    assert list(reasons) == [("a.csv", 12)] and "day_jump" in reasons[("a.csv", 12)]
    assert res.frame["close"].max() == 100.0 and res.frame.height == 29


def test_a_split_in_the_split_table_explains_its_jump(tmp_path: Path) -> None:
    days = [(date(2025, 1, 2) + timedelta(days=i)).strftime("%Y%m%d") for i in range(30)]
    closes = [100.0] * 15 + [10.0] * 15  # an unadjusted A-share export across a 10-for-1 split
    (tmp_path / "600519.csv").write_text(
        "日期,开盘价,最高价,最低价,收盘价,成交量,成交额\n"
        + "".join(f"{d},{c},{c},{c},{c},100,1000\n" for d, c in zip(days, closes, strict=True))
    )
    schema = {
        "ticker": pl.String,
        "ex_date": pl.Date,
        "ratio": pl.Float64,
        "source": pl.String,
        "flag": pl.String,
    }
    none = pl.DataFrame(schema=schema)
    assert "day_jump" in " ".join(_reasons(read_drop(tmp_path, today=TODAY, splits=none)).values())
    split = pl.DataFrame(
        {
            "ticker": ["600519.SS"],
            "ex_date": [date(2025, 1, 17)],
            "ratio": [10.0],
            "source": ["t"],
            "flag": ["reported"],
        },
        schema=schema,
    )
    res = read_drop(tmp_path, today=TODAY, splits=split)
    assert not _reasons(res) and res.frame.height == 30 and res.frame["close"].max() == pytest.approx(10.0)
    assert JUMP_RATIO < 10


def test_a_jump_limit_can_be_overridden_per_ticker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pipelines.price_rules as rules

    rows = [
        f"{d},NVDA,{p},{p},{p},{p},1,USD" for d, p in zip(_days(30), [10.0] * 15 + [50.0] * 15, strict=True)
    ]
    _file(tmp_path, "a.csv", rows)
    assert _reasons(read_drop(tmp_path, today=TODAY))
    monkeypatch.setitem(rules.JUMP_OVERRIDES, "NVDA", 10.0)
    assert not _reasons(read_drop(tmp_path, today=TODAY))


@pytest.mark.parametrize("names", [("good.csv", "bogus.csv"), ("zz_bogus.csv", "aa_good.csv")])
def test_conflicting_files_quarantine_both_rows_whatever_their_names(
    tmp_path: Path, names: tuple[str, str]
) -> None:
    good, bogus = names
    _file(tmp_path, good, _clean(n=30, price=50.0))
    # the red team's bogus file: one disagreeing day and a row dated 2099 to "end later"
    _file(tmp_path, bogus, ["2025-01-05,NVDA,9999,9999,9999,9999,1,USD", "2099-01-01,NVDA,1,1,1,1,1,USD"])
    res = read_drop(tmp_path, today=TODAY)
    reasons = _reasons(res)
    assert "conflict" in reasons[(good, 5)] and "conflict" in reasons[(bogus, 2)]
    assert "after the run date" in reasons[(bogus, 3)]
    assert res.frame["close"].to_list() == [50.0] * 29
    assert date(2025, 1, 5) not in res.frame["date"].to_list()


def test_a_file_in_the_overrides_folder_outranks_the_others(tmp_path: Path) -> None:
    _file(tmp_path, "a.csv", _clean(n=30, price=50.0))
    _file(tmp_path, f"{OVERRIDE_FOLDER}/fix.csv", ["2025-01-05,NVDA,51,51,51,51,1,USD"])
    res = read_drop(tmp_path, today=TODAY)
    assert not _reasons(res)
    assert res.frame.filter(pl.col("date") == date(2025, 1, 5))["close"].to_list() == [51.0]


def test_agreeing_files_store_one_row(tmp_path: Path) -> None:
    _file(tmp_path, "a.csv", _clean(n=30))
    _file(tmp_path, "b.csv", _clean(n=30))
    res = read_drop(tmp_path, today=TODAY)
    assert res.frame.height == 30 and not _reasons(res)


def test_a_mostly_bad_source_is_refused_whole(tmp_path: Path) -> None:
    _file(
        tmp_path, "a.csv", [*_clean(n=10), *(f"{d},NVDA,1,1,1,-1,1,USD" for d in _days(20, date(2025, 3, 1)))]
    )
    res = read_drop(tmp_path, today=TODAY)
    assert res.frame.height == 0
    (why,) = [w for p, w in res.refused_files.items() if p == str(tmp_path)]
    assert "20 of 30 rows" in why and "quarantine_share" in why


def test_rules_are_declared_with_a_severity() -> None:
    names = [r.name for r in PLAUSIBILITY_RULES]
    assert len(names) == len(set(names)) and {r.severity for r in PLAUSIBILITY_RULES} == {
        "quarantine",
        "refuse",
    }


@pytest.mark.parametrize(
    ("car", "t_stat", "bad"),
    [
        (0.05, 2.0, False),
        (2.1e306, float("inf"), True),
        (float("inf"), 1.0, True),
        (7.0, 1.0, True),
        (0.1, float("nan"), True),
    ],
)
def test_event_study_check_blocks_infinite_or_absurd_cars(car: float, t_stat: float, bad: bool) -> None:
    import duckdb

    from pipelines.assets.event_study import EVENT_STUDY_CONDITIONS
    from pipelines.schema import TABLES

    con = duckdb.connect()
    con.execute(TABLES["event_study"].ddl())
    con.execute(
        "INSERT INTO event_study (event_id, ticker, \"window\", car, t_stat, flag) VALUES ('e', 'NVDA', '[0,+5]', ?, ?, 'ok')",
        [car, t_stat],
    )
    violations = sum(
        con.execute(f"SELECT count(*) FROM event_study WHERE NOT ({c})").fetchone()[0]
        for c in EVENT_STUDY_CONDITIONS
    )
    assert (violations > 0) == bad
