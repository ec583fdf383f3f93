"""Commands that query the logs: diagnose and run, on the local files or on a Trino table."""

from __future__ import annotations

import contextlib
import shlex
from typing import TYPE_CHECKING, Annotated, Any

import typer

from alb502athena.cli.options import (
    AccountOpt,
    AwsEvidenceOpt,
    CaBundleOpt,
    CacheOpt,
    CacheSizeOpt,
    CatalogOpt,
    CloudTrailOpt,
    CloudTrailTableOpt,
    DatabaseOpt,
    EndOpt,
    EngineOpt,
    FailOnFindingsOpt,
    InsecureOpt,
    LastOpt,
    LimitOpt,
    LoadBalancerOpt,
    MaxDownloadOpt,
    MaxScanOpt,
    NoCacheOpt,
    OptionalPathsArg,
    OutputLocationOpt,
    OutputOpt,
    PasswordOpt,
    PriceOpt,
    ProfileOpt,
    RegionOpt,
    ReportOpt,
    RequestPayerOpt,
    ReuseOpt,
    SchemaOpt,
    StartOpt,
    TableOpt,
    TimeoutOpt,
    TrinoUrlOpt,
    UserOpt,
    WorkgroupOpt,
    domain_errors,
    query_params,
    settings,
)
from alb502athena.engines.athena import AthenaSettings, human_bytes
from alb502athena.engines.base import Engine
from alb502athena.engines.select import EngineRequest, open_engine
from alb502athena.errors import InputError, UsageError
from alb502athena.logfiles import Discovery
from alb502athena.progress import terminal_line
from alb502athena.render import QueryParams
from alb502athena.safetext import inert

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from alb502athena.cli.s3 import S3Run
    from alb502athena.cost import Estimate
    from alb502athena.inputs import Inputs
    from alb502athena.s3objects import WindowLister
    from alb502athena.scope import Lister


def _notes(
    found: Discovery | None,
    inputs: Inputs | None,
    bad_files: list[tuple[str, str]],
    engine: Engine,
    *,
    folders: bool,
    damaged: Sequence[str] = (),
    unit: str,
) -> None:
    """What changed how the input was read, on stderr. A window that holds no file is said once, by
    the verdict or run's error; folders that could not be listed only where no verdict says them."""
    for note in engine.notes:
        typer.echo(f"Note: {inert(note)}", err=True)
    if found is not None and inputs is not None:
        for ignored, why in found.ignored:
            typer.echo(f"Note: ignored {inert(ignored)}: {why}", err=True)
        if found.outside_window and found.files:
            typer.echo(
                f"Note: skipped {found.outside_window} files whose names put them outside the window",
                err=True,
            )
        aside = inputs.set_aside_sentence()
        if aside:
            typer.echo(f"Note: {inert(aside)}", err=True)
        for sentence in inputs.links_sentences():
            typer.echo(f"Note: {inert(sentence)}", err=True)
        if folders:
            for folder, why in inputs.unreadable:
                typer.echo(f"Warning: could not read folder {inert(folder, 300)}: {why}", err=True)
            # Where a diagnosis is made they are among its bad files (inputs.gather), said just below.
            bad_files = [*inputs.not_regular, *bad_files]
    for path, reason in bad_files:
        if path in damaged:
            typer.echo(f"Warning: {inert(path)} is damaged and was read in part: {inert(reason)}", err=True)
            continue
        typer.echo(
            f"Warning: could not read {inert(path)}: {inert(reason)}; the other {unit}s were analysed",
            err=True,
        )


