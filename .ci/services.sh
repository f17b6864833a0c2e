#!/usr/bin/env bash
# The real components the test suite talks to, each on loopback with throwaway storage:
# PostgreSQL (the shared registry store), the CNCF distribution registry (Debian's
# docker-registry, htpasswd auth: OCI push/pull) and Chromium (the web console's page tests).
#
# Sourced by .ci/run; a developer can source it too:  . .ci/services.sh && start_services
# Exports for the tests:
#   POLC_TEST_POSTGRES_URL  POLC_TEST_PG_BIN
#   POLC_TEST_OCI_REGISTRY  POLC_TEST_OCI_USERNAME  POLC_TEST_OCI_PASSWORD  POLC_TEST_OCI_STORAGE
#   POLC_TEST_CHROMIUM

CI_SERVICE_STOPS=()

_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

_apt_install() {  # packages..., only as root on a Debian-like machine
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "ci: installing $* from the Debian packages" >&2
    if [ -z "${_APT_UPDATED:-}" ]; then apt-get update -qq; _APT_UPDATED=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  fi
}

pg_bin() {  # the newest installed server's bin directory, or nothing
  { ls -d /usr/lib/postgresql/*/bin 2>/dev/null || true; } | sort -V | tail -n 1
}

install_components() {
  [ -n "$(pg_bin)" ] || _apt_install postgresql || echo "ci: could not install PostgreSQL" >&2
  local missing=()
  command -v docker-registry >/dev/null || missing+=(docker-registry)
  command -v htpasswd >/dev/null || missing+=(apache2-utils)
  command -v chromium >/dev/null || missing+=(chromium)
  if [ ${#missing[@]} -gt 0 ]; then
    _apt_install "${missing[@]}" || echo "ci: could not install ${missing[*]}" >&2
  fi
}

start_postgres() {
  local bin port user
  bin="$(pg_bin)"
  if [ -z "$bin" ]; then
    echo "ci: PostgreSQL is not available; the PostgreSQL tests will fail in CI" >&2
    return 0
  fi
  PGTMP="$(mktemp -d /tmp/polc-ci-pg.XXXXXX)"
  chmod 755 "$PGTMP"
  # The server refuses to run as root: run it as the postgres user when we are root.
  user="$(id -un)"
  local runas=()
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir "$PGTMP" postgres
    user=postgres
    runas=(runuser -u postgres --)
    chown postgres "$PGTMP"
  fi
  port="$(_free_port)"
  "${runas[@]}" "$bin/initdb" -D "$PGTMP/data" -U "$user" --auth=trust -E UTF8 --no-sync >/dev/null
  "${runas[@]}" "$bin/pg_ctl" -D "$PGTMP/data" -l "$PGTMP/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $PGTMP -c fsync=off -c max_connections=200" start >/dev/null
  CI_SERVICE_STOPS+=("${runas[*]} $bin/pg_ctl -D $PGTMP/data -m immediate stop; rm -rf $PGTMP")
  export POLC_TEST_POSTGRES_URL="postgresql://$user@127.0.0.1:$port/postgres"
  export POLC_TEST_PG_BIN="$bin"
  echo "ci: PostgreSQL running at $POLC_TEST_POSTGRES_URL" >&2
}

start_oci_registry() {
  if ! command -v docker-registry >/dev/null || ! command -v htpasswd >/dev/null; then
    echo "ci: docker-registry is not available; the OCI tests will fail in CI" >&2
    return 0
  fi
  local dir port
  dir="$(mktemp -d /tmp/polc-ci-oci.XXXXXX)"
  port="$(_free_port)"
  export POLC_TEST_OCI_USERNAME=polc-ci
  export POLC_TEST_OCI_PASSWORD="ci-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  htpasswd -Bbn "$POLC_TEST_OCI_USERNAME" "$POLC_TEST_OCI_PASSWORD" > "$dir/htpasswd" 2>/dev/null
  cat > "$dir/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
auth:
  htpasswd:
    realm: polc-ci
    path: $dir/htpasswd
EOF
  docker-registry serve "$dir/config.yml" > "$dir/registry.log" 2>&1 &
  local pid=$!
  CI_SERVICE_STOPS+=("kill $pid 2>/dev/null; rm -rf $dir")
  for _ in $(seq 1 100); do
    if python3 - "$port" <<'EOF' 2>/dev/null
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/v2/", timeout=1)
except urllib.error.HTTPError as exc:
    sys.exit(0 if exc.code == 401 else 1)
sys.exit(0)
EOF
    then break; fi
    sleep 0.1
  done
  export POLC_TEST_OCI_REGISTRY="127.0.0.1:$port"
  export POLC_TEST_OCI_STORAGE="$dir/data"
  echo "ci: OCI registry (distribution, htpasswd auth) at $POLC_TEST_OCI_REGISTRY" >&2
}

find_chromium() {
  local path
  path="$(command -v chromium || true)"
  if [ -n "$path" ]; then
    export POLC_TEST_CHROMIUM="$path"
    echo "ci: Chromium at $POLC_TEST_CHROMIUM" >&2
  else
    echo "ci: Chromium is not available; the console page tests will fail in CI" >&2
  fi
}

stop_services() {
  local cmd
  for cmd in "${CI_SERVICE_STOPS[@]}"; do
    bash -c "$cmd" >/dev/null 2>&1 || true
  done
  CI_SERVICE_STOPS=()
}

start_services() {
  install_components
  start_postgres
  start_oci_registry
  find_chromium
}
