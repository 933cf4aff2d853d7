"""The ``synthpipe`` command line.

Heavy libraries (torch, sdv, great_expectations, prefect) are imported inside the commands so
that ``synthpipe --help`` answers at once. Errors synthpipe raises on purpose are printed as one
readable line with exit code 2 (a quarantined run exits with 3); ``--debug`` shows the traceback.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from synthpipe.errors import SynthpipeError

app = typer.Typer(
    name="synthpipe",
    help="Synthetic tabular data with PII protection, fidelity and privacy gates.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
out_console = Console()


class _State:
    debug = False


def _setup(debug: bool, verbose: bool) -> None:
    _State.debug = debug
    from synthpipe._env import quiet_defaults

    # Prefect's own lines (and its tracebacks of a failed task, which the CLI reports as one
    # readable error) would drown the progress bar; --verbose brings them back.
    quiet_defaults({"PREFECT_LOGGING_LEVEL": "INFO" if verbose else "CRITICAL"})
    logging.basicConfig(
        level=logging.DEBUG if debug else (logging.INFO if verbose else logging.WARNING),
        format="%(levelname)s %(name)s: %(message)s",
        force=True,  # each invocation logs to the stderr of that invocation
    )


def _fail(exc: BaseException) -> typer.Exit:
    """Print a deliberate error as one readable block and turn it into an exit code."""
    if _State.debug:
        console.print_exception()
    if isinstance(exc, SynthpipeError):
        # soft_wrap: one error is one line, whatever the terminal width (greppable in logs).
        console.print(f"[bold red]error:[/] {exc.message}", highlight=False, soft_wrap=True)
        failures = getattr(exc, "failures", None)
        for line in failures or []:
            console.print(f"  - {line}", highlight=False, soft_wrap=True)
        if exc.hint:
            console.print(f"[yellow]fix:[/] {exc.hint}", highlight=False, soft_wrap=True)
        return typer.Exit(exc.exit_code)
    console.print(
        f"[bold red]error:[/] {type(exc).__name__}: {exc}", highlight=False, soft_wrap=True
    )
    console.print("run again with --debug for the traceback", highlight=False)
    return typer.Exit(1)


class _ProgressBars:
    """A rich progress bar per phase (fit, sample), fed by the pipeline's callback."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> _ProgressBars:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, phase: str, step: int, total: int, info: dict) -> None:
        label = {"fit": "training", "sample": "sampling"}.get(phase, phase)
        if phase not in self.tasks or self.progress.tasks[self.tasks[phase]].finished:
            if phase in self.tasks and step >= total:
                return
            self.tasks[phase] = self.progress.add_task(label, total=total, info="")
        text = "  ".join(
            f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in info.items()
        )
        self.progress.update(self.tasks[phase], completed=step, total=total, info=text)


