"""The ``synthpipe`` command line.

One function per command; what the commands print and how they end (errors, ``--json``,
progress bars, signals) is in :mod:`synthpipe.terminal`, and each command's work in the
package (a command body is a call and its output). Most of the module's length is typer's
option declarations, one per CLI flag, which is why it stays one file.

Heavy libraries (torch, sdv, great_expectations, prefect) are imported inside the commands so
that ``synthpipe --help`` answers at once. Errors synthpipe raises on purpose are printed as one
readable line with exit code 2 (a quarantined run exits with 3); ``--debug`` shows the traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from synthpipe.errors import SynthpipeError
from synthpipe.terminal import (
    ProgressBars,
    Terminated,
    console,
    emit_json,
    fail,
    out_console,
    setup_output,
    stdout_for_json,
    stop_on_sigterm,
    stopped,
    usage_error,
)

app = typer.Typer(
    name="synthpipe",
    help="Synthetic tabular data with PII protection, fidelity and privacy gates.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show tracebacks.")]
JsonOpt = Annotated[
    bool,
    typer.Option("--json", help="Print one JSON object on stdout (progress and logs: stderr)."),
]
VerboseOpt = Annotated[
    bool, typer.Option("--verbose", "-v", help="Show Prefect's and synthpipe's INFO logs.")
]


@app.command()
def run(
    table: Annotated[
        Path | None, typer.Option(help="Input .parquet or .csv (default: bundled sample claims).")
    ] = None,
    target: Annotated[str | None, typer.Option(help="Label column (e.g. is_fraud).")] = None,
    model: Annotated[
        str | None, typer.Option(help="tabddpm (default) | argn | tvae | ctgan | flow | auto.")
    ] = None,
    epochs: Annotated[
        int | None, typer.Option(help="Training epochs, exactly (default: to convergence).")
    ] = None,
    time_budget: Annotated[
        str | None, typer.Option(help="Cap on training time: 90s | 10m | 1h [2m].")
    ] = None,
    rows: Annotated[int | None, typer.Option(help="Synthetic rows (default: train size).")] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder [runs/<table>-<UTC>].")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    device: Annotated[str | None, typer.Option(help="auto | cpu | cuda.")] = None,
    config: Annotated[Path | None, typer.Option(help="YAML/JSON run config file.")] = None,
    metadata: Annotated[
        Path | None, typer.Option(help="YAML/JSON file overriding column kinds.")
    ] = None,
    expectations: Annotated[
        Path | None, typer.Option(help="Great Expectations suite (JSON) for the input contract.")
    ] = None,
    na_values: Annotated[
        list[str] | None, typer.Option("--na-values", help="Extra missing markers (repeatable).")
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="Text encoding of a CSV table (default utf-8).")
    ] = None,
    rebalance: Annotated[
        str | None, typer.Option(help="Target shares/counts: 0.5 | Y=0.3,N=0.7 | Y=500,N=1500.")
    ] = None,
    output_mode: Annotated[
        str | None, typer.Option("--mode", help="synthetic | augment (with --rebalance).")
    ] = None,
    runner: Annotated[str | None, typer.Option(help="local | dask.")] = None,
    dask_address: Annotated[
        str | None, typer.Option(help="tcp://host:port of a Dask scheduler (with --runner dask).")
    ] = None,
    rule: Annotated[
        list[str] | None,
        typer.Option("--rule", help='Business rule kept exactly (repeatable): "total = a + b", '
                     '"a -> b", "charge = minutes * 0.17", "end >= start".'),
    ] = None,
    detect_rules: Annotated[
        bool, typer.Option("--detect-rules/--no-detect-rules",
                           help="Find and keep the rules the real rows follow [on].")
    ] = True,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Always train anew.")] = False,
    approval: Annotated[
        str | None, typer.Option(help="none | required: wait for `synthpipe approve|reject` "
                                 "on the report before publishing [none].")
    ] = None,
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Synthesize a table: validate, protect PII, train, sample, evaluate, gate, publish.

    Exit codes: 0 published, 3 quarantined (a blocking gate failed, or a steward rejected it),
    2 bad input or usage, 1 a bug. With --json, stdout is one object: the summary plus
    ``status`` and ``exit_code``.
    """
    setup_output(debug, verbose)
    with stdout_for_json(as_json):
        summary = _run_command(
            as_json, config, na_values,
            dict(
                table=table,
                target=target,
                model_name=model,
                epochs=epochs,
                time_budget=time_budget,
                rows=rows,
                out=out,
                seed=seed,
                device=device,
                metadata=metadata,
                expectations=expectations,
                encoding=encoding,
                rebalance=rebalance,
                rebalance_mode=output_mode,
                rules=rule,
                detect_rules=None if detect_rules else False,
                runner=runner,
                dask_address=dask_address,
                cache=False if no_cache else None,
                approval=approval,
            ),
        )
    code = 0 if summary["publishable"] else 3
    if as_json:
        status = summary.get("verdict") or ("published" if summary["publishable"]
                                            else "quarantined")
        emit_json({"status": status, **summary, "exit_code": code})
    else:
        _print_summary(summary)
    if code:
        raise typer.Exit(code)


