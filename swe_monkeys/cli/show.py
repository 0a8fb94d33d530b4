"""`swe-monkeys show RUN [CANDIDATE]`: why each candidate got its verdict, without opening run.sqlite.

Thin: swe_monkeys.tasks.explain reads the store; this module only lays the rows out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from swe_monkeys.cli.common import existing_run
from swe_monkeys.cli.lifecycle import fail

REASON_WIDTH = 100  # the list's reasons are cut here; `show RUN ID` prints the whole one


def show(
    run: Annotated[Path, typer.Argument(metavar="RUN", help="Run directory (holds run.sqlite).")],
    candidate: Annotated[Optional[str], typer.Argument(metavar="CANDIDATE", help="A candidate: its id (the list's "
                                                       "first column) or PROBLEM#INDEX (what verdict lines print).")]
    = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on one line instead of the "
                                                        "text.")] = False,
) -> None:
    """Why each candidate got its verdict.

    Without CANDIDATE: one line per candidate (id, problem#index, status, the reason cut short).
    With it: its verdict, the whole reason, every test's status, tamper flags and its log's path."""
    from swe_monkeys.store.run_store import RunStore
    from swe_monkeys.tasks.explain import candidate_detail, candidate_rows

    existing_run(run)
    with fail(), RunStore(run) as store:
        data: Any = candidate_rows(store) if candidate is None else candidate_detail(store, candidate)
    if as_json:
        typer.echo(json.dumps({"run": str(run), "candidates": data} if candidate is None else data))
    elif candidate is None:
        _list(data)
    else:
        _detail(data)


def _list(rows: list[dict[str, Any]]) -> None:
    import textwrap

    names = [f"{r['problem']}#{r['index']}" for r in rows]
    width = min(max((len(n) for n in names), default=9), 48)
    typer.echo(f"{'id':>5}  {'candidate':<{width}}  {'status':<12}  reason")
    for row, name in zip(rows, names):
        reason = textwrap.shorten(row["reason"], REASON_WIDTH, placeholder=" ...") if row["reason"] else ""
        if row["flags"]:
            reason += f" [flagged: {', '.join(sorted({f['primitive'] for f in row['flags']}))}]"
        if row["strict"]:
            reason += f" [{row['strict']}]"
        typer.echo(f"{row['id']:>5}  {name:<{width}}  {row['status'] or 'not judged':<12}  {reason}".rstrip())


def _detail(d: dict[str, Any]) -> None:
    verdict = d["verdict"]
    typer.echo(f"candidate {d['id']}: {d['problem']}#{d['index']}" + (f" ({d['model']})" if d["model"] else ""))
    if d["extract"] not in (None, "ok"):
        typer.echo(f"extraction: {d['extract']}" + (f": {d['extract_reason']}" if d["extract_reason"] else ""))
    if d["edit_rules"]:
        typer.echo(f"edit rules: {', '.join(d['edit_rules'])}")
    if verdict is None:
        typer.echo("status: not judged (verify the run to judge it)")
        return
    typer.echo(f"status: {verdict['status']}" + (f" ({verdict['runs']} runs)" if verdict["runs"] > 1 else ""))
    typer.echo(f"reason: {verdict['reason'] or '-'}")
    if verdict["apply_method"]:
        typer.echo(f"applied with: {verdict['apply_method']}")
    for item in verdict.get("reverted", []):
        typer.echo(f"put back by the harness: {item.get('path')} ({item.get('why')})")
    for flag in d["flags"]:
        typer.echo(f"flagged: {flag['file']}:{flag['line']} {flag['primitive']}: {flag['reason']}")
    _strict(verdict.get("strict"))
    tests = verdict["tests"]
    if tests:
        failing = sum(status != "PASSED" for status in tests.values())
        typer.echo(f"tests: {len(tests) - failing} of {len(tests)} passed")
        for name, status in tests.items():
            typer.echo(f"  {status:<8} {name}")
    log = d["log"]
    typer.echo("log: none kept" if log is None else f"log: {log['path']}" + ("" if log["exists"] else " (missing)"))


def _strict(strict: dict[str, Any] | None) -> None:
    """SWE-bench --strict: the re-check's line, its files and every test it names."""
    if not strict:
        return
    typer.echo(f"strict: {strict.get('line') or strict['status']}")
    if strict.get("files"):
        typer.echo(f"strict files: {', '.join(strict['files'])}" + (f" (+{strict['left_out']} past the cap)"
                                                                   if strict.get("left_out") else ""))
    for kind in ("regressions", "differences"):
        for item in strict.get(kind) or []:
            typer.echo(f"  {kind[:-1]}: {item['test']}: gold {item['gold']}, candidate {item['candidate']}")
    for test in strict.get("unstable") or []:
        typer.echo(f"  unstable (not flagged): {test}")