def _open(
    options: dict[str, Any],
) -> tuple[Engine, Discovery | None, QueryParams, WindowLister | None, S3Run | None]:
    """The engine and query parameters from a command's options (diagnose and run share them all); for
    an s3:// folder, what the listing found too (its objects are being read once this returns)."""
    from pathlib import Path

    from alb502athena.s3source import is_s3_url

    o = options
    paths = o["paths"] or []
    table = QueryParams.table if o["engine"] == "local" else o["table"]
    if any(is_s3_url(p) for p in paths):
        from alb502athena.cli.s3 import open_s3

        if len(paths) != 1:
            raise UsageError("read one s3:// folder at a time, without local paths")
        if o["engine"] != "local":
            raise UsageError(
                f"the {o['engine']} engine reads its table: an s3:// folder is read without --engine"
            )
        params = query_params(o["last"], o["start"], o["end"], o["load_balancer"], table)
        s3_engine, s3 = open_s3(o, paths[0], params)
        return s3_engine, None, params, None, s3
    athena = settings(AthenaSettings, o) if o["database"] is not None else None
    request = settings(
        EngineRequest, o, paths=[Path(p) for p in paths], athena=athena, progress=terminal_line()
    )
    params = query_params(o["last"], o["start"], o["end"], o["load_balancer"], table)
    engine, found = open_engine(request, params.window)
    lister = None
    finds: Lister | None = None
    if engine.name == "athena":  # the listing that finds the load balancers also gives the estimate
        from alb502athena.aws import client
        from alb502athena.s3objects import WindowLister

        finds = lister = WindowLister(client(engine.aws_session, "s3"), progress=terminal_line())
    elif engine.name == "trino":  # over an s3:// location, where boto3 can list it
        from alb502athena.s3objects import own_credentials_lister

        say, progress = engine.notes.append, terminal_line()
        finds = own_credentials_lister(o.get("profile"), o.get("region"), say, progress)
    local = o["engine"] == "local"
    return (
        engine,
        found,
        with_scope(engine, params, o["load_balancer"], local=local, lister=finds),
        lister,
        None,
    )


def with_scope(
    engine: Engine,
    params: QueryParams,
    load_balancer: str | None,
    local: bool,
    lister: Lister | None = None,
) -> QueryParams:
    """The parameters with the objects the queries may read (scope.resolve_scope). How they were found
    is among the engine's notes, said with the result (an error stays the one line on stderr). The
    local engine's discovery already keeps only the window's files by name (the same rule), so its
    queries read whole days of what discovery kept."""
    from dataclasses import replace

    from alb502athena.engines.base import log_location
    from alb502athena.scope import resolve_scope

    if local:
        return params
    root = log_location(engine, params.table)
    scope = resolve_scope(root, params.window, load_balancer, lister=lister, say=engine.notes.append)
    return replace(params, scope=scope)


def _engine_stats(engine: Engine, estimate: Estimate | None = None) -> None:
    line = terminal_line()
    if line is not None:
        line("")  # clear the progress line
    stats = engine.last_stats
    if stats is None:
        return
    reused = ", result reused" if stats.reused else ""
    estimated = f" (estimated: {human_bytes(estimate.bytes)})" if estimate is not None else ""
    typer.echo(
        f"Athena query {stats.query_id}: {human_bytes(stats.data_scanned_bytes)} scanned{estimated}{reused}, "
        f"${stats.cost_usd:.4f} at ${stats.price_per_tb:.2f}/TB",
        err=True,
    )


@contextlib.contextmanager
def _refusals(s3: S3Run | None) -> Iterator[None]:
    """AWS refusing every GET of an s3:// folder (else "No readable log files"): said once as that, exit 3."""
    try:
        yield
    except InputError:
        refused = s3.plan.none_readable() if s3 is not None else None
        if refused is not None:
            raise refused from None
        raise


def _table_location(engine: Engine, params: QueryParams) -> str:
    """The table's location, where no scope gives it (engines.base.log_location)."""
    from alb502athena.engines.base import log_location
    from alb502athena.render import table_name

    return log_location(engine, table_name(params.table)) or ""


def _max_scan(text: str | None) -> int | None:
    """--max-scan in bytes, checked before the engine is opened or AWS asked anything."""
    from alb502athena.cost import parse_size

    return parse_size(text) if text is not None else None


def _missing_table(exc: BaseException) -> bool:
    response = getattr(exc, "response", None) or {}
    return bool(response.get("Error", {}).get("Code") == "EntityNotFoundException")


