"""Keeps pytest out of the hostile corpus: its overlays hold conftest.py files and payloads.

Nothing under this folder may ever be collected or imported on the host (the payloads are guarded
to be inert where they are stored, and this is the second line of defence).
"""

collect_ignore_glob = ["*"]
