#!/usr/bin/env bash
# One command to run chat_server: Docker Compose when a Docker engine is usable, otherwise a
# local run on the embedded PostgreSQL. See `./start.sh --help`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

readonly SEED_USERS=(alice bob carol dave)
readonly SEED_PASSWORD=password123
readonly READY_TIMEOUT="${CHAT_READY_TIMEOUT:-180}"

usage() {
    cat <<'EOF'
Usage: ./start.sh [--local | --docker]
       ./start.sh test
       ./start.sh --help

Starts chat_server with demo data and prints where to open it.

Modes
  (default)   Docker Compose (PostgreSQL, Redis, migrations, the app behind a Caddy proxy on
              PORT) when Docker can be used. If Docker is missing, start.sh offers to install
              it (Linux). If no engine can be used (not installable, daemon down, no
              permission) it falls back to --local and says why; a failed build or start is
              an error (try --local then). The stack keeps running in the background:
              `docker compose logs -f app` to watch it, `docker compose down` to stop it.
  --local     Run here without Docker: a virtualenv (.venv, or the active one) with
              requirements.txt, the embedded PostgreSQL in DATA_DIR/pg (default .data/pg),
              migrations, seed data, then the server in the foreground (Ctrl-C stops it).
  --docker    Docker only: fail instead of falling back to --local.
  test        Run the test suite exactly as CI does (bash .ci/run: lint, format check, pytest).

Both modes create .env from .env.example with a fresh JWT_SECRET when .env is missing, apply
migrations, and seed demo users (password "password123"): alice@example.com,
bob@example.com, carol@example.com, dave@example.com. Running again reuses everything and
seeds nothing twice.

Environment (PORT, HOST, DATA_DIR, DATABASE_URL and JWT_SECRET are also read from .env)
  PORT                   the port to open: local mode serves on it, Docker mode publishes
                         the proxy in front of the app on it (default 8000)
  HOST                   local mode: address to bind (default 0.0.0.0)
  DATA_DIR               local mode: the embedded PostgreSQL (DATA_DIR/pg) and its log
                         (DATA_DIR/embedded-postgres.log) live here (default .data)
  DATABASE_URL           local mode: use this PostgreSQL instead of the embedded one
  JWT_SECRET             written into .env (random) when .env has none
  CHAT_READY_TIMEOUT     seconds to wait for the app's /ready (default 180)
  CHAT_SKIP_INSTALL=1    local mode: do not pip install (the venv is already set up)
  CHAT_INSTALL_DOCKER=1  install Docker without asking when it is missing (0: never)
EOF
}

say() { printf '==> %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }
interactive() { [[ -t 0 && -t 1 ]]; }

# ---------------------------------------------------------------------------------- .env ---

generate_secret() {
    # Only [A-Za-z0-9_-]: no quoting needed anywhere the secret ends up.
    if have python3; then
        python3 -c 'import secrets; print(secrets.token_urlsafe(48))'
    elif have openssl; then
        openssl rand -base64 64 | tr -dc 'A-Za-z0-9' | head -c 64
    else
        head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 64
    fi
}

# The value of KEY in .env (last assignment wins, as for the app), or nothing.
env_file_value() {
    [[ -f .env ]] || return 0
    grep -E "^[[:space:]]*$1=" .env | tail -n 1 | cut -d= -f2- | sed -e 's/^["'\'']//' -e 's/["'\'']$//' || true
}

