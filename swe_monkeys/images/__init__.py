"""Offline-built Docker images: base, per-(repo, version) environment, per-instance layers."""
