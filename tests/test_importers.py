"""Importers: canonical CSV/JSONL files, bad input, re-import, Online Retail adapter, brand, CLI output."""

from __future__ import annotations

import csv
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import shared_data
from sqlalchemy import func, select, text

from marketing_gen.cli import main
from marketing_gen.db import get_engine, session_scope
from marketing_gen.db.models import Brand, Interaction, Item, Recommendation, User
from marketing_gen.errors import InvalidRequest, ServerError
from marketing_gen.importers import import_file
from marketing_gen.importers.online_retail import build_category, build_title
from marketing_gen.importers.rows import parse_bool, parse_price, parse_timestamp

USERS_CSV = """user_id,email,first_name,last_name,locale,country,phone,email_consent,sms_consent,push_consent,tier
u1,Ann@Example.com,Ann,Lee,en,United Kingdom,07400 123001,yes,no,1,gold
u2,bob@example.com,Bob,,de_at,Austria,,true,false,0,
u3,cy@example.com,Cy,,fr,France,,no,yes,,silver
"""
ITEMS_CSV = """item_id,title,description,category,price,url,in_stock
i1,Enamel Mug,A mug.,Kitchen | Mugs,"$1,299.00",https://shop.example.com/p/i1,yes
i2,Tote Bag,,Bags,£2.55,,no
i3,Candle,,Home,12.5,,
"""


def write(tmp_path: Path, name: str, content: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode(encoding))
    return path


def count(url: str, model: type) -> int:
    with session_scope(url) as s:
        return s.scalar(select(func.count()).select_from(model))


def load_users(url: str) -> dict[str, User]:
    with session_scope(url) as s:
        return {u.external_id: u for u in s.scalars(select(User))}


def seed_catalog(tmp_path: Path, url: str) -> None:
    assert import_file("users", write(tmp_path, "u.csv", USERS_CSV), url=url).rejected == 0
    assert import_file("items", write(tmp_path, "i.csv", ITEMS_CSV), url=url).rejected == 0


# --- value parsers ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "amount", "currency"),
    [
        ("$1,299.00", Decimal("1299.00"), "USD"),
        ("£2.55", Decimal("2.55"), "GBP"),
        ("12.5", Decimal("12.50"), None),
        ("1.299,95 €", Decimal("1299.95"), "EUR"),
        ("EUR 7,50", Decimal("7.50"), "EUR"),
        (3, Decimal("3.00"), None),
        ("", None, None),
    ],
)
def test_parse_price_accepts_store_formats(raw: object, amount: Decimal | None, currency: str | None) -> None:
    assert parse_price(raw) == (amount, currency)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [("from $5", "not a price"), ("$10 - $20", "range"), ("10 to 20", "range"), ("call us", "not a price"),
     ("-4.00", "negative"), ("$", "not a price")],
)  # fmt: skip
def test_parse_price_rejects_ranges_and_text(raw: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_price(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("Yes", True), ("1", True), (1, True), ("false", False), ("NO", False), ("0", False),
     ("", None), (" ", None)],
)  # fmt: skip
def test_parse_bool(raw: object, expected: bool | None) -> None:
    assert parse_bool(raw) is expected


def test_parse_bool_rejects_other_words() -> None:
    with pytest.raises(ValueError, match="yes/no"):
        parse_bool("maybe")


def test_parse_timestamp_normalizes_to_utc() -> None:
    want = dt.datetime(2026, 3, 1, 11, 0, tzinfo=dt.timezone.utc)
    assert parse_timestamp("2026-03-01T12:00:00+01:00") == want
    assert parse_timestamp("2026-03-01 11:00:00") == want
    assert parse_timestamp("3/1/2026 11:00") == want


# --- canonical imports -----------------------------------------------------------------------------------------


def test_users_import_validates_and_records_consent(tmp_path: Path, any_db_url: str) -> None:
    path = write(tmp_path, "users.csv", USERS_CSV + "u4,not-an-email,Dee,,en,,,yes,,,\n")
    report = import_file("users", path, url=any_db_url)
    assert (report.imported, report.updated, report.rejected) == (3, 0, 1)
    assert [(e.row, e.field) for e in report.errors] == [(5, "email")]
    users = load_users(any_db_url)
    assert set(users) == {"u1", "u2", "u3"}
    u1 = users["u1"]
    assert u1.email == "Ann@example.com"
    assert (u1.consent_email, u1.consent_sms, u1.consent_push, u1.consent_ads) == (True, False, True, False)
    assert u1.consent_email_source == "import:users.csv" and u1.consent_email_at is not None
    assert u1.consent_ads_at is None  # no ads_consent column: nothing recorded
    assert u1.attributes == {"tier": "gold"}
    assert users["u2"].locale == "de-AT"
    assert users["u3"].consent_push_at is None  # blank consent cell = not given


