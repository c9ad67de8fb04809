"""The web page through Starlette's TestClient: every route, every error path, and the
contract that a `.json` URL is byte for byte what the CLI prints for the same request."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape
from typer.testing import CliRunner

from costplan.cli import app
from costplan.engines import DuckDB
from costplan.store import Store

with warnings.catch_warnings():
    # Starlette 1.x suggests httpx2 for its TestClient; httpx works the same for these tests.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from costplan.web.app import Settings, create_app

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "examples" / "ume-raves-2020.toml"
INPUTS = ROOT / "tests" / "golden" / "costs" / "inputs"
QUICK = "borough=Lambeth&date=2020-06-25"
runner = CliRunner()
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# A request the limit allows (a minute a record): its answer releases records.
ANSWERABLE = """reference = "WEB-1"
received = 2021-12-06
requester = "Ms Example Person"
minutes_per_record = 1

[[items]]
name = "Brixton UME"
boroughs = ["Lambeth"]
date = 2020-06-25
tags = ["UME"]
"""


def esc(text: str) -> str:
    """Text as the templates write it into HTML (Jinja's escaping)."""
    return str(escape(text))


def cli(*args: str) -> Any:
    return runner.invoke(app, list(args))


@pytest.fixture(scope="module")
def client(web_store: Store) -> Iterator[TestClient]:
    cfg = Settings(web_store.root, DuckDB(), extras={"matplotlib": True, "xlsxwriter": True})
    with TestClient(create_app(cfg)) as c:
        yield c


def inputs_have_labels(html: str) -> None:
    """Every visible form control has a <label for=...> (accessible names)."""
    ids = re.findall(r'<(?:input|select|textarea)(?![^>]*type="hidden")[^>]*\bid="([^"]+)"', html)
    assert ids and len(ids) == len(set(ids))  # no two controls share an id
    for ident in ids:
        assert f'<label for="{ident}">' in html, ident


# -- triage ----------------------------------------------------------------------------------


def test_the_empty_triage_form_has_a_label_for_every_input(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert 'lang="en-GB"' in page.text and '<form action="/plan" method="get"' in page.text
    inputs_have_labels(page.text)
    assert '<option value="Lambeth">' in page.text  # the areas offered, aliases too
    assert '<option value="Barking">Barking and Dagenham</option>' in page.text


def test_a_quick_triage_shows_the_decision_strategies_advice_and_due_date(
    client: TestClient, web_store: Store
) -> None:
    page = client.get(f"/plan?{QUICK}&tag=UME&keyword=rave,+party&received=2021-12-06")
    assert page.status_code == 200
    html = page.text
    data = cli("plan", "--borough", "Lambeth", "--date", "2020-06-25", "--tag", "UME",
               "--keyword", "rave", "--keyword", "party", "--received", "2021-12-06",
               "--store", str(web_store.root), "--format", "json")  # fmt: skip
    plan = __import__("json").loads(data.stdout)
    assert plan["decision"] == "refuse"
    assert "Refuse under section 12(1)" in html
    assert f"{plan['total_hours']:,.2f} hours" in html
    assert "Verdict: <strong>covered</strong>" in html
    for strategy in plan["items"][0]["strategies"]:
        assert esc(strategy["title"]) in html and esc(strategy["caveat"]) in html
    assert "Breakdown by activity" in html and "determine held" in html
    assert "Section 16 advice" in html and esc(plan["advice"][0]["description"]) in html
    assert "Due <strong>7 January 2022</strong>" in html  # en-GB date, no leading zero
    assert "Draft letter" in html


def test_the_json_url_is_byte_for_byte_the_cli_json(client: TestClient, web_store: Store) -> None:
    query = f"{QUICK}&to=2020-06-26&time-from=22:00&time-to=04:00&tag=UME&keyword=rave"
    page = client.get(f"/plan.json?{query}")
    out = cli("plan", "--borough", "Lambeth", "--date", "2020-06-25", "--to", "2020-06-26",
              "--time-from", "22:00", "--time-to", "04:00", "--tag", "UME", "--keyword", "rave",
              "--store", str(web_store.root), "--format", "json")  # fmt: skip
    assert out.exit_code == 0, out.output
    assert page.status_code == 200 and page.headers["content-type"] == "application/json"
    assert page.content == out.stdout_bytes
    assert "22:00-04:00 (overnight, into the next day)" in page.text


@pytest.mark.parametrize("areas", ["Brixton", "Central South", "Lambeth, Haringey", "all"])
def test_groups_places_and_lists_are_the_profiles(
    client: TestClient, web_store: Store, areas: str
) -> None:
    """Areas as the store's force profile names them: places, groups, comma lists, all."""
    page = client.get("/plan.json", params={"borough": areas, "date": "2020-06-25"})
    out = cli("plan", "--borough", areas, "--date", "2020-06-25",
              "--store", str(web_store.root), "--format", "json")  # fmt: skip
    assert page.status_code == 200 and page.content == out.stdout_bytes
    html = client.get("/plan", params={"borough": areas, "date": "2020-06-25"}).text
    assert "<h2" in html and "Central South BCU (AS): Lambeth, Southwark" in html  # suggested


def test_the_letter_downloads_as_the_cli_prints_it(client: TestClient, web_store: Store) -> None:
    page = client.get(f"/plan.letter?{QUICK}&tag=UME")
    out = cli("plan", "--borough", "Lambeth", "--date", "2020-06-25", "--tag", "UME",
              "--store", str(web_store.root), "--letter")  # fmt: skip
    assert page.status_code == 200
    assert page.headers["content-disposition"] == ('attachment; filename="letter-command-line.txt"')
    assert page.content == out.stdout_bytes
    annex = client.get(f"/plan.annex?{QUICK}&tag=UME")
    out = cli("plan", "--borough", "Lambeth", "--date", "2020-06-25", "--tag", "UME",
              "--store", str(web_store.root), "--annex")  # fmt: skip
    assert annex.status_code == 200 and annex.content == out.stdout_bytes


def test_an_uncovered_date_has_no_decision(client: TestClient) -> None:
    page = client.get("/plan?borough=Lambeth&date=2019-06-25")
    assert page.status_code == 200
    assert "Not covered by the archive: no decision" in page.text
    assert "The archive holds none of the days asked about" in page.text
    data = client.get("/plan.json?borough=Lambeth&date=2019-06-25").json()
    assert data["decision"] == "uncovered" and data["lower_bound"] is True


def test_a_misspelt_area_is_the_cli_line_beside_the_field(
    client: TestClient, web_store: Store
) -> None:
    page = client.get("/plan?borough=Lamberth&date=2020-06-25")
    assert page.status_code == 400
    near = re.search(r'<p class="error" id="e-borough" role="alert">([^<]*)</p>', page.text)
    assert near and "did you mean Lambeth" in near.group(1)
    assert 'value="Lamberth"' in page.text and 'aria-invalid="true"' in page.text
    err = client.get("/plan.json?borough=Lamberth&date=2020-06-25")
    line = cli("plan", "--borough", "Lamberth", "--date", "2020-06-25",
               "--store", str(web_store.root)).stderr.strip()  # fmt: skip
    assert err.status_code == 400 and err.json()["field"] == "borough"
    assert f"costplan: error: {err.json()['error']}" == line


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ("borough=Lambeth&date=2020-06-25&time-from=22:00", "time-to", "together"),
        (QUICK + "&time-from=25:00&time-to=01:00", "time-from", "time of day"),
        ("borough=Lambeth&date=2020-13-25", "date", "must be a date"),
        ("borough=Lambeth&date=2020-06-26&to=2020-06-25", "to", "swap the dates"),
        ("borough=Lambeth&date=2020-06-25&minutes-per-record=0", "minutes-per-record", "0"),
        ("borough=Lambeth&date=2020-06-25&received=2021-02-30", "received", "date"),
        ("date=2020-06-25", "borough", "areas"),
        ("borough=Lambeth", "date", "first day"),
        ("borough=City+of+London&date=2020-06-25", "borough", "City of London Police"),
        (QUICK + "&held=perhaps", "held", "not held or not-held"),
    ],
)  # fmt: skip
def test_each_bad_field_is_named(client: TestClient, query: str, field: str, words: str) -> None:
    err = client.get(f"/plan.json?{query}")
    assert err.status_code == 400
    assert err.json()["field"] == field and words in err.json()["error"]
    page = client.get(f"/plan?{query}")
    assert page.status_code == 400 and f'id="e-{field}"' in page.text


