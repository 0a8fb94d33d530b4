"""`swe-monkeys images build|ls|prune`: the offline-built image layers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from swe_monkeys.cli.common import HELP_LAYOUT, existing_path
from swe_monkeys.cli.lifecycle import fail

app = typer.Typer(no_args_is_help=True, **HELP_LAYOUT)


def _builder(repo_cache: Optional[Path], clone: bool = False):
    from swe_monkeys.images.builder import ImageBuilder
    from swe_monkeys.images.sources import default_repo_cache
    from swe_monkeys.sandbox.docker_sandbox import docker_client

    client = docker_client()
    return client, ImageBuilder(client, repo_cache or default_repo_cache(), clone,
                                log=lambda line: typer.echo(f"[image] {line}", err=True))


@app.command("build")
def build(
    instances: Annotated[Optional[Path], typer.Option(metavar="FILE|DIR", help="Also build env + instance layers "
                                                      "for these instances (a dataset file or folder).")] = None,
    ids: Annotated[Optional[list[str]], typer.Option("--id", metavar="ID|GLOB", help="Only these instance ids or "
                                                     "globs (repeatable).")] = None,
    repo_cache: Annotated[Optional[Path], typer.Option(envvar="SWE_MONKEYS_REPO_CACHE", metavar="DIR",
                                                       help="Bare clones named owner__repo.git.")] = None,
    clone: Annotated[bool, typer.Option("--clone", help="Clone missing repositories from GitHub.")] = False,
) -> None:
    """Build the base image, and the images of the instances named.

    Layers whose inputs did not change are reused. A failed instance does not stop the rest: every
    failure is listed at the end (exit 1)."""
    from swe_monkeys.errors import SweMonkeysError
    from swe_monkeys.swebench.dataset import load_instances
    from swe_monkeys.swebench.spec import load_spec

    if instances is not None:
        existing_path(instances, "'--instances'")
    failed: list[tuple[str, str]] = []
    with fail():
        client, builder = _builder(repo_cache, clone)
        typer.echo(builder.build_base())
        chosen = load_instances(instances, ids) if instances else []
        for n, inst in enumerate(chosen, 1):
            try:
                tag = builder.ensure(inst, load_spec(inst.repo, inst.version, inst.instance_id))
                typer.echo(f"[{n}/{len(chosen)}] {tag}")
            except SweMonkeysError as exc:  # this instance only: the rest still build
                failed.append((inst.instance_id, str(exc)))
                typer.echo(f"[{n}/{len(chosen)}] {inst.instance_id}: FAILED {str(exc).splitlines()[0]}", err=True)
    if failed:
        typer.echo(f"error: {len(failed)} of {len(chosen)} instance images failed to build:", err=True)
        for instance_id, message in failed:
            tail = " | ".join(line for line in message.splitlines()[-3:] if line.strip())
            typer.echo(f"  {instance_id}: {tail[:300]}", err=True)
        raise typer.Exit(1)


@app.command("ls")
def ls(as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object: the images (tag, kind, id, "
                                             "size_mb, created) and the disk they take.")] = False) -> None:
    """List swe-monkeys images with their sizes and the disk they take.

    Base images first, then env and instance images; a size counts the layers an image shares with
    others, the last line counts each shared layer once."""
    from swe_monkeys.images.manage import disk_usage, list_images

    with fail():
        client, _ = _builder(None)
        rows = list_images(client)
        usage = disk_usage(client)
    instances = sum(row["kind"] == "instance" for row in rows)
    if as_json:
        typer.echo(json.dumps({"images": rows, "count": len(rows), "instance_images": instances, **usage}))
        return
    width = max([len(row["tag"]) for row in rows] + [3])
    typer.echo(f"{'kind':<9} {'tag':<{width}} {'size':>9}  created")
    for row in rows:
        typer.echo(f"{row['kind']:<9} {row['tag']:<{width}} {row['size_mb']:>6} MB  {row['created']}")
    per = f", {usage['disk_mb'] / 1024 / instances:.2f} GiB per instance image" if instances else ""
    typer.echo(f"{len(rows)} images ({instances} instance): {usage['disk_mb'] / 1024:.1f} GiB on disk with shared "
               f"layers counted once{per} ({usage['listed_mb'] / 1024:.1f} GiB if every image were whole)")


@app.command("prune")
def prune(everything: Annotated[bool, typer.Option("--all", help="Remove every swe-monkeys image.")] = False) -> None:
    """Remove stale swe-monkeys images to reclaim disk.

    Stale: older tags of a layer, old bases, instances on a stale env (--all: every image)."""
    from swe_monkeys.images.manage import prune_images
    from swe_monkeys.swebench.spec import current_specs, instance_overrides

    with fail():
        client, builder = _builder(None)
        specs = {**current_specs(), **{(o.repo, o.version, i): o for i, o in instance_overrides().items()}}
        removed = prune_images(client, builder, specs, everything)
    typer.echo(f"removed {len(removed)} images" + "".join(f"\n  {t}" for t in removed))