def _run_command(
    as_json: bool, config: Path | None, na_values: list[str] | None, overrides: dict[str, Any]
) -> dict[str, Any]:
    try:
        from synthpipe.config import load_config

        if na_values:
            overrides["na_values"] = ["", "?", *na_values]
        cfg = load_config(config, **overrides)
        console.print(f"synthpipe: {cfg.table} -> model {cfg.model.name}", highlight=False)
        from synthpipe.dask_runner import check_dask_address
        from synthpipe.orchestration import run_flow

        check_dask_address(cfg)
        with stop_on_sigterm(), ProgressBars() as bars:
            return run_flow(cfg, progress=bars)
    except SynthpipeError as exc:
        raise fail(exc, as_json) from None
    except KeyboardInterrupt:
        stopped(130, "interrupted (Ctrl-C)", as_json)
    except Terminated:
        stopped(143, "terminated (SIGTERM)", as_json)
    except Exception as exc:  # anything else is a bug: say so, keep the traceback behind --debug
        raise fail(exc, as_json) from None


def _print_summary(summary: dict[str, Any]) -> None:
    if summary["publishable"] and summary.get("verdict") == "secure_zone_only":
        out_console.print(
            f"[yellow]written for the secure zone only[/] (real training rows plus synthetic "
            f"minority rows; do not share it as synthetic data) {summary['synthetic']}",
            highlight=False, soft_wrap=True,
        )
    elif summary["publishable"]:
        out_console.print(f"[green]published[/] {summary['synthetic']}", highlight=False)
    else:
        out_console.print(
            f"[bold red]QUARANTINED[/] (failed gates: {', '.join(summary['failed_gates'])}) "
            f"{summary['synthetic']}",
            highlight=False,
        )
    out_console.print(f"manifest {summary['manifest']}", highlight=False)
    out_console.print(f"metrics  {summary['metrics']}", highlight=False)
    if summary.get("report"):
        out_console.print(f"report   {summary['report']}", highlight=False)


@app.command()
def profile(
    table: Annotated[Path, typer.Argument(help="Input .parquet or .csv (or a folder of parts).")],
    target: Annotated[str | None, typer.Option(help="Label column.")] = None,
    config: Annotated[Path | None, typer.Option(help="YAML/JSON run config file.")] = None,
    metadata: Annotated[
        Path | None, typer.Option(help="YAML/JSON file overriding column kinds.")
    ] = None,
    expectations: Annotated[
        Path | None, typer.Option(help="Great Expectations suite (JSON) for the input contract.")
    ] = None,
    na_values: Annotated[
        list[str] | None, typer.Option("--na-values", help="Extra missing markers (repeatable).")
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="Text encoding of a CSV table (default utf-8).")
    ] = None,
    rule: Annotated[
        list[str] | None, typer.Option("--rule", help="A declared business rule (repeatable).")
    ] = None,
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """What a run would do with a table, without training: column kinds, PII found and the
    action per column, the business rules it would keep, and the input contract's result.

    Exit 0 when the input passes its contract, 2 when it does not (a run would stop there) or
    the table cannot be read.
    """
    setup_output(debug, verbose)
    overrides: dict[str, Any] = dict(
        table=table, target=target, metadata=metadata, expectations=expectations,
        encoding=encoding, rules=rule,
    )
    if na_values:
        overrides["na_values"] = ["", "?", *na_values]
    with stdout_for_json(as_json):
        try:
            from synthpipe.pipeline.profile import profile_table

            result = profile_table(config, **overrides)
        except SynthpipeError as exc:
            raise fail(exc, as_json) from None
        except Exception as exc:  # a bug: readable line, traceback behind --debug
            raise fail(exc, as_json) from None
    code = 0 if result["contract"]["passed"] else 2
    if as_json:
        emit_json({**result, "exit_code": code})
    else:
        _print_profile(result)
    if code:
        raise typer.Exit(code)