def test_an_unknown_regime_is_shown_above_the_form(client: TestClient) -> None:
    page = client.get(f"/plan?{QUICK}&regime=narnia")
    assert (
        page.status_code == 400 and '<p class="error top" role="alert">unknown regime' in page.text
    )


def test_unknown_pages_and_formats_are_404(client: TestClient) -> None:
    assert client.get(f"/plan.xml?{QUICK}").status_code == 404
    assert client.get("/nowhere").status_code == 404
    assert client.get("/deadline.csv?received=2022-09-05").status_code == 404


# -- request files ---------------------------------------------------------------------------


def test_the_seed_request_pasted_is_refused_with_its_figures_and_advice(
    client: TestClient, web_store: Store
) -> None:
    assert client.get("/request").status_code == 200
    inputs_have_labels(client.get("/request").text)
    page = client.post("/request", data={"toml": SEED.read_text()})
    assert page.status_code == 200
    out = cli("plan", str(SEED), "--store", str(web_store.root), "--format", "json")
    plan = __import__("json").loads(out.stdout)
    assert plan["decision"] == "refuse"
    assert f"{plan['total_hours']:,.2f} hours" in page.text and "01.FOI.21.020843" in page.text
    assert all(esc(a["description"]) in page.text for a in plan["advice"])
    assert "Download the draft letter" in page.text
    assert "disclosure schedule" not in page.text  # a refusal releases nothing
    assert "A member of the public" not in page.text  # the requester is never shown
    same = client.post("/request.json", data={"toml": SEED.read_text()})
    assert same.content == out.stdout_bytes  # the CLI's JSON for the same file


