"""Listing and pruning the images swe-monkeys built (all carry the swe-monkeys.kind label)."""

from __future__ import annotations

from typing import Any

from swe_monkeys.images.builder import LABEL, ImageBuilder


def list_images(client) -> list[dict[str, Any]]:
    rows = []
    for image in client.images.list(filters={"label": LABEL}):
        for tag in image.tags or ["<untagged>"]:
            rows.append({"tag": tag, "kind": image.labels.get(LABEL, "?"), "id": image.short_id.split(":")[-1],
                         "size_mb": round(image.attrs.get("Size", 0) / 2**20), "created": image.attrs.get("Created", "")[:19]})
    order = {"base": 0, "env": 1, "instance": 2}
    return sorted(rows, key=lambda r: (order.get(r["kind"], 3), r["tag"]))


def prune_images(client, builder: ImageBuilder, everything: bool = False) -> list[str]:
    """Remove stale images: an older tag of the same layer name, old bases, untagged ones.

    Instance images are removed newest-first layers before the env and base they stand on.
    With everything=True all swe-monkeys images go.
    """
    current_base = builder.base_tag()
    newest: dict[str, tuple[str, str]] = {}
    rows = list_images(client)
    for row in rows:
        name = row["tag"].partition(":")[0]
        if row["created"] > newest.get(name, ("", ""))[0]:
            newest[name] = (row["created"], row["tag"])
    doomed = []
    for row in reversed(rows):
        name = row["tag"].partition(":")[0]
        stale = (row["tag"] == "<untagged>" or (row["kind"] == "base" and row["tag"] != current_base)
                 or (row["kind"] != "base" and newest[name][1] != row["tag"]))
        if everything or stale:
            doomed.append(row)
    removed = []
    for row in doomed:
        try:
            client.images.remove(row["tag"] if row["tag"] != "<untagged>" else row["id"], force=True)
            removed.append(row["tag"])
        except Exception:  # still in use by a container or another image: keep it
            pass
    return removed
