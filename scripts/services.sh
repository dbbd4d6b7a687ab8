#!/usr/bin/env bash
# Makes sure the local PostgreSQL the tests use (127.0.0.1:5432, user postgres, trust auth) is
# installed and running: installs Debian's postgresql when the machine has none (its new cluster
# then trusts local connections: a test machine only), starts the cluster when it is down.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/apt.sh

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    apt_install postgresql
    version="$(ls /etc/postgresql | sort -V | tail -1)"
    hba="/etc/postgresql/$version/main/pg_hba.conf"
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    # The tests connect as postgres over TCP without a password (tests/store/conftest.py).
    printf 'local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n' |
        $SUDO tee "$hba" >/dev/null
    if pg_isready -q -h 127.0.0.1 -p 5432; then  # started by the package: read the new rules
        $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main reload
    fi
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    version="$(ls /etc/postgresql | sort -V | tail -1)"
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start
    for _ in $(seq 60); do
        pg_isready -q -h 127.0.0.1 -p 5432 && break
        sleep 0.5
    done
fi
pg_isready -h 127.0.0.1 -p 5432
