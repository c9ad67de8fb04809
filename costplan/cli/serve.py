"""The web page: `costplan serve` (costplan.web) on the store the other commands read."""

import ipaddress
from pathlib import Path
from typing import Annotated

import typer

from costplan.cli._app import app
from costplan.cli._options import (
    EngineName,
    EngineOption,
    SparkMasterOption,
    StoreOption,
    engine_of,
    open_store,
)
from costplan.errors import InputError

# A token shorter than this can be guessed; `python -c "import secrets;
# print(secrets.token_urlsafe())"` makes a good one.
MIN_TOKEN = 16


def is_loopback(host: str) -> bool:
    """Whether an address is reachable only from this machine."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything


def check_access(host: str, token: str | None, trusted_header: str | None) -> None:
    """Serving beyond this machine needs an access control (README, "The web page").

    Raises:
        InputError: another address without --token or --trusted-header, or a weak token.
    """
    if token is not None and len(token) < MIN_TOKEN:
        raise InputError(
            f"--token: must be at least {MIN_TOKEN} characters",
            "make one with: python -c 'import secrets; print(secrets.token_urlsafe())'",
        )
    if trusted_header is not None and not trusted_header.strip():
        raise InputError("--trusted-header: must name a header", "e.g. X-Remote-User")
    if not is_loopback(host) and token is None and trusted_header is None:
        raise InputError(
            f"--host {host}: serving beyond this machine needs an access control",
            "give --token (or COSTPLAN_WEB_TOKEN), or --trusted-header behind an "
            "authenticating reverse proxy",
        )


@app.command()
def serve(
    store: StoreOption = None,
    host: Annotated[
        str,
        typer.Option(
            "--host", metavar="ADDRESS", help="Address to listen on (default: this machine only)."
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", metavar="PORT", min=1, max=65535, help="Port to listen on.")
    ] = 8000,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            metavar="TOKEN",
            envvar="COSTPLAN_WEB_TOKEN",
            help="Access token every request must carry (Authorization: Bearer, or open "
            "any page once with ?token=...). Needed for an address other than localhost.",
            show_default=False,
        ),
    ] = None,
    trusted_header: Annotated[
        str | None,
        typer.Option(
            "--trusted-header",
            metavar="NAME",
            help="Behind an authenticating reverse proxy: refuse requests without header "
            "NAME (the proxy must strip it from clients' requests).",
        ),
    ] = None,
    max_upload: Annotated[
        int,
        typer.Option(
            "--max-upload", metavar="BYTES", min=1024, help="Largest request body in bytes."
        ),
    ] = 1_000_000,
    settings: Annotated[
        Path | None,
        typer.Option(
            "--settings",
            metavar="FILE",
            help="The authority's details for letters and schedules (default: shipped); a "
            "file, not - (the page reads it again for each letter).",
        ),
    ] = None,
    engine: EngineOption = EngineName.duckdb,
    spark_master: SparkMasterOption = None,
) -> None:
    """Serve the planner as a web page: triage, request files, calculators, volumes.

    Read only: the page never writes to the store. Binds to 127.0.0.1; another --host needs
    --token or --trusted-header. Every result is a URL whose query string is the request, and
    .json on its path gives the CLI's JSON.

    Example:

        costplan serve --store ./cad

        COSTPLAN_WEB_TOKEN=... costplan serve --store ./cad --host 0.0.0.0 --port 8080
    """
    import importlib.util

    from costplan._deps import optional

    check_access(host, token, trusted_header)
    for name in ("starlette", "jinja2", "python_multipart", "uvicorn"):
        optional(name)  # the extra's one-line error before the store is opened
    uvicorn = optional("uvicorn")
    from costplan.planner import load_authority
    from costplan.web.app import Settings, create_app

    if settings is not None and str(settings) == "-":
        from costplan.errors import InputError

        raise InputError("--settings -: the page reads its settings file again for each letter",
                         "give the settings as a file")  # fmt: skip
    load_authority(settings)  # a bad settings file is one line now, not on every letter
    eng = engine_of(engine, spark_master)
    root = open_store(store).root
    extras = {m: importlib.util.find_spec(m) is not None for m in ("matplotlib", "xlsxwriter")}
    local = frozenset({"localhost", "127.0.0.1", "::1", host.strip("[]").lower()})
    cfg = Settings(
        root, eng, token, trusted_header, max_upload, extras,
        hosts=local if is_loopback(host) else None, authority=settings,
    )  # fmt: skip
    typer.echo(
        f"costplan: serving {root} on http://{host}:{port}/ (read only; Ctrl+C to stop)",
        err=True,
    )
    # No access log: a ?token= URL must not land in a log file.
    uvicorn.run(
        create_app(cfg), host=host, port=port, log_level="warning", access_log=False,
        server_header=False, proxy_headers=False,
    )  # fmt: skip
