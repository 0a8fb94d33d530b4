"""Content-addressed image builds: base (debootstrap + docker import), environment, instance.

Every tag is a hash of the layer's inputs, so `build` is idempotent: an image whose inputs did
not change is found and reused; one whose recipe changed gets a new tag. No registry is used:
the base root filesystem is made from Debian packages and imported, and the other layers are
built from it with the network off.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from swe_monkeys.images import sources
from swe_monkeys.paths import IMAGES, cache_dir
from swe_monkeys.sandbox.engine import check_storage
from swe_monkeys.types import SWEInstance
from swe_monkeys.errors import SweMonkeysError

if TYPE_CHECKING:  # the image layer takes a spec, it does not find one
    from swe_monkeys.swebench.spec import EnvSpec

PREFIX = "swe-monkeys"
LABEL = "swe-monkeys.kind"
SUITE = os.environ.get("SWE_MONKEYS_DEBIAN_SUITE", "bookworm")
MIRROR = os.environ.get("SWE_MONKEYS_DEBIAN_MIRROR", "http://deb.debian.org/debian")


class ImageBuildError(SweMonkeysError, RuntimeError):
    """A layer failed to build; the message carries the tail of the build log."""


def _digest(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:12]


@dataclass
class ImageBuilder:
    """Builds (or finds) the three layers. `log` receives one line per step."""

    client: object  # docker.DockerClient
    repo_cache: Path
    allow_clone: bool = False
    log: Callable[[str], None] = lambda line: None

    # -- naming -------------------------------------------------------------------------------
    def base_tag(self, extra: tuple[str, ...] = ()) -> str:
        """The base image, or a variant with `extra` Debian packages (a spec's debian_packages)."""
        recipe = (IMAGES / "base" / "packages.txt").read_text() + (IMAGES / "base" / "setup.sh").read_text()
        # No extras: the digest is the plain base's, so specs without debian_packages share it.
        parts = (SUITE, recipe, " ".join(sorted(set(extra)))) if extra else (SUITE, recipe)
        return f"{PREFIX}/base:{_digest(*parts)}"

    def env_dockerfile(self, spec: EnvSpec) -> str:
        copy_python, python = "", "/usr/bin/python3"
        if spec.python != "system":
            target = f"/opt/python/{sources.find_python(spec.python).name}"
            # pyenv builds are shared-library builds whose rpath names the host prefix: the loader
            # finds libpython through ld.so.conf, and the linker (extensions built with -lpython,
            # as numpy.distutils does) through LIBRARY_PATH.
            copy_python = (f"COPY python {target}\nRUN echo {target}/lib > /etc/ld.so.conf.d/python.conf && ldconfig\n"
                           f"ENV LIBRARY_PATH={target}/lib")
            python = f"{target}/bin/python{spec.python}"
        packages = " ".join(f"'{p}'" for p in spec.pip_packages) or "pip"
        return (IMAGES / "env" / "Dockerfile").read_text().format(
            base=self.base_tag(spec.debian_packages), copy_python=copy_python, python=python, pip_packages=packages)

    def env_tag(self, spec: EnvSpec) -> str:
        return f"{PREFIX}/env.{spec.key.lower()}:{_digest(self.env_dockerfile(spec))}"

    def instance_tag(self, inst: SWEInstance, spec: EnvSpec) -> str:
        key = _digest(self.env_tag(spec), (IMAGES / "instance" / "Dockerfile").read_text(), inst.repo,
                      inst.base_commit, spec.pre_install, spec.install)
        return f"{PREFIX}/inst.{inst.instance_id.lower()}:{key}"

    def exists(self, tag: str) -> bool:
        import docker

        try:
            self.client.images.get(tag)
            return True
        except docker.errors.ImageNotFound:
            return False

    # -- layers -------------------------------------------------------------------------------
    def ensure(self, inst: SWEInstance, spec: EnvSpec) -> str:
        """The instance image for `inst` under `spec`, building whatever layers are missing."""
        tag = self.instance_tag(inst, spec)
        if not self.exists(tag):
            self.build_instance(inst, spec)
        return tag

    def build_base(self, extra: tuple[str, ...] = ()) -> str:
        tag = self.base_tag(extra)
        if self.exists(tag):
            return tag
        if shutil.which("debootstrap") is None:
            raise ImageBuildError("debootstrap is not installed (apt-get install debootstrap); "
                                  "the base image is built from Debian packages, not pulled")
        packages = [line.strip() for line in (IMAGES / "base" / "packages.txt").read_text().splitlines()
                    if line.strip() and not line.startswith("#")]
        packages += sorted(set(extra) - set(packages))
        work = Path(tempfile.mkdtemp(prefix="base-", dir=cache_dir()))
        started = time.monotonic()
        try:
            rootfs = work / "rootfs"
            self.log(f"debootstrap {SUITE} (minbase) from {MIRROR}")
            _run(["debootstrap", "--variant=minbase", SUITE, str(rootfs), MIRROR], "debootstrap")
            shutil.copy("/etc/resolv.conf", rootfs / "etc" / "resolv.conf")
            shutil.copy(IMAGES / "base" / "setup.sh", rootfs / "setup.sh")
            self.log(f"installing {len(packages)} packages in the rootfs")
            _run(["chroot", str(rootfs), "/bin/sh", "/setup.sh", *packages], "base setup")
            (rootfs / "setup.sh").unlink()
            (rootfs / "etc" / "resolv.conf").write_text("")
            tarball = work / "rootfs.tar"
            _run(["tar", "-C", str(rootfs), "--numeric-owner", "-cf", str(tarball), "."], "tar")
            self.log(f"docker import -> {tag}")
            repository, _, version = tag.partition(":")
            self.client.api.import_image(
                src=str(tarball), repository=repository, tag=version,
                changes=['ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
                         'ENV LANG=C.UTF-8', 'CMD ["sleep", "infinity"]', f'LABEL {LABEL}=base'])
            self.log(f"debootstrap + import took {time.monotonic() - started:.0f}s")
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if not self.exists(tag):
            raise ImageBuildError(f"docker import did not produce {tag}")
        return tag

    def build_env(self, spec: EnvSpec) -> str:
        tag = self.env_tag(spec)
        if self.exists(tag):
            return tag
        self.build_base(spec.debian_packages)
        with tempfile.TemporaryDirectory(prefix="env-", dir=cache_dir()) as ctx:
            ctx_path = Path(ctx)
            shutil.copytree(sources.wheelhouse(spec.python, list(spec.pip_packages)), ctx_path / "wheelhouse")
            if spec.python != "system":
                prefix = sources.find_python(spec.python)
                shutil.copytree(prefix, ctx_path / "python", symlinks=True,
                                ignore=shutil.ignore_patterns("test", "site-packages", "__pycache__", "*.a"))
                (ctx_path / "python" / "lib" / f"python{spec.python}" / "site-packages").mkdir(exist_ok=True)
            dockerfile = self.env_dockerfile(spec)
            self._docker_build(ctx_path, dockerfile, tag, "env",
                               {"swe-monkeys.repo": spec.repo, "swe-monkeys.version": spec.version})
        return tag

    def build_instance(self, inst: SWEInstance, spec: EnvSpec) -> str:
        tag = self.instance_tag(inst, spec)
        env = self.build_env(spec)
        repo_path = sources.find_repo(inst.repo, self.repo_cache, allow_clone=self.allow_clone)
        with tempfile.TemporaryDirectory(prefix="inst-", dir=cache_dir()) as ctx:
            ctx_path = Path(ctx)
            sources.export_tree(repo_path, inst.base_commit, ctx_path / "testbed")
            dockerfile = (IMAGES / "instance" / "Dockerfile").read_text().format(
                env=env, pre_install=spec.pre_install or "true", install=spec.install or "true")
            self._docker_build(ctx_path, dockerfile, tag, "instance", {"swe-monkeys.parent": env})
        return tag

    def _docker_build(self, ctx: Path, dockerfile: str, tag: str, kind: str, labels: dict[str, str]) -> None:
        import docker

        (ctx / "Dockerfile").write_text(dockerfile)
        check_storage(self.client, f"building {tag}")  # StorageFull: stop before a layer meets a full disk
        self.log(f"docker build -> {tag}")
        try:
            # network_mode none: layers install only from what the host put in the context.
            self.client.images.build(path=str(ctx), tag=tag, rm=True, forcerm=True, network_mode="none",
                                     labels={LABEL: kind, **labels})
        except docker.errors.BuildError as exc:
            tail = "".join(str(c.get("stream", c.get("error", ""))) for c in exc.build_log)[-2000:]
            if "no space left on device" in tail + str(exc.msg):
                check_storage(self.client, f"building {tag} (it failed for want of space)")
            raise ImageBuildError(f"building {tag} failed: {exc.msg}\n{tail}") from exc


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ImageBuildError(f"{what} failed ({proc.returncode}): {(proc.stderr or proc.stdout)[-1500:]}")