def _athena_estimate(
    engine: Engine,
    params: QueryParams,
    options: dict[str, Any],
    lister: WindowLister | None,
) -> Estimate | None:
    """Before a query on Athena: the bytes it will read, from one S3 listing of the window's day
    folders, said on stderr; a query estimated above --max-scan is not started (UsageError, exit 2).
    The query's scope (its `"$path"` ranges; None: whole `day` partitions) is in `params`; `lister` is
    the one that found it (scope.resolve_scope's `lister=`), whose listing is used again."""
    from alb502athena.aws import translate
    from alb502athena.cost import estimate
    from alb502athena.objectname import KIND_LABELS

    max_scan: int | None = options["max_scan_bytes"]
    if lister is None:  # made for Athena only: nothing else bills by the byte
        return None
    scope = params.scope
    try:
        root = scope.root if scope is not None else _table_location(engine, params)
    except Exception as exc:
        translated = translate(exc, f"reading the Glue table of {params.table}")
        if translated is None:
            raise
        # Athena needs the table's definition too: its query would fail the same way, with the
        # `alb502 ddl` hint where the table is missing, which the query's own error then says.
        if _missing_table(exc) and max_scan is None:
            return None
        raise translated from None
    listing = lister.listing_for(root, params.window) if root else None
    if listing is None:
        why = (
            "the window has no start or end: use --last or --start"
            if params.window.start is None or params.window.end is None
            else f"the table's location {root!r} is not an s3:// folder"
            if root
            else "the table has no location"
        )
        if max_scan is not None:
            raise UsageError(f"--max-scan: the bytes Athena would read cannot be estimated ({why})")
        typer.echo(f"Note: the bytes Athena will read are not known before the query: {inert(why)}", err=True)
        return None
    found = estimate(listing, scope, options["price_per_tb"])
    typer.echo(inert(found.sentence()), err=True)
    # Other ELB logs only: a name that is no ELB object's may hold anything.
    aside = listing.set_aside_sentence(tuple(KIND_LABELS))
    if aside is not None and scope is None:
        typer.echo(
            f"Note: the day folders also hold {inert(aside)}: the query reads them (billed) as all-NULL rows",
            err=True,
        )
    found.refuse_above(max_scan)
    return found


# The options that choose the rows a hint's `alb502 run` reads, as the user gave them. The password is
# left out on purpose: a hint is printed, and the environment variable supplies it again.
_HINT_OPTIONS = (
    ("--load-balancer", "load_balancer", None),
    ("--last", "last", None),
    ("--start", "start", None),
    ("--end", "end", None),
    ("--table", "table", QueryParams.table),
    ("--trino-url", "trino_url", None),
    ("--catalog", "catalog", EngineRequest.catalog),
    ("--schema", "schema", EngineRequest.schema),
    ("--user", "user", None),
    ("--ca-bundle", "ca_bundle", None),
    ("--database", "database", None),
    ("--workgroup", "workgroup", None),
    ("--output-location", "output_location", None),
    ("--profile", "profile", None),
    ("--region", "region", None),
    ("--account", "account", None),
    ("--request-payer", "request_payer", None),
)
_LOCAL_HINT = ("load_balancer", "last", "start", "end")  # the rest name a remote engine's table
# Reading S3: the options that choose the objects, and the AWS ones.
_S3_HINT = (*_LOCAL_HINT, "account", "request_payer", "profile")


def _rows_hint(options: dict[str, Any]) -> str:
    """The `alb502 run` command that shows a finding's rows, with every option of the user's that
    narrows them (source, engine, table, load balancer, window), shell-quoted."""
    from alb502athena.cli.s3 import region_given
    from alb502athena.s3source import is_s3_url

    o = options
    local = o["engine"] == "local"
    allowed: tuple[str, ...] = _LOCAL_HINT
    if any(is_s3_url(p) for p in o.get("paths") or []):
        allowed = (*_S3_HINT, "region") if region_given(o.get("ctx")) else _S3_HINT
    parts = ["alb502", "run", "{id}"]
    parts += (
        [shlex.quote(str(p)) for p in o["paths"] or []] if local else ["--engine", shlex.quote(o["engine"])]
    )
    for flag, name, default in _HINT_OPTIONS:
        value = o.get(name)
        if value is not None and value != default and (not local or name in allowed):
            parts += [flag, shlex.quote(str(value))]
    if not local and o.get("insecure"):
        parts.append("--insecure")
    return " ".join(parts).replace("{", "{{").replace("}", "}}").replace("{{id}}", "{id}")