ensure_env_file() {
    if [[ ! -f .env ]]; then
        [[ -f .env.example ]] || die ".env.example is missing: is this a full checkout?"
        # .env holds a secret: readable by the owner only.
        (umask 077 && cp .env.example .env)
        say "Created .env from .env.example"
    fi
    if [[ -z "$(env_file_value JWT_SECRET)" ]]; then
        local secret
        secret="$(generate_secret)"
        if grep -qE '^[#[:space:]]*JWT_SECRET=' .env; then
            # Fill in the first (commented) JWT_SECRET line, keeping the comments around it.
            (umask 077 && awk -v secret="$secret" '
                !done && /^[#[:space:]]*JWT_SECRET=/ { print "JWT_SECRET=" secret; done = 1; next }
                { print }' .env >.env.tmp)
            mv .env.tmp .env
        else
            printf '\nJWT_SECRET=%s\n' "$secret" >>.env
        fi
        say "Generated a random JWT_SECRET in .env"
    fi
}

# ---------------------------------------------------------------------------------- HTTP ---

# Succeeds when URL answers 2xx. The host may lack curl (or Python, in Docker mode).
http_ok() {
    if have curl; then
        curl -fsS -o /dev/null --max-time 5 "$1" 2>/dev/null
    elif have wget; then
        wget -q -O /dev/null -T 5 "$1" 2>/dev/null
    else
        "${PYTHON:-python3}" -c \
            'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' \
            "$1" 2>/dev/null
    fi
}

# wait_ready URL [PID]: poll until URL is ready; give up after READY_TIMEOUT s or if PID dies.
wait_ready() {
    local url="$1" pid="${2:-}" waited=0
    until http_ok "$url"; do
        if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
            return 1
        fi
        if ((waited >= READY_TIMEOUT)); then
            return 1
        fi
        sleep 1
        waited=$((waited + 1))
    done
}

print_banner() {
    local base="$1" mode="$2"
    cat <<EOF

  chat_server is up ($mode)
    Web client:  $base/
    API docs:    $base/docs
    Health:      $base/health, $base/ready

  Seeded logins (demo data; password "$SEED_PASSWORD" for all):
EOF
    local user
    for user in "${SEED_USERS[@]}"; do
        printf '    %s@example.com\n' "$user"
    done
    echo
}

# -------------------------------------------------------------------------------- Docker ---

COMPOSE=()
DOCKER_REASON=""

find_compose() {
    if docker compose version >/dev/null 2>&1; then
        COMPOSE=(docker compose)
    elif have docker-compose; then
        COMPOSE=(docker-compose)
    else
        return 1
    fi
}

sudo_prefix() {
    if [[ "$(id -u)" -eq 0 ]]; then
        echo ""
    elif have sudo; then
        echo "sudo"
    else
        return 1
    fi
}

want_docker_install() {
    case "${CHAT_INSTALL_DOCKER:-}" in
        1 | yes | true) return 0 ;;
        0 | no | false) return 1 ;;
    esac
    if ! interactive; then
        warn "Docker is not installed; set CHAT_INSTALL_DOCKER=1 to let start.sh install it."
        return 1
    fi
    local answer
    read -r -p "Docker is not installed. Install it now (needs root/sudo)? [Y/n] " answer
    [[ -z "$answer" || "$answer" =~ ^[Yy] ]]
}

# Install Docker Engine + Compose: the distribution's packages first, else Docker's
# convenience script. Returns non-zero when that is not possible here.
install_docker() {
    if [[ "$(uname -s)" != Linux ]]; then
        warn "Install Docker Desktop (https://docs.docker.com/get-docker/) to use Docker mode."
        return 1
    fi
    want_docker_install || return 1
    local sudo
    sudo="$(sudo_prefix)" || {
        warn "Installing Docker needs root or sudo."
        return 1
    }
    say "Installing Docker"
    if have apt-get; then
        $sudo apt-get update &&
            $sudo apt-get install -y docker.io &&
            # Ubuntu ships Compose v2 as docker-compose-v2, Debian as docker-compose.
            { $sudo apt-get install -y docker-compose-v2 || $sudo apt-get install -y docker-compose; }
    elif have dnf; then
        $sudo dnf install -y docker docker-compose || $sudo dnf install -y moby-engine docker-compose
    else
        false
    fi || {
        have curl || return 1
        say "Distribution packages did not work; using Docker's convenience script"
        curl -fsSL https://get.docker.com | $sudo sh || return 1
    }
    if have systemctl; then
        $sudo systemctl enable --now docker || true
    elif have service; then
        $sudo service docker start || true
    fi
    if [[ -n "$sudo" ]]; then
        $sudo usermod -aG docker "$(id -un)" || true
        warn "Added $(id -un) to the docker group; it takes effect at your next login."
    fi
}

# Decide whether Docker mode can run; on failure DOCKER_REASON says why.
docker_usable() {
    if ! have docker; then
        if ! install_docker || ! have docker; then
            DOCKER_REASON="Docker is not installed"
            return 1
        fi
    fi
    local info probe=(docker info)
    # A wedged daemon can make `docker info` hang; bound it where coreutils' timeout exists.
    have timeout && probe=(timeout 30 docker info)
    if ! info="$("${probe[@]}" 2>&1)"; then
        if grep -qi 'permission denied' <<<"$info"; then
            DOCKER_REASON="no permission to use the Docker daemon (join the docker group:"
            DOCKER_REASON+=" sudo usermod -aG docker \$USER, then log in again)"
        else
            DOCKER_REASON="the Docker daemon is not running (start Docker Desktop, or"
            DOCKER_REASON+=" sudo systemctl start docker)"
        fi
        return 1
    fi
    if ! find_compose; then
        DOCKER_REASON="Docker Compose is missing (install the docker compose plugin)"
        return 1
    fi
}