def test_an_uploaded_request_file_is_planned_like_a_pasted_one(client: TestClient) -> None:
    files = {"file": ("ume.toml", SEED.read_bytes(), "application/toml")}
    uploaded = client.post("/request.json", files=files, data={"toml": ""})
    pasted = client.post("/request.json", data={"toml": SEED.read_text()})
    assert uploaded.status_code == 200 and uploaded.content == pasted.content


def test_an_answer_offers_the_disclosure_schedule_the_cli_writes(
    client: TestClient, web_store: Store, tmp_path: Path
) -> None:
    page = client.post("/request", data={"toml": ANSWERABLE})
    assert page.status_code == 200 and "Answer: within the limit" in page.text
    assert "Download the disclosure schedule (.csv)" in page.text
    assert "Ms Example Person" not in page.text
    csv = client.post("/request.csv", data={"toml": ANSWERABLE})
    assert csv.headers["content-disposition"] == 'attachment; filename="disclosure-WEB-1.csv"'
    (tmp_path / "r.toml").write_text(ANSWERABLE)
    out = tmp_path / "refs.csv"
    done = cli("plan", str(tmp_path / "r.toml"), "--store", str(web_store.root),
               "--disclose", str(out))  # fmt: skip
    assert done.exit_code == 0, done.output
    assert csv.content == out.read_bytes() and csv.text.startswith("# request: WEB-1\n")
    xlsx = client.post("/request.xlsx", data={"toml": ANSWERABLE})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    letter = client.post("/request.letter", data={"toml": ANSWERABLE})
    assert letter.status_code == 200 and "WEB-1" in letter.text
    assert "Ms Example Person" not in letter.text


def test_a_refusal_releases_nothing(client: TestClient) -> None:
    refused = client.post("/request.csv", data={"toml": SEED.read_text()})
    assert refused.status_code == 400
    assert refused.text.startswith("costplan: error: the request exceeds the limit")


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"toml": ""}, "no request given"),
        ({"toml": "reference = "}, "request"),
        ({"toml": 'reference = "x"\n[[items]]\nboroughs = ["Lamberth"]\ndate = 2020-06-25\n'},
         "did you mean Lambeth"),
        ({"toml": 'reference = "x"\nbogus = 1\n'}, "bogus"),
    ],
)  # fmt: skip
def test_a_bad_request_file_is_one_line(
    client: TestClient, data: dict[str, str], words: str
) -> None:
    page = client.post("/request", data=data)
    assert page.status_code == 400 and words in page.text
    assert client.post("/request.json", data=data).json()["error"]


def test_a_request_file_that_is_not_utf8_is_refused(client: TestClient) -> None:
    files = {"file": ("x.toml", b"\xff\xfe\x00", "application/toml")}
    page = client.post("/request.json", files=files)
    assert page.status_code == 400 and "not UTF-8" in page.json()["error"]


# -- calculators and volumes -----------------------------------------------------------------