def test_line_breaks_in_names_and_phones_are_row_errors(tmp_path: Path, sqlite_url: str) -> None:
    content = (
        "user_id,email,first_name,last_name,phone\n"
        'n1,n1@example.com,"Ann\r\nBcc: victim@example.org",Lee,\n'
        'n2,n2@example.com,Bo,"Li\nX",\n'
        'n3,n3@example.com,Cy,,"+44 7700\n900003"\n'
        'n4,n4@example.com,Di,,"+44 7700\r900004"\n'
        "n5,n5@example.com,Ed,Ng,+44 7911 123456\n"
    )
    report = import_file("users", write(tmp_path, "users.csv", content), url=sqlite_url)
    assert (report.imported, report.rejected) == (1, 4)
    assert [e.field for e in report.errors] == ["first_name", "last_name", "phone", "phone"]
    assert all("line break" in e.reason for e in report.errors)
    assert set(load_users(sqlite_url)) == {"n5"}


def test_reimport_updates_and_never_duplicates(tmp_path: Path, any_db_url: str) -> None:
    path = write(tmp_path, "users.csv", USERS_CSV)
    import_file("users", path, url=any_db_url)
    first = load_users(any_db_url)
    changed = USERS_CSV.replace("u1,Ann@Example.com,Ann,", "u1,ann.new@example.com,Annie,").replace(
        "fr,France,,no,yes", "fr,France,,yes,yes"
    )
    report = import_file("users", write(tmp_path, "users.csv", changed), url=any_db_url)
    assert (report.imported, report.updated, report.rejected) == (0, 3, 0)
    assert count(any_db_url, User) == 3
    second = load_users(any_db_url)
    assert second["u1"].first_name == "Annie" and second["u1"].email == "ann.new@example.com"
    # An unchanged consent keeps when it was given; a changed one gets the new import's time.
    assert second["u1"].consent_email_at == first["u1"].consent_email_at
    assert second["u3"].consent_email is True
    assert second["u3"].consent_email_at > first["u3"].consent_email_at


def test_items_prices_currency_and_rejections(tmp_path: Path, any_db_url: str) -> None:
    bad = "i4,Thing,,,from $5,,\ni5,Range,,,$10 - $20,,\ni6,,,,1.00,,\n"
    report = import_file("items", write(tmp_path, "items.csv", ITEMS_CSV + bad), url=any_db_url)
    assert (report.imported, report.rejected) == (3, 3)
    reasons = {e.row: (e.field, e.reason) for e in report.errors}
    assert reasons[5][0] == "price" and "from $5" in reasons[5][1]
    assert reasons[6][0] == "price" and "range" in reasons[6][1]
    assert reasons[7][0] == "title"
    with session_scope(any_db_url) as s:
        items = {i.external_id: i for i in s.scalars(select(Item))}
    assert items["i1"].price == Decimal("1299.00") and items["i1"].currency == "USD"
    assert items["i1"].category == "Kitchen > Mugs"
    assert items["i2"].price == Decimal("2.55") and items["i2"].currency == "GBP" and items["i2"].in_stock is False
    assert items["i3"].in_stock is True
    assert any(w.field == "currency" for w in report.warnings)  # 12.5 without symbol or column


def test_price_symbol_conflicting_with_currency_column_is_rejected(tmp_path: Path, sqlite_url: str) -> None:
    path = write(tmp_path, "items.csv", "item_id,title,price,currency\na,A,$5,EUR\nb,B,5,eur\n")
    report = import_file("items", path, url=sqlite_url)
    assert report.rejected == 1 and report.errors[0].row == 2 and "USD" in report.errors[0].reason
    with session_scope(sqlite_url) as s:
        assert s.scalar(select(Item.currency).where(Item.external_id == "b")) == "EUR"