@domain_errors
def diagnose(
    ctx: typer.Context,
    paths: OptionalPathsArg = None,
    output: OutputOpt = "table",
    last: LastOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    load_balancer: LoadBalancerOpt = None,
    fail_on_findings: FailOnFindingsOpt = False,
    aws_evidence: AwsEvidenceOpt = None,
    cloudtrail: CloudTrailOpt = None,
    report: ReportOpt = None,
    cloudtrail_table: CloudTrailTableOpt = None,
    engine: EngineOpt = "local",
    table: TableOpt = QueryParams.table,
    trino_url: TrinoUrlOpt = None,
    catalog: CatalogOpt = EngineRequest.catalog,
    schema: SchemaOpt = EngineRequest.schema,
    user: UserOpt = None,
    password: PasswordOpt = None,
    ca_bundle: CaBundleOpt = None,
    insecure: InsecureOpt = False,
    database: DatabaseOpt = None,
    workgroup: WorkgroupOpt = None,
    output_location: OutputLocationOpt = None,
    profile: ProfileOpt = None,
    region: RegionOpt = None,
    reuse_minutes: ReuseOpt = None,
    timeout: TimeoutOpt = AthenaSettings.timeout,
    price_per_tb: PriceOpt = AthenaSettings.price_per_tb,
    max_scan: MaxScanOpt = None,
    account: AccountOpt = None,
    request_payer: RequestPayerOpt = None,
    max_download: MaxDownloadOpt = None,
    cache: CacheOpt = None,
    no_cache: NoCacheOpt = False,
    cache_size: CacheSizeOpt = "2GiB",
) -> None:
    """Classify every HTTP 502 in the logs and say what to do next.

    Example: alb502 diagnose ./logs --last 2h --output json

    Straight from the log bucket (a window is needed): alb502 diagnose s3://my-alb-logs/prod --last 1h

    On Athena: alb502 diagnose --engine athena --database alb --table alb_logs --workgroup alb502 --last 6h

    On a Trino table: alb502 diagnose --engine trino --trino-url https://trino:8443 --schema alb --last 2h
    """
    if report is not None:  # before the scan: a bad path must not cost the verdict
        from alb502athena.cli.faults import check_output_file

        check_output_file(report, "--report")
    if cloudtrail_table is not None and engine == "local":
        raise UsageError("--cloudtrail-table needs --engine athena or trino; use --cloudtrail FILES locally")
    if cloudtrail_table is not None:
        from alb502athena.render import table_name

        table_name(cloudtrail_table)  # before the diagnosis' query, which may be billed
    # Imported here, not at the top: `alb502 --help` must not pay for the diagnosis and its output.
    from alb502athena.diagnosis import diagnose as run_diagnosis
    from alb502athena.diagnosis import diagnose_with_samples, signature_samples
    from alb502athena.inputs import gather as gather_inputs
    from alb502athena.output import render_diagnosis

    max_scan_bytes = _max_scan(max_scan)
    engine_, found, params, lister, s3 = _open(dict(locals()))
    estimate = _athena_estimate(engine_, params, dict(locals()), lister)
    try:
        with _refusals(s3):
            samples = None
            if report is not None and engine != "athena":  # from the diagnosis' scan where it can
                result, samples = diagnose_with_samples(engine_, params)
            else:
                result = run_diagnosis(engine_, params)
    finally:
        if s3 is not None:
            s3.finish()
    if estimate is not None and result.engine_stats is not None:  # beside Athena's figure, for scripts
        result.engine_stats["estimated_bytes"] = estimate.bytes
    _engine_stats(engine_, estimate)
    aws = None
    if aws_evidence if aws_evidence is not None else engine == "athena":
        from alb502athena.aws import session
        from alb502athena.evidence.gather import gather

        aws = engine_.aws_session or session(profile, region)
        gather(result, aws)
    if aws is not None or cloudtrail or cloudtrail_table:
        from alb502athena.evidence.cloudtrail import add_correlations

        add_correlations(result, engine_, aws, cloudtrail or [], cloudtrail_table)
    listed, heads = s3.inputs() if s3 is not None else (None, None)
    inputs = gather_inputs(result, found, engine_, listed, heads)
    _notes(
        found, inputs if found is not None else None, result.bad_files, engine_, folders=False,
        damaged=result.damaged_files, unit=inputs.unit,
    )  # fmt: skip
    for note in result.notes:
        typer.echo(f"Note: {inert(note)}", err=True)
    # color=True: the text holds colour codes only where output.Screen found a terminal (or FORCE_COLOR).
    typer.echo(render_diagnosis(result, output, rows_hint=_rows_hint(dict(locals()))), nl=False, color=True)
    if report is not None:  # after the verdict: a disk that fills up now cannot take it away
        from alb502athena.report import write_report

        if samples is None:
            samples = {}
            if engine != "athena":  # the samples query is one more scan (Trino); billed on Athena
                samples = signature_samples(engine_, params, [f.signature.id for f in result.findings])
        try:
            write_report(result, report, samples)
        except OSError as exc:
            raise UsageError(
                f"--report {report} could not be written: {exc.strerror or exc} (the verdict was printed)"
            ) from None
        typer.echo(f"Report: {report}", err=True)
    verdict = result.verdict()
    if output in ("json", "csv"):  # the table and markdown print them; a script's reader sees them here
        for warning in verdict.warnings:
            typer.echo(f"Warning: {warning}", err=True)
    if verdict.exit_code:  # nothing to diagnose is an input error, whatever the format
        typer.echo(f"Error: {verdict.headline}", err=True)
        raise typer.Exit(verdict.exit_code)
    if fail_on_findings and result.totals.elb_502 > 0:
        raise typer.Exit(1)