def test_estimate_is_the_cli_estimate(client: TestClient) -> None:
    assert client.get("/estimate").status_code == 200
    page = client.get("/estimate?records=1144&minutes-per-record=3")
    assert page.status_code == 200 and "Refuse under section 12(1): 57.20 hours" in page.text
    json_url = client.get(
        "/estimate.json?records=1144&minutes-per-record=3&activity=redaction%3D300%3A2"
    )
    out = cli("estimate", "--records", "1144", "--minutes-per-record", "3",
              "--activity", "redaction=300:2", "--format", "json")  # fmt: skip
    assert json_url.content == out.stdout_bytes


def test_the_estimate_forms_have_labels(client: TestClient) -> None:
    inputs_have_labels(client.get("/estimate").text)
    for path in ("/deadline", "/volumes", "/aggregate"):
        inputs_have_labels(client.get(path).text)


def test_estimate_from_an_uploaded_sample(client: TestClient) -> None:
    files = {"sample": ("sample.txt", (INPUTS / "sample.txt").read_bytes(), "text/plain")}
    page = client.post("/estimate.json", data={"records": "370"}, files=files)
    out = cli("estimate", "--records", "370", "--sample", str(INPUTS / "sample.txt"),
              "--format", "json")  # fmt: skip
    assert page.status_code == 200 and page.content == out.stdout_bytes
    assert client.post("/estimate", data={"records": "370"}, files=files).status_code == 200


@pytest.mark.parametrize(
    ("query", "field"),
    [("records=lots", "records"), ("records=10&minutes-per-record=-1", "minutes-per-record"),
     ("activity=nonsense", None)],
)  # fmt: skip
def test_estimate_errors(client: TestClient, query: str, field: str | None) -> None:
    err = client.get(f"/estimate.json?{query}")
    assert err.status_code == 400 and err.json()["field"] == field


def test_a_sample_without_records_is_refused(client: TestClient) -> None:
    files = {"sample": ("sample.txt", b"180\n200\n", "text/plain")}
    err = client.post("/estimate.json", files=files)
    assert err.status_code == 400 and "--sample needs --records" in err.json()["error"]


def test_deadline_is_the_cli_deadline(client: TestClient) -> None:
    assert client.get("/deadline").status_code == 200
    page = client.get("/deadline?received=2022-09-05&today=2022-09-20")
    assert page.status_code == 200 and "Due 4 October 2022" in page.text
    paused = "received=2025-08-15&paused=2025-08-20:2025-08-27&regime=uk-foia-other"
    out = cli("deadline", "--received", "2025-08-15", "--paused", "2025-08-20:2025-08-27",
              "--regime", "uk-foia-other", "--format", "json", "--today", "2025-08-20")  # fmt: skip
    assert client.get(f"/deadline.json?{paused}&today=2025-08-20").content == out.stdout_bytes
    err = client.get("/deadline.json?received=someday")
    assert err.status_code == 400 and "someday" in err.json()["error"]
    assert client.get("/deadline.json").json()["field"] == "received"


def test_aggregate_is_the_cli_aggregate(client: TestClient) -> None:
    assert client.get("/aggregate").status_code == 200
    register = INPUTS / "register.csv"
    files = {"file": ("register.csv", register.read_bytes(), "text/csv")}
    page = client.post("/aggregate.json", files=files)
    out = cli("aggregate", str(register), "--format", "json")
    assert page.status_code == 200 and page.content == out.stdout_bytes
    pasted = client.post("/aggregate", data={"register": register.read_text()})
    assert pasted.status_code == 200 and "requester A" in pasted.text
    toml = INPUTS / "register.toml"
    files = {"file": ("register.toml", toml.read_bytes(), "text/plain")}
    assert (
        client.post("/aggregate.json", files=files).content
        == cli("aggregate", str(toml), "--format", "json").stdout_bytes
    )
    bad = client.post("/aggregate.json", files={"file": ("r.xls", b"x", "text/plain")})
    assert bad.status_code == 400 and bad.json()["field"] == "file"
    assert client.post("/aggregate.json", data={}).json()["field"] == "file"