def test_malformed_csv_rows_are_reported_and_the_rest_imported(tmp_path: Path, any_db_url: str) -> None:
    content = (
        "user_id,email,first_name\n"
        "a,a@example.com,Ann\n"
        "b,b@example.com,Bob,extra,fields\n"
        'c,"c@example.com"x,Cy\n'
        "d,d@example.com,Dee\n"
        'e,e@example.com,"never closed\n'
        "f,f@example.com,Fay\n"
    )
    report = import_file("users", write(tmp_path, "users.csv", content), url=any_db_url)
    assert set(load_users(any_db_url)) == {"a", "d"}
    assert report.imported == 2 and report.rejected == 3
    assert [e.row for e in report.errors] == [3, 4, 6]
    assert all(e.reason.startswith("malformed CSV") for e in report.errors)
    assert "never closed" in report.errors[-1].reason


def test_cp1252_file_is_decoded(tmp_path: Path, any_db_url: str) -> None:
    path = write(tmp_path, "items.csv", "item_id,title,price\nx1,Café crème bowl – large,€9.50\n", "cp1252")
    report = import_file("items", path, url=any_db_url)
    assert report.imported == 1
    with session_scope(any_db_url) as s:
        item = s.scalars(select(Item)).one()
    assert item.title == "Café crème bowl – large" and item.currency == "EUR"


def test_utf8_bom_header_is_recognized(tmp_path: Path, any_db_url: str) -> None:
    path = write(tmp_path, "users.csv", "\ufeffuser_id,first_name\nz1,Zoë\n")
    report = import_file("users", path, url=any_db_url)
    assert report.imported == 1 and load_users(any_db_url)["z1"].first_name == "Zoë"


def test_duplicate_ids_later_row_wins_with_warning(tmp_path: Path, any_db_url: str) -> None:
    content = "user_id,first_name\nd1,First\nd2,Other\nd1,Second\n"
    for batch_size in (10, 1):  # inside one batch, and across batches
        report = import_file("users", write(tmp_path, "u.csv", content), url=any_db_url, batch_size=batch_size)
        assert report.duplicates == 1
        assert report.warnings[0].row == 4 and "row 2" in report.warnings[0].reason
        assert load_users(any_db_url)["d1"].first_name == "Second"
    assert count(any_db_url, User) == 2


def test_missing_required_column_imports_nothing(tmp_path: Path, any_db_url: str) -> None:
    path = write(tmp_path, "items.csv", "item_id,price\ni1,1.00\ni2,2.00\n")
    with pytest.raises(InvalidRequest, match="missing required column.*title"):
        import_file("items", path, url=any_db_url)
    assert count(any_db_url, Item) == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"PK\x03\x04rest", "Excel"), (b"user_id\x00\n", "NUL"), (b"user_id\n\x81\x8d\n", "UTF-8")],
)
def test_unreadable_files_are_fatal(tmp_path: Path, sqlite_url: str, content: bytes, message: str) -> None:
    path = tmp_path / "users.csv"
    path.write_bytes(content)
    with pytest.raises(InvalidRequest, match=message):
        import_file("users", path, url=sqlite_url)
    with pytest.raises(InvalidRequest, match="no such file"):
        import_file("users", tmp_path / "absent.csv", url=sqlite_url)


def test_interactions_resolve_ids_and_reject_bad_rows(tmp_path: Path, any_db_url: str) -> None:
    seed_catalog(tmp_path, any_db_url)
    content = (
        "user_id,item_id,event,timestamp,quantity\n"
        "u1,i1,purchase,2026-01-01T10:00:00Z,2\n"
        "u1,i2,view,2026-01-01 10:05:00,\n"
        "u2,i1,purchase,2026-01-02T10:00:00Z,-3\n"
        "ghost,i1,view,2026-01-02T10:00:00Z,1\n"
        "u2,nope,view,2026-01-02T10:00:00Z,1\n"
        "u2,i3,click,2026-01-02T10:00:00Z,1\n"
    )
    path = write(tmp_path, "interactions.csv", content)
    report = import_file("interactions", path, url=any_db_url)
    assert (report.imported, report.rejected) == (2, 4)
    by_row = {e.row: e for e in report.errors}
    assert by_row[4].field == "quantity" and "negative" in by_row[4].reason
    assert by_row[5].field == "user_id" and "unknown" in by_row[5].reason
    assert by_row[6].field == "item_id"
    assert by_row[7].field == "event"
    again = import_file("interactions", path, url=any_db_url)
    assert (again.imported, again.updated) == (0, 2)
    assert count(any_db_url, Interaction) == 2
    with session_scope(any_db_url) as s:
        assert s.scalar(select(Interaction.quantity).where(Interaction.event == "purchase")) == 2


