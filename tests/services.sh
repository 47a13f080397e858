# Shared by tests/run and bench/run (sourced, with $root set and the cwd at $root): the
# pinned peer services, installed into project-local folders and started on free loopback
# ports, stopped again when the sourcing script exits.

state="$root/target/test-services"
mkdir -p "$state"
pids=()

stop_services() {
  for pid in "${pids[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}
trap stop_services EXIT INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for URL NAME LOG: polls until URL answers at all (any HTTP status).
wait_for() {
  python3 - "$1" "$2" "$3" <<'PY'
import sys, time, urllib.request, urllib.error
url, name, log = sys.argv[1:4]
for _ in range(300):
    try:
        urllib.request.urlopen(url, timeout=1)
        sys.exit(0)
    except urllib.error.HTTPError:
        sys.exit(0)
    except Exception:
        time.sleep(0.1)
sys.stderr.write(f"{name} did not start at {url}; its log ({log}):\n" + open(log).read()[-4000:])
sys.exit(1)
PY
}

install_python_services() {
  local venv="$root/.venv-test" stamp
  stamp=$(sha256sum tests/requirements.txt | cut -d' ' -f1)
  if [ "$(cat "$venv/.installed" 2>/dev/null)" != "$stamp" ]; then
    echo "tests/run: installing pinned Python test services into .venv-test" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/requirements.txt
    echo "$stamp" > "$venv/.installed"
  fi
}

# start_moto [LAUNCHER]: stock moto, or a Python launcher taking moto_server's arguments
# (bench/moto_server.py).
start_moto() {
  local port server=("$root/.venv-test/bin/moto_server")
  [ $# -gt 0 ] && server=("$root/.venv-test/bin/python" "$1")
  port=$(free_port)
  "${server[@]}" -H 127.0.0.1 -p "$port" > "$state/moto.log" 2>&1 &
  pids+=($!)
  wait_for "http://127.0.0.1:$port/moto-api/" "moto server" "$state/moto.log"
  export LATCHKEY_TEST_AWS_ENDPOINT="http://127.0.0.1:$port"
  echo "tests/run: moto server on $LATCHKEY_TEST_AWS_ENDPOINT" >&2
}

install_node_services() {
  local dir stamp
  for dir in "$root/tests/oauth-server" "$root/tests/browser"; do
    stamp=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
    if [ "$(cat "$dir/node_modules/.installed" 2>/dev/null)" != "$stamp" ]; then
      echo "tests/run: installing pinned npm packages into ${dir#"$root"/}" >&2
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
      echo "$stamp" > "$dir/node_modules/.installed"
    fi
  done
}

# apt_install COMMAND [PACKAGE]: Debian's package for COMMAND, when it is missing.
apt_install() {
  if ! command -v "$1" > /dev/null; then
    echo "${0##*/}: installing Debian's ${2:-$1} (apt-get)" >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${2:-$1}" > /dev/null
  fi
}

install_chromium() {
  apt_install curl  # the README's examples are run as written (cli/tests/serve.rs)
  apt_install chromium
  export LATCHKEY_TEST_CHROMIUM
  LATCHKEY_TEST_CHROMIUM=$(command -v chromium)
}

start_oauth_server() {
  local port
  port=$(free_port)
  PORT="$port" node "$root/tests/oauth-server/server.mjs" > "$state/oauth-server.log" 2>&1 &
  pids+=($!)
  wait_for "http://127.0.0.1:$port/.well-known/openid-configuration" "oidc-provider" "$state/oauth-server.log"
  export LATCHKEY_TEST_OIDC_ISSUER="http://127.0.0.1:$port"
  echo "tests/run: oidc-provider on $LATCHKEY_TEST_OIDC_ISSUER" >&2
}

# The Lambda artefacts, as `sam build` makes them (release profile, x86-64, via zig).
# build_lambda_artefacts [CARGO ARGS]: every function of the template, each selected as its
# own package (latchkey-NAME) so that features other workspace members turn on (the SQLite
# store of the CLI and the tests) stay out of the Lambda binaries.
build_lambda_artefacts() {
  local packages=() name
  for name in $(sed -n 's/^ *Binary: *//p' infra/template.yaml); do packages+=(-p "latchkey-$name"); done
  echo "building Lambda artefacts (cargo lambda build --release): ${packages[*]} $*" >&2
  PATH="$root/.venv-test/bin:$PATH" cargo lambda build --release --x86-64 --locked "${packages[@]}" "$@" >&2
  export LATCHKEY_TEST_LAMBDA_DIR="$root/target/lambda"
}

# sam_build_catalog: builds the catalog function exactly as `sam build` does (its CodeUri,
# its Metadata, SAM's own cargo-lambda workflow) into target/sam-check/, for the test that
# compares it with the artefact the tests ran (kept as target/sam-check/tested-catalog).
sam_build_catalog() {
  local check="$root/target/sam-check"
  rm -rf "$check" && mkdir -p "$check"
  cp "$root/target/lambda/catalog/bootstrap" "$check/tested-catalog"
  echo "building the catalog function with sam build" >&2
  (cd "$root/infra" && PATH="$root/.venv-test/bin:$PATH" SAM_CLI_TELEMETRY=0 \
    sam build CatalogFunction --template template.yaml --build-dir "$check/build" \
      --parameter-overrides Architecture=x86_64 >&2)
  # The shared target/lambda now holds SAM's build: put back the one the tests use.
  cp "$check/tested-catalog" "$root/target/lambda/catalog/bootstrap"
  export LATCHKEY_TEST_SAM_CHECK="$check"
}
