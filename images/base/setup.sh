#!/bin/sh
# Runs inside the debootstrapped rootfs (chroot) once, while building the base image.
# Arguments: the Debian packages to install.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "$@"
apt-get clean
rm -rf /var/lib/apt/lists/*
# The unprivileged user that candidate code runs as (uid 1000, no login shell needed).
useradd --create-home --uid 1000 --shell /bin/sh swe
# Repositories are owned by swe but handled by root-run git: allow that explicitly.
git config --system safe.directory '*'
git config --system user.name swe-monkeys
git config --system user.email swe-monkeys@localhost
git config --system init.defaultBranch main
sed -i 's/^# *en_US.UTF-8/en_US.UTF-8/' /etc/locale.gen && locale-gen >/dev/null
mkdir -p /opt/swe-monkeys /wheelhouse
