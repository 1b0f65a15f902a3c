#!/usr/bin/env bash
# kukeon quick start for a fresh Debian/Ubuntu machine (run as root, from this checkout):
#   installs what is missing (system packages, kukeon in /opt/kukeon/venv), starts kukeond
#   (with its own containerd when none is running), applies examples/hello-world.yaml and
#   prints where the page is served. Safe to run again.
#   ./install.sh --uninstall [--yes] [--keep-data]
#                              stops kukeond and removes every container, network, cgroup
#                              and file it created (--keep-data keeps /var/lib/kukeon:
#                              the store and images).
# Environment: KUKEON_WHEELHOUSE=DIR installs Python packages from DIR only (offline).
set -euo pipefail
cd "$(dirname "$0")"
HERE=$(pwd)
PREFIX=/opt/kukeon
VENV=$PREFIX/venv
SOCK=/run/kukeon/kukeond.sock
LOG=/var/log/kukeon/kukeond.log
PKGS="containerd runc containernetworking-plugins busybox-static iptables iproute2 util-linux python3-venv"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
[ "$(id -u)" = 0 ] || { echo "install.sh: run as root (sudo ./install.sh)" >&2; exit 2; }

uninstall() {
  local keep=no yes=no
  for arg in "$@"; do
    case "$arg" in
      --keep-data) keep=yes ;;
      --yes|-y) yes=yes ;;
      *) echo "install.sh: unknown option $arg" >&2; exit 2 ;;
    esac
  done
  if [ $yes = no ]; then
    [ -t 0 ] || { echo "install.sh --uninstall: add --yes to confirm (no terminal to ask)" >&2; exit 2; }
    read -r -p "Remove kukeon and everything it runs on this host? [y/N] " answer
    case "$answer" in y|Y|yes) ;; *) echo "nothing removed"; exit 1 ;; esac
  fi
  if [ -x "$VENV/bin/kuke" ] && [ -S "$SOCK" ]; then
    say "deleting the example"
    "$VENV/bin/kuke" delete -f examples/hello-world.yaml --wait --timeout 60s || true
  fi
  say "stopping kukeond and removing what it created"
  if [ -d /run/systemd/system ] && systemctl list-unit-files kukeond.service >/dev/null 2>&1; then
    systemctl disable --now kukeond.service || true
    rm -f /etc/systemd/system/kukeond.service && systemctl daemon-reload
  elif [ -f /run/kukeon/kukeond.pid ]; then
    kill "$(cat /run/kukeon/kukeond.pid)" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$(cat /run/kukeon/kukeond.pid)" 2>/dev/null || break; sleep 0.1; done
  fi
  [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -m kukeon.app.uninstall
  rm -rf "$PREFIX" /usr/local/bin/kuke /usr/local/bin/kukeond /run/kukeon /var/log/kukeon
  if [ $keep = yes ]; then
    say "kukeon removed (kept /var/lib/kukeon and the manifests in /etc/kukeon)"
  else
    rm -rf /var/lib/kukeon
    say "kukeon removed (the manifests in /etc/kukeon were kept)"
  fi
}
if [ "${1:-}" = "--uninstall" ]; then shift; uninstall "$@"; exit 0; fi

missing=$(for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
  say "installing system packages: $(echo $missing)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

say "installing kukeon into $VENV"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
if [ -n "${KUKEON_WHEELHOUSE:-}" ]; then
  "$VENV/bin/pip" install -q --no-index --find-links "$KUKEON_WHEELHOUSE" -c constraints.txt kukeon
else
  "$VENV/bin/pip" install -q -c constraints.txt "$HERE"
fi
ln -sf "$VENV/bin/kuke" /usr/local/bin/kuke
ln -sf "$VENV/bin/kukeond" /usr/local/bin/kukeond
getent group kukeon >/dev/null || groupadd --system kukeon
mkdir -p /etc/kukeon/manifests /var/log/kukeon

if [ -S "$SOCK" ] && kuke version >/dev/null 2>&1; then
  say "kukeond is already running"
elif [ -d /run/systemd/system ]; then
  say "starting kukeond (systemd unit kukeond.service)"
  sed "s|/usr/local/bin/kukeond|$VENV/bin/kukeond|" systemd/kukeond.service > /etc/systemd/system/kukeond.service
  systemctl daemon-reload
  systemctl enable --now kukeond.service
else
  say "starting kukeond in the background (no systemd here), log in $LOG"
  mkdir -p /run/kukeon
  nohup "$VENV/bin/kukeond" >>"$LOG" 2>&1 &
  echo $! > /run/kukeon/kukeond.pid
fi
for _ in $(seq 100); do [ -S "$SOCK" ] && kuke version >/dev/null 2>&1 && break; sleep 0.2; done
kuke version >/dev/null || { echo "kukeond did not come up; see $LOG" >&2; tail -20 "$LOG" >&2; exit 1; }

IMAGE=docker.io/library/busybox:latest
if ! kuke image ls | grep -q "$IMAGE"; then
  if ! timeout 60 kuke image pull "$IMAGE"; then
    say "cannot reach docker.io: seeding $IMAGE from Debian's busybox-static instead"
    seed=$(mktemp --suffix=.tar)
    "$VENV/bin/python" -m kukeon.drivers.containerd.seed "$seed" "$IMAGE"
    kuke image import "$seed"
    rm -f "$seed"
  fi
fi

say "applying examples/hello-world.yaml"
kuke apply -f examples/hello-world.yaml --wait --timeout 120s
kuke get cells
say "hello-world is served at http://127.0.0.1:8080/  (try: wget -qO- http://127.0.0.1:8080/)"