DebugOpt = Annotated[bool, typer.Option("--debug", help="Show tracebacks.")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Show Prefect and INFO logs.")]


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
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Always train anew.")] = False,
    debug: DebugOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Synthesize a table: validate, protect PII, train, sample, evaluate, gate, publish."""
    _setup(debug, verbose)
    try:
        from synthpipe.config import load_config

        overrides: dict[str, Any] = dict(
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
            runner=runner,
            dask_address=dask_address,
            cache=False if no_cache else None,
        )
        if na_values:
            overrides["na_values"] = ["", "?", *na_values]
        cfg = load_config(config, **overrides)
        console.print(f"synthpipe: {cfg.table} -> model {cfg.model.name}", highlight=False)
        from synthpipe.orchestration import run_flow

        with _ProgressBars() as bars:
            summary = run_flow(cfg, progress=bars)
    except SynthpipeError as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:
        console.print("interrupted; nothing was published")
        raise typer.Exit(130) from None
    except Exception as exc:  # anything else is a bug: say so, keep the traceback behind --debug
        raise _fail(exc) from None
    _print_summary(summary)
    if not summary["publishable"]:
        raise typer.Exit(3)


def _print_summary(summary: dict[str, Any]) -> None:
    if summary["publishable"]:
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
    debug: DebugOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Evaluate any synthetic table against real train and holdout tables; write metrics.json."""
    _setup(debug, verbose)
    try:
        from synthpipe.config import load_config
        from synthpipe.evaluation import evaluate as run_evaluation
        from synthpipe.evaluation import gates
        from synthpipe.io import read_table, write_json
        from synthpipe.metadata import detect_metadata

        cfg = load_config(config)
        tr, ho, sy = (read_table(p, cfg.na_values, cfg.encoding)
                      for p in (real, holdout, synthetic))
        _same_columns(tr, ho, sy)
        meta = detect_metadata(tr)
        if target is not None and target not in tr.columns:
            from synthpipe.errors import InputError

            raise InputError(f"target column {target!r} is not in {real}")
        metrics = run_evaluation(
            tr, ho, sy[tr.columns], meta.subset(list(tr.columns)), target, seed=seed, published=sy
        )
        metrics["gates"] = gates(metrics, cfg.gates)
        write_json(metrics, out)
    except SynthpipeError as exc:
        raise _fail(exc) from None
    except Exception as exc:  # a bug: readable line, traceback behind --debug
        raise _fail(exc) from None
    verdict = metrics["gates"]
    out_console.print(
        f"{'[green]privacy gates pass' if verdict['publishable'] else '[red]gates FAILED'}[/]"
        f" -> {out}",
        highlight=False,
    )
    if not verdict["publishable"]:
        raise typer.Exit(3)


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run folder written by `synthpipe run`.")],
    debug: DebugOpt = False,
) -> None:
    """(Re)build report.html and report.json of a run folder from its manifest and metrics."""
    _setup(debug, False)
    try:
        from synthpipe.report import build_report

        path = build_report(run_dir)
    except SynthpipeError as exc:
        raise _fail(exc) from None
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
    debug: DebugOpt = False,
) -> None:
    """Record a steward's decision in the hash-chained review log, or verify the run folder.

    A review signs report.html as it is, so build it first (`synthpipe report RUN_DIR`) and
    read it. An approval is refused when the outputs no longer match manifest.json, and for a
    quarantined run unless --force is given.
    """
    _setup(debug, False)
    if approve + reject + verify != 1:
        console.print("[bold red]error:[/] give exactly one of --approve, --reject, --verify")
        raise typer.Exit(2)
    try:
        from synthpipe.report import record_review, verify_reviews

        if verify:
            result = verify_reviews(run_dir, expected_head=expected_head)
            for note in result.notes:
                console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
            if result.ok:
                out_console.print(
                    f"review log intact: {result.entries} entries; outputs match manifest.json",
                    highlight=False,
                )
                return
            console.print(f"[bold red]review log FAILED verification[/] ({result.entries} entries)")
            for problem in result.problems:
                console.print(f"  - {problem}", highlight=False, soft_wrap=True)
            raise typer.Exit(4)
        if not by:
            console.print("[bold red]error:[/] --by NAME is required to record a decision")
            raise typer.Exit(2)
        if force and not approve:
            console.print("[bold red]error:[/] --force only applies to --approve")
            raise typer.Exit(2)
        entry = record_review(run_dir, "approve" if approve else "reject", by, comment,
                              force=force)
    except SynthpipeError as exc:
        raise _fail(exc) from None
    if entry.get("override"):
        console.print(f"[bold yellow]warning:[/] {entry['override']} (recorded in the entry)",
                      highlight=False, soft_wrap=True)
    out_console.print(
        f"recorded review #{entry['seq']}: {entry['decision']} by {entry['by']}\n"
        f"entry hash {entry['entry_hash']} (keep it: `--verify --expected-head` checks it)",
        highlight=False,
    )


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
    _setup(debug, False)
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
        raise _fail(exc) from None
    out_console.print(f"wrote {len(df)} rows to {out}", highlight=False)
    console.print(
        "[yellow]note:[/] these rows have not been through the privacy gates (distance to "
        "closest record, membership inference, PII leakage need the real table); review them "
        "before sharing, or publish through `synthpipe run`",
        highlight=False, soft_wrap=True,
    )


@app.command()
def deploy(
    name: Annotated[str, typer.Option(help="Deployment name.")] = "synthpipe",
    table: Annotated[Path | None, typer.Option(help="Input table.")] = None,
    target: Annotated[str | None, typer.Option(help="Label column.")] = None,
    cron: Annotated[str | None, typer.Option(help='Schedule, e.g. "0 2 * * *".')] = None,
    config: Annotated[Path | None, typer.Option(help="Run config file (the parameters).")] = None,
    pool: Annotated[str, typer.Option(help="Prefect work pool (process type).")] = "synthpipe",
    debug: DebugOpt = False,
) -> None:
    """Register a scheduled deployment against the Prefect API in PREFECT_API_URL."""
    _setup(debug, False)
    try:
        from synthpipe.orchestration import deploy as do_deploy

        cfg = _deployment_config(config, table, target)
        deployment_id = do_deploy(cfg, name=name, cron=cron, work_pool=pool)
    except SynthpipeError as exc:
        raise _fail(exc) from None
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
    debug: DebugOpt = False,
) -> None:
    """Register the deployment and serve its runs from this process (no work pool needed)."""
    _setup(debug, True)
    try:
        from synthpipe.orchestration import serve as do_serve

        cfg = _deployment_config(config, table, target)
        do_serve(cfg, name=name, cron=cron)
    except SynthpipeError as exc:
        raise _fail(exc) from None


def _deployment_config(config: Path | None, table: Path | None, target: str | None) -> Any:
    """The run config a deployment stores: paths absolute, since workers run elsewhere."""
    from synthpipe.config import load_config

    cfg = load_config(config, table=table.resolve() if table else None, target=target)
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