def _print_profile(result: dict[str, Any]) -> None:
    from rich.table import Table

    out_console.print(
        f"[bold]{result['table']}[/]: {result['rows']} rows x {len(result['columns'])} columns"
        + (f", target {result['target']}" if result["target"] else ""),
        highlight=False, soft_wrap=True,
    )
    grid = Table("column", "kind", "PII", "action", "modelled", "why", box=None)
    for c in result["columns"]:
        pii = c["pii"]
        grid.add_row(
            c["name"], c["kind"],
            f"{pii['pii_type']} ({pii['category']})" if pii else "",
            c["action"], "yes" if c["modelled"] else "no",
            pii["evidence"] if pii else c["reason"],
        )
    out_console.print(grid)
    if result.get("rules"):
        out_console.print("[bold]business rules kept exactly[/] (support in the real rows):")
        for r in result["rules"]:
            origin = "declared" if r["declared"] else "found"
            out_console.print(f"  {r['rule']}  [{origin}, {100 * r['support']:.2f}% of "
                              f"{r['rows']}]", highlight=False, soft_wrap=True, markup=False)
    contract = result["contract"]
    if contract["passed"]:
        out_console.print(
            f"input contract: [green]passed[/] ({contract['evaluated']} expectations, "
            f"{contract['source']})", highlight=False,
        )
    else:
        out_console.print(f"input contract: [red]FAILED[/]: {contract['message']}",
                          highlight=False, soft_wrap=True)
        for line in contract["failures"]:
            out_console.print(f"  - {line}", highlight=False, soft_wrap=True)


@app.command()
def models() -> None:
    """List the available synthesizers."""
    from synthpipe.models import available_models

    for name, description in available_models().items():
        out_console.print(f"[bold]{name:8}[/] {description}", highlight=False, soft_wrap=True)