@domain_errors
def run(
    ctx: typer.Context,
    signature: Annotated[str, typer.Argument(help="Signature id (see `alb502 list`).")],
    paths: OptionalPathsArg = None,
    output: OutputOpt = "table",
    last: LastOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    load_balancer: LoadBalancerOpt = None,
    limit: LimitOpt = 100,
    engine: EngineOpt = "local",
    table: TableOpt = QueryParams.table,
    trino_url: TrinoUrlOpt = None,
    catalog: CatalogOpt = EngineRequest.catalog,
    schema: SchemaOpt = EngineRequest.schema,
    user: UserOpt = None,
    password: PasswordOpt = None,
    ca_bundle: CaBundleOpt = None,
    insecure: InsecureOpt = False,
    database: DatabaseOpt = None,
    workgroup: WorkgroupOpt = None,
    output_location: OutputLocationOpt = None,
    profile: ProfileOpt = None,
    region: RegionOpt = None,
    reuse_minutes: ReuseOpt = None,
    timeout: TimeoutOpt = AthenaSettings.timeout,
    price_per_tb: PriceOpt = AthenaSettings.price_per_tb,
    max_scan: MaxScanOpt = None,
    account: AccountOpt = None,
    request_payer: RequestPayerOpt = None,
    max_download: MaxDownloadOpt = None,
    cache: CacheOpt = None,
    no_cache: NoCacheOpt = False,
    cache_size: CacheSizeOpt = "2GiB",
) -> None:
    """Show the requests behind one signature (its own query, run on the logs).

    Example: alb502 run connect-failed ./logs --start 2026-11-20T10:00Z --end 2026-11-20T11:00Z
    """
    from alb502athena.diagnosis import signature_stream
    from alb502athena.inputs import FILE, OBJECT, from_discovery
    from alb502athena.output import write_rows
    from alb502athena.verdict import no_file_in_window

    def echo(text: str) -> None:
        # color=True: the text holds colour codes only where output.Screen found a terminal.
        typer.echo(text, nl=False, color=True)

    max_scan_bytes = _max_scan(max_scan)
    engine_, found, params, lister, s3 = _open(dict(locals()))
    estimate = _athena_estimate(engine_, params, dict(locals()), lister)
    # The limit is in the query, one row past it to know whether more match: the engine never returns
    # more. Without one the rows are written as they are fetched, a batch at a time.
    with contextlib.ExitStack() as stack:
        if s3 is not None:  # the progress bar goes before the rows are written, or an error
            stack.callback(s3.finish)
        with _refusals(s3):
            result = stack.enter_context(
                signature_stream(engine_, signature, params, limit + 1 if limit else None)
            )
        if s3 is not None:
            s3.finish()
        _engine_stats(engine_, estimate)
        inputs = from_discovery(found) if found is not None else None
        _notes(
            found, inputs, result.bad_files, engine_, folders=True, damaged=result.damaged_files,
            unit=FILE if s3 is None else OBJECT,
        )  # fmt: skip
        if limit:
            rows = [r for batch in result.batches for r in batch]
            if len(rows) > limit:
                rows = rows[:limit]
                typer.echo(
                    f"Note: showing the first {limit} rows; more match (--limit 0 shows all)", err=True
                )
            write_rows(result.columns, [rows], output, echo)
        else:
            write_rows(result.columns, result.batches, output, echo)
    nothing = no_file_in_window(inputs) if inputs is not None else None
    if nothing is not None:  # "No matching rows" must not read as an all-clear
        typer.echo(f"Error: {inert(nothing)}", err=True)
        raise typer.Exit(InputError.exit_code)
