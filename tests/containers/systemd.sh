# shellcheck shell=bash
# The unit under a real systemd (sourced by scripts/containers, which defines log, fail, result,
# wait_for, free_port, now_ms, $WORK, $OUT, $RUN_ID, $SYSTEMD_IMG, $HELLO_IMG, $CONSUL_DOUBLE).
#
# systemd boots in a container (--systemd=always) on the host's network namespace, so the
# daemon inside reaches the host's loopback: a TLS etcd (client certificates required), the
# example service serving TLS (client certificates required), and the Consul double over TLS with
# ACLs on. The .deb built by docker/Dockerfile's `package` target is installed with apt-get.

SYS=sys-$RUN_ID
UNIT=grpc-registrar.service

sx() { podman exec "$SYS" "$@"; }
sxi() { podman exec -i "$SYS" "$@"; }  # with this script's stdin
sprop() { sx systemctl show -p "$1" --value "$UNIT"; }
# Whether the unit's journal has a line matching the extended regex $1 (captured first: with
# pipefail, grep -q closing the pipe early would fail journalctl).
journal_has() {
  local j
  j=$(sx journalctl -u "$UNIT" --no-pager 2>&1 || true)
  grep -qE "$1" <<<"$j"
}

# What the journal says about the unit, for failure messages: a killed-by-SIGSYS or EPERM names
# the sandbox setting's class.
unit_diagnosis() {
  local j
  j=$(sx journalctl -u "$UNIT" --no-pager -n 40 2>&1 || true)
  if grep -q 'status=31/SYS' <<<"$j"; then
    echo "the daemon was killed by SIGSYS: a system call the unit's SystemCallFilter= forbids"
  fi
  if grep -qiE 'operation not permitted|EPERM' <<<"$j"; then
    echo "a call failed with EPERM (Operation not permitted): a sandbox setting forbids it"
  fi
  if grep -q 'Address family not supported' <<<"$j"; then
    echo "a socket family RestrictAddressFamilies= does not list"
  fi
  echo "drop-ins: $(sx sh -c 'cat /etc/systemd/system/grpc-registrar.service.d/*.conf 2>/dev/null' | grep -v '^\[' | tr '\n' ' ')"
  echo "journal (last lines):"
  echo "$j" | tail -25
}