def test_volumes_suppress_exactly_as_the_cli(client: TestClient, web_store: Store) -> None:
    assert client.get("/volumes").status_code == 200
    query = "period=month&by=borough&suppress-below=10"
    args = ["summary", "--store", str(web_store.root), "--period", "month", "--by", "borough",
            "--suppress-below", "10"]  # fmt: skip
    assert (
        client.get(f"/volumes.json?{query}").content == cli(*args, "--format", "json").stdout_bytes
    )
    assert client.get(f"/volumes.csv?{query}").content == cli(*args, "--format", "csv").stdout_bytes
    page = client.get(f"/volumes?{query}")
    assert page.status_code == 200 and "Lambeth" in page.text and "report" in page.text
    report = client.get(f"/volumes.report?{query}")
    assert report.status_code == 200 and "data:image/png;base64," in report.text
    assert '<iframe class="report" title="Volume chart and table' in page.text
    err = client.get("/volumes.json?by=postcode")
    assert err.status_code == 400 and err.json()["field"] == "by"


def test_volumes_without_matplotlib(web_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """No chart without the html extra: the page has its table, the report the CLI's line."""
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if the extra were not installed
    with TestClient(create_app(Settings(web_store.root, DuckDB()))) as c:
        page = c.get("/volumes?period=month")
        assert page.status_code == 200 and "<iframe" not in page.text and "<pre" in page.text
        report = c.get("/volumes.report?period=month")
        assert report.status_code == 400 and "pip install 'costplan[html]'" in report.text


# -- safety ----------------------------------------------------------------------------------


def _files(root: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in root.rglob("*")}


def test_the_page_never_writes_to_the_store(client: TestClient, web_store: Store) -> None:
    before = _files(web_store.root)
    client.get(f"/plan?{QUICK}")
    client.post("/request.csv", data={"toml": ANSWERABLE})
    client.get("/volumes?period=week")
    assert _files(web_store.root) == before


def test_safety_headers_on_every_answer(client: TestClient) -> None:
    for answer in (client.get("/"), client.get("/nowhere"), client.get("/static/htmx.min.js")):
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert "default-src 'self'" in answer.headers["content-security-policy"]
    assert "htmx" in client.get("/static/htmx.min.js").text[:200]


def test_a_token_is_needed_on_every_request(web_store: Store) -> None:
    token = "s3cret-token-for-the-test"
    with TestClient(create_app(Settings(web_store.root, DuckDB(), token=token))) as c:
        assert c.get("/").status_code == 401
        assert c.get("/", headers={"authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/", headers={"authorization": f"Bearer {token}"}).status_code == 200
        moved = c.get(f"/plan?{QUICK}&token={token}", follow_redirects=False)
        assert moved.status_code == 303 and moved.headers["location"] == f"/plan?{QUICK}"
        assert "HttpOnly" in moved.headers["set-cookie"]
        assert c.get(f"/plan.json?{QUICK}").status_code == 200  # the cookie from now on
        assert c.get("/static/style.css").status_code == 200
    with TestClient(create_app(Settings(web_store.root, DuckDB(), token=token))) as c:
        assert c.get("/static/style.css").status_code == 401  # even static files


def test_a_trusted_proxy_header_is_needed_when_set(web_store: Store) -> None:
    cfg = Settings(web_store.root, DuckDB(), trusted_header="X-Remote-User")
    with TestClient(create_app(cfg)) as c:
        assert c.get("/").status_code == 403
        assert c.get("/", headers={"x-remote-user": "officer1"}).status_code == 200


def test_on_localhost_only_this_machines_names_are_answered(web_store: Store) -> None:
    hosts = frozenset({"localhost", "127.0.0.1", "::1"})
    with TestClient(create_app(Settings(web_store.root, DuckDB(), hosts=hosts))) as c:
        assert c.get("/", headers={"host": "127.0.0.1:8000"}).status_code == 200
        assert c.get("/", headers={"host": "localhost"}).status_code == 200
        assert c.get("/", headers={"host": "[::1]:8000"}).status_code == 200
        assert c.get("/", headers={"host": "evil.example:8000"}).status_code == 421


def test_bodies_over_the_limit_are_refused(web_store: Store) -> None:
    cfg = Settings(web_store.root, DuckDB(), max_body=2048)
    with TestClient(create_app(cfg)) as c:
        big = c.post("/request", data={"toml": "x" * 5000})
        assert big.status_code == 413 and "limit of 2,048 bytes" in big.text
        files = {"file": ("big.toml", b"#" * 5000, "text/plain")}
        assert c.post("/request", files=files).status_code == 413
