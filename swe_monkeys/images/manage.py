"""Listing and pruning the images swe-monkeys built (all carry the swe-monkeys.kind label)."""

from __future__ import annotations

from typing import Any, Mapping

from swe_monkeys.images.builder import LABEL, ImageBuilder

Specs = Mapping[tuple[str, ...], Any]  # (repo, version) or (repo, version, instance) -> a current EnvSpec


def list_images(client) -> list[dict[str, Any]]:
    rows = []
    for image in client.images.list(filters={"label": LABEL}):
        for tag in image.tags or ["<untagged>"]:
            rows.append({"tag": tag, "kind": image.labels.get(LABEL, "?"), "id": image.short_id.split(":")[-1],
                         "size_mb": round(image.attrs.get("Size", 0) / 2**20), "created": image.attrs.get("Created", "")[:19]})
    order = {"base": 0, "env": 1, "instance": 2}
    return sorted(rows, key=lambda r: (order.get(r["kind"], 3), r["tag"]))


def disk_usage(client) -> dict[str, int]:
    """What swe-monkeys images take on disk, each shared layer counted once (`disk_mb`), and the
    sum of their sizes as if none shared a layer (`listed_mb`). Our images form a tree (base ->
    env -> instance), so an image's own bytes are its size less that of its nearest ancestor: the
    image whose layers are the longest prefix of its own."""
    images = {image.id: image.attrs for image in client.images.list(filters={"label": LABEL})}
    layers = {i: tuple(a.get("RootFS", {}).get("Layers") or ()) for i, a in images.items()}
    own = 0
    for i, attrs in images.items():
        parents = [j for j in images if j != i and len(layers[j]) <= len(layers[i])
                   and layers[i][:len(layers[j])] == layers[j] and layers[j]]
        parent = max(parents, key=lambda j: (len(layers[j]), images[j].get("Size", 0)), default=None)
        if parent is not None and layers[parent] == layers[i] and parent > i:
            continue  # the same layers under two ids: count them once
        own += max(0, attrs.get("Size", 0) - (images[parent].get("Size", 0) if parent else 0))
    return {"disk_mb": round(own / 2**20), "listed_mb": round(sum(a.get("Size", 0) for a in images.values()) / 2**20)}


def _current_envs(builder: ImageBuilder, specs: Specs) -> set[str]:
    from swe_monkeys.images.sources import SourceError

    tags = set()
    for spec in specs.values():
        try:
            tags.add(builder.env_tag(spec))
        except SourceError:  # no interpreter for it here: none of its images can be current
            continue
    return tags


def stale_images(client, builder: ImageBuilder, specs: Specs) -> list[dict[str, Any]]:
    """Images no current recipe would produce: an old base, an env whose spec or recipe changed,
    an instance on a stale env or superseded by a newer build of the same instance, untagged ones.
    `specs`: every current spec, by (repo, version), and every instance override's."""
    current_bases = {builder.base_tag()} | {builder.base_tag(s.debian_packages) for s in specs.values()}
    rows = list_images(client)
    labels = {image.short_id.split(":")[-1]: image.labels for image in client.images.list(filters={"label": LABEL})}
    newest: dict[str, str] = {}
    for row in rows:
        name = row["tag"].partition(":")[0]
        newest[name] = max(newest.get(name, ""), row["created"])
    current_envs = _current_envs(builder, specs)
    stale = []
    for row in rows:
        meta = labels.get(row["id"], {})
        if row["tag"] == "<untagged>":
            stale.append(row)
        elif row["kind"] == "base":
            stale += [row] if row["tag"] not in current_bases else []
        elif row["kind"] == "env":
            stale += [row] if row["tag"] not in current_envs else []
        elif meta.get("swe-monkeys.parent") not in current_envs or row["created"] < newest[row["tag"].partition(":")[0]]:
            stale.append(row)
    return stale


def prune_images(client, builder: ImageBuilder, specs: Specs, everything: bool = False) -> list[str]:
    """Remove stale images (all swe-monkeys images with everything=True), instances first."""
    doomed = list_images(client) if everything else stale_images(client, builder, specs)
    removed = []
    for row in reversed(doomed):
        try:
            client.images.remove(row["tag"] if row["tag"] != "<untagged>" else row["id"], force=True)
            removed.append(row["tag"])
        except Exception:  # still in use by a container or another image: keep it
            pass
    return removed