unit_fail() { fail "$1
$(unit_diagnosis)"; }

make_pki() {
  local d=$WORK/pki
  mkdir -p "$d"
  (
    cd "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=registrar-test-ca \
      -keyout ca.key -out ca.pem 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' >ext.cnf
    for n in server client; do
      openssl req -newkey rsa:2048 -nodes -subj "/CN=$n" -keyout "$n.key" -out "$n.csr" 2>/dev/null
      openssl x509 -req -in "$n.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile ext.cnf -out "$n.pem" 2>/dev/null
    done
    chmod 0644 ./*.pem ./*.key  # the hello container's user reads them; test keys only
  ) || fail "openssl could not make the test certificates"
}

host_services() {
  make_pki
  local pki=$WORK/pki
  EP=$(free_port)
  local peer
  peer=$(free_port)
  etcd --name sys --data-dir "$WORK/etcd" --listen-client-urls "https://127.0.0.1:$EP" \
    --advertise-client-urls "https://127.0.0.1:$EP" --listen-peer-urls "http://127.0.0.1:$peer" \
    --initial-advertise-peer-urls "http://127.0.0.1:$peer" --initial-cluster "sys=http://127.0.0.1:$peer" \
    --cert-file "$pki/server.pem" --key-file "$pki/server.key" --client-cert-auth \
    --trusted-ca-file "$pki/ca.pem" >"$WORK/etcd.log" 2>&1 &
  PIDS+=($!)
  ETCDCTL=(etcdctl --endpoints "127.0.0.1:$EP" --cacert "$pki/ca.pem" --cert "$pki/client.pem" --key "$pki/client.key")
  wait_for 30 etcd "${ETCDCTL[@]}" endpoint health || fail "TLS etcd did not start; $(tail -5 "$WORK/etcd.log")"
  HP=$(free_port)
  podman run -d --name "shello-$RUN_ID" --network host -v "$pki:/pki:ro" "$HELLO_IMG" \
    --listen "127.0.0.1:$HP" --tls-cert /pki/server.pem --tls-key /pki/server.key \
    --tls-client-ca /pki/ca.pem >/dev/null
  CONTAINERS+=("shello-$RUN_ID")
  CP=$(free_port)
  echo "registrar-test-acl-token-$RUN_ID" >"$WORK/consul.token"
  "$CONSUL_DOUBLE" --listen "127.0.0.1:$CP" --tls-cert "$pki/server.pem" --tls-key "$pki/server.key" \
    --acl-token-file "$WORK/consul.token" >"$WORK/consul.log" 2>&1 &
  PIDS+=($!)
  CONSUL=(curl -sf --max-time 2 --cacert "$pki/ca.pem" -H "X-Consul-Token: $(cat "$WORK/consul.token")")
  # The same as a command for `sh -c` strings (the header has a space).
  printf '#!/bin/sh\nexec curl -sf --max-time 2 --cacert %s -H "X-Consul-Token: %s" "$@"\n' \
    "$pki/ca.pem" "$(cat "$WORK/consul.token")" >"$WORK/consul-get"
  chmod 0700 "$WORK/consul-get"
  wait_for 20 consul "${CONSUL[@]}" "https://127.0.0.1:$CP/v1/agent/self" || fail "Consul double did not start"
}

boot_systemd() {
  local t0
  t0=$(now_ms)
  podman run -d --name "$SYS" --systemd=always --network host -v "$OUT/deb:/debs:ro" \
    -v "$WORK/pki:/pki:ro" "$SYSTEMD_IMG" >/dev/null
  CONTAINERS+=("$SYS")
  local state="" end=$((t0 + 90000))
  # The first calls may come before systemd listens on its bus: ask again, 90 s at most.
  while [ "$(now_ms)" -lt "$end" ]; do
    state=$(timeout 60 podman exec "$SYS" systemctl is-system-running --wait 2>/dev/null || true)
    case "$state" in running | degraded) break ;; esac
    sleep 0.2
  done
  case "$state" in
    running | degraded) ;;
    *) fail "systemd in the container did not come up (state '$state')" ;;
  esac
  result "systemd container: boot to $state" "$(($(now_ms) - t0)) ms"
  # TLS material where the manifest names it; the keys reach the daemon as credentials.
  sx sh -c 'install -d -m 0755 /etc/grpc-registrar/tls &&
    install -m 0644 /pki/ca.pem /pki/client.pem /etc/grpc-registrar/tls/ &&
    install -m 0600 /pki/client.key /etc/grpc-registrar/tls/client.key'
}

etcd_manifest() {  # SERVICES_YAML
  cat <<EOF
registry:
  kind: etcd
  etcd:
    endpoints: 127.0.0.1:$EP
    lease_ttl: 10s
    tls:
      ca_file: /etc/grpc-registrar/tls/ca.pem
      cert_file: /etc/grpc-registrar/tls/client.pem
      key_file: \${CREDENTIALS_DIRECTORY}/client.key
defaults:
  probe:
    tls:
      ca_file: /etc/grpc-registrar/tls/ca.pem
      cert_file: /etc/grpc-registrar/tls/client.pem
      key_file: \${CREDENTIALS_DIRECTORY}/client.key
status:
  listen: 127.0.0.1:$(free_port)
shutdown_timeout: 5s
services:
$1
EOF
}
svc() {  # NAME [HEALTH_SERVICE]
  printf '  - name: %s\n    address: 127.0.0.1\n    port: %s\n    probe:\n      target: 127.0.0.1:%s\n' "$1" "$HP" "$HP"
  [ -z "${2:-}" ] || printf '      service: %s\n' "$2"
}
put_manifest() { sxi sh -c 'cat > /etc/grpc-registrar/services.yaml'; }

dropin() {
  local extra=""
  # The deliberate fault: a sandbox setting the daemon cannot live with (no network sockets).
  [ "$BREAK" != sandbox ] || extra="SystemCallFilter=~@network-io"
  sxi sh -c "mkdir -p /etc/systemd/system/grpc-registrar.service.d && cat > /etc/systemd/system/grpc-registrar.service.d/test.conf" <<EOF
[Service]
# The TLS client key as a credential (the dynamic user cannot read /etc/grpc-registrar/tls).
LoadCredential=client.key:/etc/grpc-registrar/tls/client.key
# A short watchdog for the test of a frozen daemon.
WatchdogSec=3s
$extra
EOF
  sx systemctl daemon-reload
}

etcd_count() { "${ETCDCTL[@]}" get --prefix --keys-only "$1" | grep -c . || true; }

install_package() {
  local t0
  t0=$(now_ms)
  sx sh -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q /debs/v1/grpc-registrar_*.deb' \
    >"$WORK/install.log" 2>&1 || fail "apt-get install of the .deb failed: $(tail -5 "$WORK/install.log")"
  result "systemd: apt-get install of the .deb" "$(($(now_ms) - t0)) ms"
  local pv bv
  pv=$(sx dpkg-query -W -f '${Version}' grpc-registrar)
  bv=$(sx grpc-registrar --version)
  [ "$bv" = "grpc-registrar $pv" ] || fail "--version says '$bv', the package is $pv"
  [ "$(sx systemctl is-enabled "$UNIT" 2>&1 || true)" = disabled ] ||
    fail "the package enabled the unit; it must wait for the manifest to be edited"
}

start_checks() {
  { etcd_manifest "$(svc hello)"; } | put_manifest
  dropin
  local ms
  sx systemctl start "$UNIT" || unit_fail "systemctl start failed"
  # systemd's own clock: leaving "inactive" (ExecStartPre begins) to "active" (READY=1).
  ms=$((($(sprop ActiveEnterTimestampMonotonic) - $(sprop InactiveExitTimestampMonotonic)) / 1000))
  # Type=notify: start returned on READY=1, which comes after the first registration pass.
  [ "$(etcd_count /services/hello)" -ge 1 ] ||
    unit_fail "systemctl start returned before the entry was in etcd (READY=1 too early?)"
  result "systemd: systemctl start to READY=1 (entry already in etcd, TLS to etcd and service)" "$ms ms"
  local st
  st=$(sx systemctl status "$UNIT" --no-pager 2>&1 || true)
  grep -q 'Status: "1/1 healthy, 1 registered in etcd' <<<"$st" ||
    unit_fail "systemctl status shows no STATUS= summary: $(grep -i status: <<<"$st")"
  # Reload (SIGHUP) applies a changed manifest.
  { etcd_manifest "$(svc hello; svc ping hello.v1.Ping)"; } | put_manifest
  sx systemctl reload "$UNIT" || unit_fail "systemctl reload failed"
  wait_for 15 ping sh -c "[ \$(${ETCDCTL[*]} get --prefix --keys-only /services/ping | grep -c .) -ge 1 ]" ||
    unit_fail "systemctl reload did not apply the changed manifest (no /services/ping)"
  log "systemd: start, status, reload: ok"
}

watchdog_check() {
  local pid0 restarts0
  pid0=$(sprop MainPID)
  restarts0=$(sprop NRestarts)
  sx systemctl kill --kill-who=main --signal=SIGSTOP "$UNIT"
  local t0
  t0=$(now_ms)
  wait_for 40 restart sh -c "[ \"\$(podman exec $SYS systemctl show -p NRestarts --value $UNIT)\" -gt $restarts0 ] &&
    podman exec $SYS systemctl is-active --quiet $UNIT" ||
    unit_fail "a SIGSTOPped daemon was not restarted by the watchdog (WatchdogSec=3s)"
  result "systemd: SIGSTOP to active again (watchdog 3s + RestartSec 2s)" "$(($(now_ms) - t0)) ms"
  [ "$(sprop MainPID)" != "$pid0" ] || unit_fail "watchdog: same MainPID after the restart"
  journal_has 'Watchdog timeout' ||
    unit_fail "the restart was not the watchdog's"
  log "systemd: watchdog: ok"
}

bad_manifest_check() {
  sx cp /etc/grpc-registrar/services.yaml /root/good.yaml
  printf 'registry:\n  kind: etcd\n  bogus_key: 1\nservices: []\n' | put_manifest
  if sx systemctl restart "$UNIT" 2>/dev/null; then
    unit_fail "a bad manifest did not stop the start (ExecStartPre=grpc-registrar check)"
  fi
  local restarts
  restarts=$(sprop NRestarts)
  sleep 5  # RestartSec=2s twice over: a restart would have happened
  [ "$(sprop ActiveState)" = failed ] || unit_fail "after a refused manifest the unit is $(sprop ActiveState), not failed"
  [ "$(sprop NRestarts)" = "$restarts" ] ||
    unit_fail "a refused manifest is restarted in a loop (NRestarts $restarts -> $(sprop NRestarts))"
  journal_has 'services.yaml:3:3: registry.bogus_key' ||
    unit_fail "the journal does not name the bad line of the manifest"
  sx cp /root/good.yaml /etc/grpc-registrar/services.yaml
  sx systemctl reset-failed "$UNIT"
  sx systemctl start "$UNIT" || unit_fail "start after fixing the manifest failed"
  log "systemd: refused manifest stays stopped: ok"
}

# The upgrade hands over: a watcher on the prefix sees no DELETE, and the conffile stays.
upgrade_check() {
  local before pid0 t0
  before=$(sx sha256sum /etc/grpc-registrar/services.yaml)
  pid0=$(sprop MainPID)
  "${ETCDCTL[@]}" watch --prefix /services >"$WORK/watch-upgrade.log" 2>&1 &
  local watcher=$!
  PIDS+=("$watcher")
  sleep 1
  t0=$(now_ms)
  sx sh -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q /debs/v2/grpc-registrar_*.deb' \
    >"$WORK/upgrade.log" 2>&1 || fail "apt-get install of the newer .deb failed: $(tail -5 "$WORK/upgrade.log")"
  result "systemd: apt-get install of the newer .deb (hand-over restart included)" "$(($(now_ms) - t0)) ms"
  sleep 2
  kill "$watcher" 2>/dev/null || true
  local deletes
  deletes=$(grep -c '^DELETE' "$WORK/watch-upgrade.log" || true)
  [ "$deletes" = 0 ] || unit_fail "the upgrade removed entries: a watcher saw $deletes DELETE"
  [ "$(sprop MainPID)" != "$pid0" ] || unit_fail "the upgrade did not restart the daemon"
  sx systemctl is-active --quiet "$UNIT" || unit_fail "the daemon is not active after the upgrade"
  local pv bv
  pv=$(sx dpkg-query -W -f '${Version}' grpc-registrar)
  bv=$(sx grpc-registrar --version)
  case "$pv" in *"$V2_SUFFIX") ;; *) fail "after the upgrade the package is $pv" ;; esac
  [ "$bv" = "grpc-registrar $pv" ] || fail "after the upgrade --version says '$bv', the package is $pv"
  [ "$(sx sha256sum /etc/grpc-registrar/services.yaml)" = "$before" ] || fail "the upgrade replaced the edited manifest (conffile)"
  [ "$(etcd_count /services/)" = 2 ] || unit_fail "after the upgrade etcd holds $(etcd_count /services/) entries, not 2"
  journal_has 'handing over' || unit_fail "the old run did not hand over"
  result "systemd: DELETE events a watcher saw during the package upgrade" "$deletes (PUTs: $(grep -c '^PUT' "$WORK/watch-upgrade.log" || true))"
  log "systemd: upgrade with hand-over: ok"
}

stop_check() {  # LABEL GONE_CMD...
  local label=$1 t0 ms=""
  shift
  t0=$(now_ms)
  sx systemctl stop "$UNIT"
  local end=$(($(now_ms) + 5000))
  while [ "$(now_ms)" -lt "$end" ]; do
    if "$@" >/dev/null 2>&1; then
      ms=$(($(now_ms) - t0))
      break
    fi
    sleep 0.02
  done
  [ -n "$ms" ] || unit_fail "systemctl stop left entries ($label)"
  result "systemd: systemctl stop to registry empty ($label)" "$ms ms"
}

consul_check() {
  sxi sh -c 'cat > /etc/grpc-registrar/consul.token && chmod 0600 /etc/grpc-registrar/consul.token' <"$WORK/consul.token"
  cat <<EOF | put_manifest
registry:
  kind: consul
  consul:
    address: https://127.0.0.1:$CP
    check_ttl: 10s
    tls:
      ca_file: /etc/grpc-registrar/tls/ca.pem
defaults:
  probe:
    tls:
      ca_file: /etc/grpc-registrar/tls/ca.pem
      cert_file: /etc/grpc-registrar/tls/client.pem
      key_file: \${CREDENTIALS_DIRECTORY}/client.key
shutdown_timeout: 5s
services:
$(svc hello)
EOF
  sx systemctl start "$UNIT" || unit_fail "start against Consul failed"
  local passing="https://127.0.0.1:$CP/v1/health/service/hello?passing=1"
  wait_for 10 registered sh -c "$WORK/consul-get '$passing' | grep -c '\"Port\":$HP'" ||
    unit_fail "not registered in Consul (the ACL token comes from LoadCredential=consul-token)"
  # Hand-over by hand, as an operator restarts without a gap: SIGUSR2, exit 75, restarted.
  : >"$WORK/consul-poll.log"
  (
    for _ in $(seq 1 200); do
      "${CONSUL[@]}" "$passing" | grep -c '"Port":' >>"$WORK/consul-poll.log" || echo 0 >>"$WORK/consul-poll.log"
      sleep 0.05
    done
  ) &
  local poller=$!
  PIDS+=("$poller")
  local pid0
  pid0=$(sprop MainPID)
  sx systemctl kill --kill-who=main --signal=SIGUSR2 "$UNIT"
  wait_for 20 back sh -c "[ \"\$(podman exec $SYS systemctl show -p MainPID --value $UNIT)\" != $pid0 ] &&
    podman exec $SYS systemctl is-active --quiet $UNIT" || unit_fail "SIGUSR2 did not restart the daemon (RestartForceExitStatus=75)"
  sleep 1
  kill "$poller" 2>/dev/null || true
  wait "$poller" 2>/dev/null || true
  local gaps
  gaps=$(grep -c '^0$' "$WORK/consul-poll.log" || true)
  [ "$gaps" = 0 ] || unit_fail "during the SIGUSR2 hand-over Consul showed no passing instance $gaps times"
  result "systemd: Consul polls without a passing instance during a SIGUSR2 hand-over" "0 of $(wc -l <"$WORK/consul-poll.log")"
  stop_check "Consul" sh -c "[ \"\$($WORK/consul-get https://127.0.0.1:$CP/v1/agent/services)\" = '{}' ]"
  log "systemd: Consul with TLS, token from LoadCredential=, hand-over, stop: ok"
}

sandbox_check() {
  local j
  j=$(sx journalctl -u "$UNIT" --no-pager)
  if grep -nE 'status=31/SYS|Operation not permitted|EPERM|Permission denied|audit' <<<"$j" >"$WORK/denials.txt"; then
    fail "the sandbox denied something:
$(head -10 "$WORK/denials.txt")"
  fi
  local exposure
  exposure=$(sx systemd-analyze security "$UNIT" --no-pager 2>&1 | sed -n 's/.*Overall exposure level for grpc-registrar.service: \([0-9.]* [A-Z]*\).*/\1/p')
  result "systemd: systemd-analyze security of the installed unit" "${exposure:-?}"
}

purge_check() {
  # The test's own files (an administrator's, not the package's): the drop-in and the TLS files.
  sx rm -rf /etc/systemd/system/grpc-registrar.service.d /etc/grpc-registrar/tls
  sx systemctl enable --quiet "$UNIT"
  local files
  files=$(sx dpkg -L grpc-registrar)
  sx sh -c 'DEBIAN_FRONTEND=noninteractive apt-get purge -y -q grpc-registrar' >"$WORK/purge.log" 2>&1 ||
    fail "apt-get purge failed: $(tail -5 "$WORK/purge.log")"
  local left
  left=$(sx sh -c "for f in $(grep -E 'grpc-registrar' <<<"$files" | tr '\n' ' ') /etc/grpc-registrar /etc/systemd/system/multi-user.target.wants/grpc-registrar.service; do [ -e \"\$f\" ] || [ -L \"\$f\" ] && echo \"\$f\"; done; true")
  [ -z "$left" ] || fail "apt-get purge left: $left"
  sx dpkg -s grpc-registrar >/dev/null 2>&1 && fail "dpkg still knows grpc-registrar after purge"
  log "systemd: purge leaves nothing: ok"
}

systemd_checks() {
  need etcd
  need openssl
  [ -x "$CONSUL_DOUBLE" ] || fail "no Consul double at $CONSUL_DOUBLE (set CONSUL_DOUBLE)"
  host_services
  boot_systemd
  install_package
  start_checks
  watchdog_check
  bad_manifest_check
  upgrade_check
  stop_check "etcd, after the upgrade" sh -c "[ -z \"\$(${ETCDCTL[*]} get --prefix --keys-only '' | grep -v '^\$')\" ] && [ -z \"\$(${ETCDCTL[*]} lease list | tail -n +2)\" ]"
  consul_check
  sandbox_check
  purge_check
}
