#!/usr/bin/env bash
# etcdctl-sidecar: a benchmark peer, the shell-script way of registering services in etcd.
# For each of N services, one after the other:
#   etcdctl lease grant TTL; etcdctl put --lease=ID KEY VALUE; etcdctl lease keep-alive ID &
# On SIGTERM/SIGINT: stop the keep-alives, then for each service `etcdctl del KEY` and
# `etcdctl lease revoke ID`, one after the other; exit 0.
#
# Keys are <prefix>/<name-prefix><i>/<addr> with the value <addr> (go-kit's layout, as the other
# peers), i in [0, N).
#
# usage: etcdctl-sidecar.sh --etcd HOST:PORT --services N --addr HOST:PORT
#                           [--prefix /services] [--name-prefix svc-] [--ttl 10] [--etcdctl PATH]
# stdout: "registered N" once every put has returned; "deregistered N" after the teardown.
set -uo pipefail
# SIDECAR_TRACE=1: trace every command with a timestamp, on stderr.
[ -n "${SIDECAR_TRACE:-}" ] && { PS4='+ $(date +%T.%N) '; set -x; }

etcd=127.0.0.1:2379 services=1 addr=127.0.0.1:50051 prefix=/services name_prefix=svc- ttl=10
etcdctl=etcdctl
while [ $# -gt 0 ]; do
  case "$1" in
    --etcd) etcd=$2 ;;
    --services) services=$2 ;;
    --addr) addr=$2 ;;
    --prefix) prefix=$2 ;;
    --name-prefix) name_prefix=$2 ;;
    --ttl) ttl=$2 ;;
    --etcdctl) etcdctl=$2 ;;
    *) echo "etcdctl-sidecar: unknown argument $1" >&2; exit 2 ;;
  esac
  shift 2 || { echo "etcdctl-sidecar: $1 needs a value" >&2; exit 2; }
done

export ETCDCTL_API=3
ctl() { "$etcdctl" --endpoints="$etcd" --dial-timeout=3s --command-timeout=5s "$@"; }

keys=() leases=() keepalives=()
stopping=0
teardown() {
  stopping=1
  [ ${#keepalives[@]} -gt 0 ] && kill "${keepalives[@]}" 2>/dev/null
  wait 2>/dev/null
  local done=0 i
  for i in "${!keys[@]}"; do
    ctl del "${keys[$i]}" >/dev/null && ctl lease revoke "${leases[$i]}" >/dev/null && done=$((done + 1))
  done
  echo "deregistered $done"
  exit 0
}
trap teardown TERM INT

for ((i = 0; i < services && !stopping; i++)); do
  key="$prefix/$name_prefix$i/$addr"
  # "lease 694d7c5e1f0a3b04 granted with TTL(10s)"
  lease=$(ctl lease grant "$ttl" | awk '$1 == "lease" && $3 == "granted" {print $2}')
  [ -n "$lease" ] || { echo "etcdctl-sidecar: lease grant failed" >&2; exit 1; }
  keys+=("$key") leases+=("$lease")  # before the put, so that a SIGTERM from here on removes it
  ctl put --lease="$lease" "$key" "$addr" >/dev/null || { echo "etcdctl-sidecar: put $key failed" >&2; exit 1; }
  ctl lease keep-alive "$lease" >/dev/null &
  keepalives+=($!)
done
echo "registered ${#keys[@]}"

# Wait for a signal; `wait` returns early when one arrives, and the trap runs.
while :; do
  wait
  if [ -z "$(jobs -pr)" ]; then
    echo "etcdctl-sidecar: every keep-alive has exited" >&2
    exit 1
  fi
done