def test_jsonl_import_reports_malformed_lines(tmp_path: Path, any_db_url: str) -> None:
    seed_catalog(tmp_path, any_db_url)
    lines = [
        {"user_id": "u1", "item_id": "i2", "rank": 1, "score": 0.9},
        "{not json",
        {"user_id": "u1", "item_id": "i3", "rank": 2},
        ["a", "list"],
        {"user_id": "u2", "item_id": "i1", "rank": 0},
    ]
    path = tmp_path / "recs.jsonl"
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    report = import_file("recommendations", path, url=any_db_url)
    assert (report.imported, report.rejected) == (2, 3)
    assert [(e.row, e.field) for e in report.errors] == [(2, "row"), (4, "row"), (5, "rank")]
    with session_scope(any_db_url) as s:
        recs = s.execute(select(Recommendation.rank, Recommendation.source).order_by(Recommendation.rank)).all()
    assert recs == [(1, "upstream"), (2, "upstream")]


def test_json_array_and_tab_separated_files(tmp_path: Path, sqlite_url: str) -> None:
    users = [{"User ID": "j1", "email": "j1@example.com", "email_consent": True}, {"User ID": 42, "email": None}]
    path = tmp_path / "users.json"
    path.write_text(json.dumps(users))
    assert import_file("users", path, url=sqlite_url).imported == 2
    tsv = write(tmp_path, "more.tsv", "user_id\tfirst_name\tnote\nt1\tTia\thas, a comma\n")
    assert import_file("users", tsv, url=sqlite_url).imported == 1
    loaded = load_users(sqlite_url)
    assert loaded["j1"].consent_email is True and "42" in loaded
    assert (loaded["t1"].first_name, loaded["t1"].attributes) == ("Tia", {"note": "has, a comma"})


@pytest.mark.parametrize("quantity", ["1e12", "inf", "2.5", "lots"])
def test_absurd_quantities_are_rejected(tmp_path: Path, sqlite_url: str, quantity: str) -> None:
    seed_catalog(tmp_path, sqlite_url)
    path = write(tmp_path, "x.csv", f"user_id,item_id,event,timestamp,quantity\nu1,i1,cart,2026-01-01,{quantity}\n")
    report = import_file("interactions", path, url=sqlite_url)
    assert report.rejected == 1 and report.errors[0].field == "quantity"


def test_recommendations_file_replaces_each_listed_users_upstream_list(tmp_path: Path, any_db_url: str) -> None:
    seed_catalog(tmp_path, any_db_url)
    first = "user_id,item_id,rank,score\nu1,i1,1,0.9\nu1,i2,2,0.5\nu2,i1,1,0.7\n"
    assert import_file("recommendations", write(tmp_path, "r.csv", first), url=any_db_url).imported == 3
    second = "user_id,item_id,rank,score\nu1,i3,1,0.8\nu1,i1,2,0.4\n"
    report = import_file("recommendations", write(tmp_path, "r.csv", second), url=any_db_url)
    assert (report.imported, report.updated) == (1, 1)
    assert report.tables["recommendations_removed"] == {"deleted": 1}
    with session_scope(any_db_url) as s:
        rows = s.execute(
            select(User.external_id, Item.external_id, Recommendation.rank)
            .join(User, User.id == Recommendation.user_id)
            .join(Item, Item.id == Recommendation.item_id)
            .order_by(User.external_id, Recommendation.rank)
        ).all()
    assert rows == [("u1", "i3", 1), ("u1", "i1", 2), ("u2", "i1", 1)]  # u2 is not in the file: kept