# Why `compose up` failed, in one line, from its output in $1 (port: $2).
compose_failure_cause() {
    local log="$1" port="$2"
    if grep -qiE 'Temporary failure in name resolution|Failed to establish a new connection|Could not find a version that satisfies' "$log"; then
        printf 'a build step could not reach PyPI'
        if ! docker network inspect bridge >/dev/null 2>&1; then
            printf ' (this engine has no default bridge network, so build steps get no network:'
            printf ' see "Engines without a default bridge" in docs/deployment.md)'
        fi
    elif grep -qiE 'port is already allocated|address already in use' "$log"; then
        printf 'port %s is already in use here: stop what holds it, or set PORT in .env' "$port"
    elif grep -qiE 'pull access denied|manifest unknown|failed to resolve reference|error pulling image|registry-1\.docker\.io' "$log"; then
        printf 'an image could not be pulled (is the image registry reachable?)'
    else
        grep -v '^[[:space:]]*$' "$log" | tail -n 1
    fi
}

run_docker() {
    ensure_env_file
    local port data_dir log
    port="${PORT:-$(env_file_value PORT)}"
    port="${port:-8000}"
    data_dir="${DATA_DIR:-$(env_file_value DATA_DIR)}"
    data_dir="${data_dir:-.data}"
    mkdir -p "$data_dir"
    log="$data_dir/docker-up.log"
    say "Docker mode: building and starting the stack with ${COMPOSE[*]} (output also in $log)"
    if ! "${COMPOSE[@]}" up -d --build 2>&1 | tee "$log"; then
        printf '\nerror: %s up failed: %s\n' "${COMPOSE[*]}" "$(compose_failure_cause "$log" "$port")" >&2
        printf '  Its whole output is in %s.\n' "$log" >&2
        printf '  To run without Docker instead: %s --local\n' "$0" >&2
        exit 1
    fi
    local published base
    published="$("${COMPOSE[@]}" port proxy 8000 | head -n 1)"
    published="${published##*:}"
    [[ -n "$published" ]] || die "could not find the published port ('${COMPOSE[*]} ps')"
    base="http://localhost:$published"
    say "Waiting for $base/ready"
    if ! wait_ready "$base/ready"; then
        "${COMPOSE[@]}" logs --tail 50 app proxy >&2 || true
        die "the app did not become ready in ${READY_TIMEOUT}s"
    fi
    say "Seeding demo data (idempotent)"
    "${COMPOSE[@]}" exec -T app python -m chat_server seed || die "seeding failed"
    print_banner "$base" "Docker Compose"
    cat <<EOF
  The stack runs in the background.
    Logs:   ${COMPOSE[*]} logs -f app
    Scale:  ${COMPOSE[*]} up -d --scale app=3      (still one address: $base)
    Stop:   ${COMPOSE[*]} down        (add -v to also delete the database volume)

EOF
}

# --------------------------------------------------------------------------------- local ---

PYTHON=""

python_ok() {
    [[ -x "$1" ]] && "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null
}

# Reuse the active virtualenv or .venv; create .venv only when neither exists.
setup_python() {
    if [[ -n "${VIRTUAL_ENV:-}" ]] && python_ok "$VIRTUAL_ENV/bin/python"; then
        PYTHON="$VIRTUAL_ENV/bin/python"
    elif python_ok .venv/bin/python; then
        PYTHON=.venv/bin/python
    else
        local candidate base=""
        for candidate in python3.13 python3.12 python3.11 python3; do
            if have "$candidate" && python_ok "$(command -v "$candidate")"; then
                base="$(command -v "$candidate")"
                break
            fi
        done
        [[ -n "$base" ]] || die "Python 3.11 or newer is needed for --local (or use Docker)."
        say "Creating the virtualenv .venv"
        "$base" -m venv .venv ||
            die "could not create .venv (on Debian/Ubuntu: sudo apt-get install python3-venv)"
        PYTHON=.venv/bin/python
    fi
    say "Using $PYTHON"
    install_requirements
}

requirements_hash() {
    "$PYTHON" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' \
        requirements.txt
}

# pip runs only when requirements.txt changed since the last successful install into this venv.
install_requirements() {
    if [[ "${CHAT_SKIP_INSTALL:-0}" == 1 ]]; then
        say "CHAT_SKIP_INSTALL=1: not installing requirements"
        return
    fi
    local stamp want
    stamp="$("$PYTHON" -c 'import sys; print(sys.prefix)')/.chat_server-requirements.sha256"
    want="$(requirements_hash)"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        say "requirements.txt unchanged since the last install: skipping pip"
        return
    fi
    say "Installing requirements.txt"
    "$PYTHON" -m pip install --disable-pip-version-check -q -r requirements.txt
    echo "$want" >"$stamp"
}