@app.command()
def evaluate(
    real: Annotated[Path, typer.Option(help="Real training table the model saw.")],
    holdout: Annotated[Path, typer.Option(help="Real holdout table the model never saw.")],
    synthetic: Annotated[Path, typer.Option(help="Synthetic table.")],
    target: Annotated[str | None, typer.Option(help="Label column for utility scores.")] = None,
    out: Annotated[Path, typer.Option(help="Where to write metrics.json.")] = Path("metrics.json"),
    config: Annotated[Path | None, typer.Option(help="Run config with gate thresholds.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Evaluate any synthetic table against real train and holdout tables; write metrics.json.

    Exit 3 when a blocking gate fails. With --json, stdout is one object: ``status``
    (passed | failed), ``metrics`` (the file), ``publishable``, ``failed_gates``, ``checks``.
    """
    setup_output(debug, verbose)
    with stdout_for_json(as_json):
        try:
            from synthpipe.config import load_config
            from synthpipe.evaluation import gates
            from synthpipe.io import read_table, write_json
            from synthpipe.metadata import detect_metadata
            from synthpipe.pipeline.steps.assess import evaluate as assess

            cfg = load_config(config)
            tr, ho, sy = (read_table(p, cfg.na_values, cfg.encoding)
                          for p in (real, holdout, synthetic))
            _same_columns(tr, ho, sy)
            meta = detect_metadata(tr)
            if target is not None and target not in tr.columns:
                from synthpipe.errors import InputError

                raise InputError(f"target column {target!r} is not in {real}")
            # The run's own assessment: scores, the diagnosis of what gives the rows away and,
            # with a target, the within-class fidelity.
            cfg = cfg.model_copy(update={"target": target, "seed": seed})
            metrics = assess(tr, ho, sy[tr.columns], sy, meta.subset(list(tr.columns)), cfg,
                             pii_values={})
            metrics["gates"] = gates(metrics, cfg.gates)
            write_json(metrics, out)
        except SynthpipeError as exc:
            raise fail(exc, as_json) from None
        except Exception as exc:  # a bug: readable line, traceback behind --debug
            raise fail(exc, as_json) from None
    verdict = metrics["gates"]
    code = 0 if verdict["publishable"] else 3
    if as_json:
        emit_json({
            "status": "passed" if code == 0 else "failed",
            "metrics": str(out),
            "publishable": verdict["publishable"],
            "failed_gates": verdict.get("failed", []),
            "checks": verdict.get("checks", []),
            "exit_code": code,
        })
    else:
        out_console.print(
            f"{'[green]privacy gates pass' if code == 0 else '[red]gates FAILED'}[/] -> {out}",
            highlight=False,
        )
    if code:
        raise typer.Exit(code)


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run folder written by `synthpipe run`.")],
    debug: DebugOpt = False,
) -> None:
    """(Re)build report.html and report.json of a run folder from its manifest and metrics."""
    setup_output(debug, False)
    try:
        from synthpipe.report import build_report

        path = build_report(run_dir)
    except SynthpipeError as exc:
        raise fail(exc) from None
    out_console.print(f"report {path}", highlight=False)


@app.command()
def review(
    run_dir: Annotated[Path, typer.Argument(help="A run folder written by `synthpipe run`.")],
    approve: Annotated[bool, typer.Option("--approve", help="Approve publication.")] = False,
    reject: Annotated[bool, typer.Option("--reject", help="Reject publication.")] = False,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify",
            help="Check every output against manifest.json, the review log's chain and head, "
            "and that the latest review signed the report and manifest in the folder "
            "(exit 4 if anything was tampered with).",
        ),
    ] = False,
    by: Annotated[str | None, typer.Option(help="Reviewer's name.")] = None,
    comment: Annotated[str, typer.Option(help="Why.")] = "",
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="With --approve: approve a quarantined run (or one with no recorded verdict). "
            "Refused without it; with it, the override is printed and recorded in the entry.",
        ),
    ] = False,
    expected_head: Annotated[
        str | None, typer.Option(help="With --verify: the last entry hash you kept elsewhere.")
    ] = None,
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Record a steward's decision in the hash-chained review log, or verify the run folder.

    A review signs report.html as it is, so build it first (`synthpipe report RUN_DIR`) and
    read it. An approval is refused when the outputs no longer match manifest.json, and for a
    quarantined run unless --force is given. Exit 4 when verification fails. With --json,
    stdout is one object: the recorded entry (``status`` recorded), or ``status`` intact |
    tampered with ``entries``, ``problems`` and ``notes``.
    """
    setup_output(debug, False)
    if approve + reject + verify != 1:
        raise usage_error("give exactly one of --approve, --reject, --verify", as_json)
    if not verify and not by:
        raise usage_error("--by NAME is required to record a decision", as_json)
    with stdout_for_json(as_json):
        try:
            from synthpipe.report import record_review, verify_reviews

            if verify:
                result = verify_reviews(run_dir, expected_head=expected_head)
            else:
                if force and not approve:
                    raise usage_error("--force only applies to --approve", as_json)
                entry = record_review(run_dir, "approve" if approve else "reject", by, comment,
                                      force=force)
        except SynthpipeError as exc:
            raise fail(exc, as_json) from None
    if verify:
        code = 0 if result.ok else 4
        if as_json:
            emit_json({"status": "intact" if result.ok else "tampered", "ok": result.ok,
                        "entries": result.entries, "problems": list(result.problems),
                        "notes": list(result.notes), "exit_code": code})
        else:
            for note in result.notes:
                console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
            if result.ok:
                out_console.print(
                    f"review log intact: {result.entries} entries; outputs match manifest.json",
                    highlight=False,
                )
            else:
                console.print(
                    f"[bold red]review log FAILED verification[/] ({result.entries} entries)"
                )
                for problem in result.problems:
                    console.print(f"  - {problem}", highlight=False, soft_wrap=True)
        if code:
            raise typer.Exit(code)
        return
    if entry.get("override") and not as_json:
        console.print(f"[bold yellow]warning:[/] {entry['override']} (recorded in the entry)",
                      highlight=False, soft_wrap=True)
    if as_json:
        emit_json({"status": "recorded", **entry, "exit_code": 0})
        return
    out_console.print(
        f"recorded review #{entry['seq']}: {entry['decision']} by {entry['by']}\n"
        f"entry hash {entry['entry_hash']} (keep it: `--verify --expected-head` checks it)",
        highlight=False,
    )


def _decide(run_dir: Path, decision: str, by: str, comment: str, wait: float,
            as_json: bool, debug: bool) -> None:
    """``synthpipe approve|reject``: decide a run that awaits a steward."""
    setup_output(debug, False)
    if not by.strip():
        raise usage_error("--by NAME is required to record a decision", as_json)
    with stdout_for_json(as_json):
        try:
            from synthpipe.steward import send_decision

            result = send_decision(run_dir, decision, by, comment, wait=wait)
        except SynthpipeError as exc:
            raise fail(exc, as_json) from None
    entry = result.get("entry") or {}
    code = 0 if result["verdict"] in ("published", "secure_zone_only") else 3
    if as_json:
        emit_json({"status": result["verdict"], **result, "exit_code": code})
    else:
        where = ("the paused flow run resumed and finalized the folder"
                 if result["how"] == "resumed" else "the folder was finalized here")
        out_console.print(
            f"{decision}d by {entry.get('by')}: run {result['verdict']} ({where})\n"
            f"review #{entry.get('seq')} entry hash {entry.get('entry_hash')} (keep it: "
            f"`synthpipe review {run_dir} --verify --expected-head HASH` checks it)",
            highlight=False, soft_wrap=True,
        )
    if code:
        raise typer.Exit(code)


_DecisionRun = Annotated[Path, typer.Argument(help="A run folder awaiting approval.")]
_DecisionBy = Annotated[str, typer.Option("--by", help="The steward's name.")]
_DecisionComment = Annotated[str, typer.Option(help="Why (ticket, what was checked).")]
_DecisionWait = Annotated[
    float, typer.Option(help="Seconds to wait for the resumed flow to finalize the folder.")
]


@app.command()
def approve(run_dir: _DecisionRun, by: _DecisionBy, comment: _DecisionComment = "",
            wait: _DecisionWait = 120.0, as_json: JsonOpt = False,
            debug: DebugOpt = False) -> None:
    """Approve a run that awaits a steward (`approval: required`), after reading its report.

    Resumes the paused flow run (or, when none is paused, finalizes here): the table moves from
    pending/ to the top level, the decision is written to review_log.jsonl bound to the report
    and manifest you read, and manifest.json says published. Exit 0 published, 2 refused (not
    awaiting, changed outputs), 1 a bug.
    """
    _decide(run_dir, "approve", by, comment, wait, as_json, debug)


@app.command()
def reject(run_dir: _DecisionRun, by: _DecisionBy, comment: _DecisionComment = "",
           wait: _DecisionWait = 120.0, as_json: JsonOpt = False,
           debug: DebugOpt = False) -> None:
    """Reject a run that awaits a steward (`approval: required`), after reading its report.

    Resumes the paused flow run (or finalizes here): the table moves under quarantine/, the
    decision is written to review_log.jsonl bound to the report and manifest you read. Exit 3
    (quarantined), 2 refused, 1 a bug.
    """
    _decide(run_dir, "reject", by, comment, wait, as_json, debug)


@app.command()
def sample(
    model_dir: Annotated[Path, typer.Argument(help="A saved model folder (run folder's model/).")],
    rows: Annotated[int, typer.Option(min=1, help="Rows to generate.")],
    out: Annotated[Path, typer.Option(help="Output .parquet file.")],
    condition: Annotated[
        str | None, typer.Option(help="COLUMN=VALUE: only rows of that target class.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    debug: DebugOpt = False,
) -> None:
    """Sample more rows from a saved model (modelled columns only; ids are not regenerated).

    The rows are not checked by the privacy gates (they compare with the real table, which
    only `synthpipe run` reads): publish through `synthpipe run`.
    """
    setup_output(debug, False)
    try:
        from synthpipe.errors import ConfigError
        from synthpipe.io import write_table
        from synthpipe.pipeline import load_model

        model_obj = load_model(model_dir)
        conditions = None
        if condition:
            if "=" not in condition:
                raise ConfigError(f"--condition {condition!r} is not COLUMN=VALUE")
            col, _, value = condition.partition("=")
            classes = {str(c): c for c in getattr(model_obj, "classes_", [])}
            if value not in classes:
                raise ConfigError(
                    f"class {value!r} is not a class of the model's target",
                    hint=f"known classes: {', '.join(classes) or 'none (no target)'}",
                )
            conditions = {col: classes[value]}
        df = model_obj.sample(rows, conditions=conditions, seed=seed)
        write_table(df, out)
    except SynthpipeError as exc:
        raise fail(exc) from None
    out_console.print(f"wrote {len(df)} rows to {out}", highlight=False)
    console.print(
        "[yellow]note:[/] these rows have not been through the privacy gates (distance to "
        "closest record, membership inference, PII leakage need the real table); review them "
        "before sharing, or publish through `synthpipe run`",
        highlight=False, soft_wrap=True,
    )


ModelOpt = Annotated[
    str | None, typer.Option("--model", help="tabddpm | tvae | ctgan | flow | auto (the run's).")
]
EpochsOpt = Annotated[int | None, typer.Option("--epochs", help="Training epochs of each run.")]
ApprovalOpt = Annotated[
    str | None,
    typer.Option("--approval", help="none | required (each run pauses for a steward)."),
]


@app.command()
def deploy(
    name: Annotated[str, typer.Option(help="Deployment name.")] = "synthpipe",
    table: Annotated[Path | None, typer.Option(help="Input table.")] = None,
    target: Annotated[str | None, typer.Option(help="Label column.")] = None,
    cron: Annotated[str | None, typer.Option(help='Schedule, e.g. "0 2 * * *".')] = None,
    config: Annotated[Path | None, typer.Option(help="Run config file (the parameters).")] = None,
    model: ModelOpt = None,
    epochs: EpochsOpt = None,
    approval: ApprovalOpt = None,
    pool: Annotated[str, typer.Option(help="Prefect work pool (process type).")] = "synthpipe",
    debug: DebugOpt = False,
) -> None:
    """Register a scheduled deployment against the Prefect API in PREFECT_API_URL.

    The options (and the --config file) become the deployment's parameters: every scheduled
    run synthesizes with them.
    """
    setup_output(debug, False)
    try:
        from synthpipe.orchestration import deploy as do_deploy

        cfg = _deployment_config(config, table, target, model, epochs, approval)
        deployment_id = do_deploy(cfg, name=name, cron=cron, work_pool=pool)
    except SynthpipeError as exc:
        raise fail(exc) from None
    out_console.print(
        f"deployment synthesize-table/{name} ({deployment_id}); run it with a worker:\n"
        f"  prefect worker start --pool {pool}",
        highlight=False,
    )


@app.command()
def serve(
    name: Annotated[str, typer.Option(help="Deployment name.")] = "synthpipe",
    table: Annotated[Path | None, typer.Option(help="Input table.")] = None,
    target: Annotated[str | None, typer.Option(help="Label column.")] = None,
    cron: Annotated[str | None, typer.Option(help='Schedule, e.g. "0 2 * * *".')] = None,
    config: Annotated[Path | None, typer.Option(help="Run config file (the parameters).")] = None,
    model: ModelOpt = None,
    epochs: EpochsOpt = None,
    approval: ApprovalOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Register the deployment and serve its runs from this process (no work pool needed)."""
    setup_output(debug, True)
    try:
        from synthpipe.orchestration import serve as do_serve

        cfg = _deployment_config(config, table, target, model, epochs, approval)
        do_serve(cfg, name=name, cron=cron)
    except SynthpipeError as exc:
        raise fail(exc) from None


def _deployment_config(
    config: Path | None,
    table: Path | None,
    target: str | None,
    model: str | None = None,
    epochs: int | None = None,
    approval: str | None = None,
) -> Any:
    """The run config a deployment stores: paths absolute, since workers run elsewhere."""
    from synthpipe.config import load_config

    cfg = load_config(
        config, table=table.resolve() if table else None, target=target, model_name=model,
        epochs=epochs, approval=approval,
    )
    # An unknown model or model parameter fails here, not at 02:00 on a worker.
    from synthpipe.models import create_model
    from synthpipe.pipeline import model_params

    for name in cfg.candidate_models():
        create_model(name, **model_params(cfg, name))
    return cfg.model_copy(update={"runs_dir": Path(cfg.runs_dir).resolve()})


def _same_columns(*frames: Any) -> None:
    from synthpipe.errors import InputError

    first = set(frames[0].columns)
    for f in frames[1:]:
        if set(f.columns) != first:
            missing, extra = first - set(f.columns), set(f.columns) - first
            raise InputError(
                f"the tables do not have the same columns (missing {sorted(missing)}, extra "
                f"{sorted(extra)})",
                hint="evaluate tables with identical columns",
            )


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except SystemExit as exc:
        # Click maps usage errors to 2 already; keep its code.
        sys.exit(exc.code)


if __name__ == "__main__":
    main()