def test_failed_batch_is_rolled_back_and_earlier_batches_kept(tmp_path: Path, any_db_url: str) -> None:
    engine = get_engine(any_db_url)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(
                text(
                    "CREATE TRIGGER boom BEFORE INSERT ON users WHEN NEW.external_id = 'boom' "
                    "BEGIN SELECT RAISE(ABORT, 'boom row'); END"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN IF NEW.external_id = 'boom' THEN "
                    "RAISE EXCEPTION 'boom row'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(text("CREATE TRIGGER boom BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION boom()"))
    path = write(tmp_path, "users.csv", "user_id\na\nb\nc\nboom\nd\n")
    with pytest.raises(ServerError, match=r"batch 2 \(rows 4–5\).*rolled back.*2 rows from earlier"):
        import_file("users", path, url=any_db_url, batch_size=2)
    assert set(load_users(any_db_url)) == {"a", "b"}  # batch 2 (c, boom) left nothing behind


def test_import_without_schema_says_to_upgrade(tmp_path: Path) -> None:
    path = write(tmp_path, "users.csv", USERS_CSV)
    with pytest.raises(InvalidRequest, match="db upgrade"):
        import_file("users", path, url=f"sqlite:///{tmp_path / 'empty.db'}")


# --- brand -----------------------------------------------------------------------------------------------------


def test_brand_upserts_the_single_row(tmp_path: Path, any_db_url: str) -> None:
    brand = {
        "name": "Northwind",
        "banned_terms": ["miracle"],
        "website_url": "https://shop.example.com",
        "offer_policy": {"max_discount_pct": 10, "allowed_domains": ["Shop.Example.com"]},
    }
    path = tmp_path / "brand.json"
    path.write_text(json.dumps(brand))
    assert import_file("brand", path, url=any_db_url).imported == 1
    with session_scope(any_db_url) as s:
        assert s.scalars(select(Brand)).one().open_tracking is True  # the open pixel is on by default
    path.write_text(json.dumps({**brand, "name": "Northwind Outfitters", "voice": "calm", "open_tracking": False}))
    assert import_file("brand", path, url=any_db_url).updated == 1
    with session_scope(any_db_url) as s:
        rows = s.scalars(select(Brand)).all()
    assert len(rows) == 1 and rows[0].open_tracking is False
    assert (rows[0].name, rows[0].voice, rows[0].banned_terms) == ("Northwind Outfitters", "calm", ["miracle"])
    assert rows[0].offer_policy["allowed_domains"] == ["shop.example.com"]
    path.write_text(json.dumps({"name": "X", "unsubscribe_url_template": "https://x/u", "colour": "red"}))
    bad = import_file("brand", path, url=any_db_url)
    assert not bad.ok and {e.field for e in bad.errors} == {"unsubscribe_url_template", "colour"}


# --- Online Retail ---------------------------------------------------------------------------------------------


def test_online_retail_bad_rows(tmp_path: Path, any_db_url: str) -> None:
    header = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country,Revenue,Month\n"
    rows = (
        "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom,15.3,12\n"
        "536366,85123A,WHITE HANGING HEART T-LIGHT HOLDER,2,2010-12-02 09:00:00,2.95,13047.0,EIRE,5.9,12\n"
        "536367,22633,HAND WARMER UNION JACK,6,2010-12-01 08:28:00,1.85,,United Kingdom,11.1,12\n"
        "C536379,D,Discount,-1,2010-12-01 09:41:00,27.5,14527.0,United Kingdom,-27.5,12\n"
        "536380,22961,JAM MAKING SET PRINTED,-2,2010-12-01 09:41:00,1.45,17850.0,United Kingdom,-2.9,12\n"
    )
    report = import_file("online-retail", write(tmp_path, "or.csv", header + rows), url=any_db_url)
    assert report.tables["users"]["imported"] == 2 and report.tables["items"]["imported"] == 1
    assert (report.imported, report.rejected) == (2, 3)
    reasons = {e.row: (e.field, e.reason) for e in report.errors}
    assert reasons[4] == ("CustomerID", reasons[4][1]) and "missing CustomerID" in reasons[4][1]
    assert "cancelled" in reasons[5][1] or "negative" in reasons[5][1]
    assert reasons[6][0] == "Quantity" and "negative" in reasons[6][1]
    with session_scope(any_db_url) as s:
        item = s.scalars(select(Item)).one()
        users = {u.external_id: u for u in s.scalars(select(User))}
    assert item.price == Decimal("2.95") and item.currency == "GBP"  # the most recent price
    assert item.title == "White Hanging Heart T-Light Holder" and item.category == "Candles & Lights"
    assert (users["13047"].country, users["13047"].locale) == ("Ireland", "en")
    assert users["17850"].consent_email is False and users["17850"].email is None


def test_online_retail_real_file(sqlite_url: str) -> None:
    path = shared_data("uci_online_retail_first_week_sample.csv")
    with path.open(encoding="utf-8") as fh:
        lines = list(csv.DictReader(fh))
    report = import_file("online-retail", path, url=sqlite_url)
    assert report.tables["users"]["imported"] == len({r["CustomerID"] for r in lines}) == 390
    assert report.tables["items"]["imported"] == len({r["StockCode"] for r in lines}) == 1822
    purchases = {(r["CustomerID"], r["StockCode"], r["InvoiceDate"]) for r in lines}
    assert report.imported == count(sqlite_url, Interaction) == len(purchases)
    assert report.rejected == 0 and report.duplicates == len(lines) - len(purchases)
    with session_scope(sqlite_url) as s:
        categories = dict(s.execute(select(Item.category, func.count()).group_by(Item.category)).all())
        locales = set(s.scalars(select(User.locale)))
    assert categories.get("other", 0) < 0.25 * 1822  # keywords give most items a category for interests
    assert {"en", "de", "fr"} <= locales
    again = import_file("online-retail", path, url=sqlite_url)
    assert (again.imported, again.updated) == (0, len(purchases))
    assert count(sqlite_url, User) == 390 and count(sqlite_url, Item) == 1822


def test_build_title_and_category() -> None:
    assert build_title("DOLLY GIRL'S LUNCH BOX") == "Dolly Girl's Lunch Box"
    assert build_title("SET OF 3 CAKE TINS PANTRY DESIGN") == "Set of 3 Cake Tins Pantry Design"
    assert build_category("PAPER CHAIN KIT 50'S CHRISTMAS") == "Christmas"
    assert build_category("RED RETROSPOT MUGS") == "Kitchen & Dining"
    assert build_category("SOMETHING UNHEARD OF") == "other"


# --- CLI -------------------------------------------------------------------------------------------------------


def test_cli_json_shape_and_exit_codes(tmp_path: Path, settings_env: None) -> None:
    runner = CliRunner()
    path = write(tmp_path, "users.csv", USERS_CSV + "u9,bad-email,,,,,,,,,\n")
    result = runner.invoke(main, ["import", "users", str(path), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["imported"], out["updated"], out["rejected"]) == (3, 0, 1)
    assert out["errors"] == [{"row": 5, "field": "email", "reason": out["errors"][0]["reason"]}]
    assert out["errors_truncated"] == 0

    all_bad = write(tmp_path, "bad.csv", "user_id,email\nx,nope\ny,nope\n")
    result = runner.invoke(main, ["import", "users", str(all_bad), "--json"])
    assert result.exit_code == 1 and json.loads(result.stdout)["rejected"] == 2

    fatal = write(tmp_path, "fatal.csv", "email\na@example.com\n")
    result = runner.invoke(main, ["import", "users", str(fatal), "--json"])
    assert result.exit_code == 2  # an unusable file is bad input
    assert "user_id" in json.loads(result.stdout)["fatal"]

    result = runner.invoke(main, ["import", "users", str(path)])
    assert result.exit_code == 0 and "0 imported, 3 updated, 1 rejected" in result.output

    header_only = write(tmp_path, "empty.csv", "user_id,email\n")
    result = runner.invoke(main, ["import", "users", str(header_only)])
    assert result.exit_code == 1 and "no data rows" in result.stderr


def test_cli_caps_errors_at_100(tmp_path: Path, settings_env: None) -> None:
    content = "user_id,email\nok,ok@example.com\n" + "".join(f"x{i},bad{i}\n" for i in range(150))
    result = CliRunner().invoke(main, ["import", "users", str(write(tmp_path, "u.csv", content)), "--json"])
    out = json.loads(result.stdout)
    assert result.exit_code == 0 and out["rejected"] == 150
    assert len(out["errors"]) == 100 and out["errors_truncated"] == 50


def test_every_import_command_has_help() -> None:
    runner = CliRunner()
    for kind in ("users", "items", "interactions", "recommendations", "online-retail", "brand"):
        result = runner.invoke(main, ["import", kind, "--help"])
        assert result.exit_code == 0 and "--json" in result.output
    assert "--rows" in runner.invoke(main, ["bench", "import", "--help"]).output