# Can the server bind HOST:PORT? Binds as uvicorn does (SO_REUSEADDR), so only a listener
# counts as "in use", not the TIME-WAIT connections a server that just stopped leaves behind.
# Exit 1: in use; 2: another reason, printed.
port_free() {
    "$PYTHON" - "$1" "$2" <<'PY'
import errno, socket, sys
host, port = sys.argv[1], int(sys.argv[2])
try:
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(address)
except OSError as exc:
    if exc.errno == errno.EADDRINUSE:
        sys.exit(1)
    print(f"error: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
    sys.exit(2)
PY
}

EMBEDDED_STARTED=0

# Until the server takes over (exec), a failed or interrupted start stops the embedded
# PostgreSQL it started; exec drops this trap, and the server stops the database on exit.
stop_embedded_db() {
    if ((EMBEDDED_STARTED)); then
        "$PYTHON" -m chat_server embedded-db stop >/dev/null 2>&1 || true
    fi
}

# The banner comes from a watcher in the background, so that the server itself can replace
# this shell (exec): Ctrl-C and SIGTERM then reach it directly and its exit status is ours.
# The watcher is started from a subshell that exits at once (and is waited for here), so it
# is not left to the server as a child it would never reap.
start_banner_watcher() {
    local port="$1" server_pid=$$
    (
        (
            if wait_ready "http://127.0.0.1:$port/ready" "$server_pid"; then
                print_banner "http://localhost:$port" "local mode, Ctrl-C to stop"
            elif kill -0 "$server_pid" 2>/dev/null; then
                warn "the server did not answer /ready within ${READY_TIMEOUT}s"
            fi
        ) &
    )
}

run_local() {
    local reason="$1"
    say "Local mode: $reason"
    setup_python
    ensure_env_file
    local host port data_dir
    host="${HOST:-$(env_file_value HOST)}"
    host="${host:-0.0.0.0}"
    port="${PORT:-$(env_file_value PORT)}"
    port="${port:-8000}"
    data_dir="${DATA_DIR:-$(env_file_value DATA_DIR)}"
    data_dir="${data_dir:-.data}"
    local status=0
    port_free "$host" "$port" || status=$?
    if ((status == 1)); then
        die "port $port is in use (another server running?); try PORT=$((port + 1)) $0 --local"
    elif ((status)); then
        exit 1
    fi

    # The embedded database starts once, here: migrate and seed get its URL, and the server
    # attaches to it (and stops it when it exits).
    local database_url="${DATABASE_URL:-$(env_file_value DATABASE_URL)}"
    if [[ -n "$database_url" ]]; then
        say "Database: DATABASE_URL from the environment / .env"
    else
        say "Database: embedded PostgreSQL in $data_dir/pg (its log: $data_dir/embedded-postgres.log)"
        EMBEDDED_STARTED=1
        trap stop_embedded_db EXIT
        database_url="$("$PYTHON" -m chat_server embedded-db start)" ||
            die "the embedded PostgreSQL did not start (see above)"
    fi
    say "Applying migrations"
    DATABASE_URL="$database_url" "$PYTHON" -m chat_server migrate
    say "Seeding demo data (idempotent)"
    DATABASE_URL="$database_url" "$PYTHON" -m chat_server seed

    start_banner_watcher "$port"
    say "Starting the server on $host:$port"
    exec "$PYTHON" -m chat_server serve --host "$host" --port "$port"
}

# ----------------------------------------------------------------------------------- test ---

run_tests() {
    if [[ -f .ci/run ]]; then
        exec bash .ci/run
    fi
    die ".ci/run is missing: is this a full checkout?"
}

# ----------------------------------------------------------------------------------- main ---

main() {
    local mode=auto
    while (($#)); do
        case "$1" in
            -h | --help)
                usage
                return 0
                ;;
            --local) mode=local ;;
            --docker) mode=docker ;;
            test) mode="test" ;;
            *)
                printf 'unknown argument: %s\n\n' "$1" >&2
                usage >&2
                return 2
                ;;
        esac
        shift
    done

    case "$mode" in
        test) run_tests ;;
        local) run_local "--local was given" ;;
        docker)
            docker_usable || die "Docker mode is not possible: $DOCKER_REASON"
            run_docker
            ;;
        auto)
            # Only an unusable Docker falls back; a stack that fails to build or start is an
            # error to fix (run_docker says so). It stays outside any `if`: bash ignores
            # `set -e` inside a condition.
            if docker_usable; then
                run_docker
            else
                run_local "$DOCKER_REASON; falling back to a local run without Docker"
            fi
            ;;
    esac
}

main "$@"
