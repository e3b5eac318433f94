#!/usr/bin/env bash
# A disposable Samba Active Directory domain controller on loopback, for tests, CI and the examples.
#
#   scripts/testdc.sh install install Debian's samba packages when missing (root) and the hosts line
#   scripts/testdc.sh start   install, provision (first time) and start; prints the env file's path
#   scripts/testdc.sh stop    stop the DC started here and remove its folder
#   scripts/testdc.sh status  exit 0 when it answers
#
# Everything lives under $ODJ_TESTDC_DIR (default /tmp/odj-testdc). The env file written there
# ($ODJ_TESTDC_DIR/env) is what tests and examples read: LDAP URL, CA file, admin credentials, realm.
# Nothing listens beyond 127.0.0.1 and the DNS forwarder is removed, so no traffic leaves loopback.
set -euo pipefail

DIR=${ODJ_TESTDC_DIR:-/tmp/odj-testdc}
REALM=${ODJ_TESTDC_REALM:-ODJTEST.TEST}
DOMAIN=${ODJ_TESTDC_DOMAIN:-ODJTEST}
HOST=${ODJ_TESTDC_HOST:-dc1}
# A second DC (tests that pause or kill their own) takes another loopback address, e.g. 127.0.0.2,
# with its own ODJ_TESTDC_DIR, REALM and HOST; the default DC keeps 127.0.0.1.
IP=${ODJ_TESTDC_IP:-127.0.0.1}
DNSDOMAIN=$(echo "$REALM" | tr '[:upper:]' '[:lower:]')
FQDN="$HOST.$DNSDOMAIN"
PACKAGES="samba samba-ad-dc samba-ad-provision winbind krb5-user libgssapi-krb5-2 smbclient ldb-tools samba-testsuite iproute2"

log() { echo "testdc: $*" >&2; }

ensure_packages() {
  if command -v samba >/dev/null && command -v samba-tool >/dev/null && command -v ndrdump >/dev/null \
     && command -v net >/dev/null && command -v kinit >/dev/null && command -v ldbsearch >/dev/null \
     && command -v tdbdump >/dev/null && command -v ip >/dev/null; then
    return
  fi
  if [ "$(id -u)" != 0 ]; then
    log "Samba is missing and this is not root: install as root: apt-get install $PACKAGES"; exit 1
  fi
  log "installing Debian packages: $PACKAGES"
  export DEBIAN_FRONTEND=noninteractive
  # Keep the packages' own smbd/nmbd/winbind services from starting on all interfaces: only
  # our DC runs, on loopback. policy-rc.d is Debian's switch for that; ours only if none exists.
  local policy=/usr/sbin/policy-rc.d own_policy=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod 755 "$policy"; own_policy=1
  fi
  local rc=0
  { apt-get update -q && apt-get install -y -q $PACKAGES; } >"${TMPDIR:-/tmp}/odj-testdc-apt.log" 2>&1 || rc=$?
  [ -n "$own_policy" ] && rm -f "$policy"
  if [ "$rc" != 0 ]; then
    tail -20 "${TMPDIR:-/tmp}/odj-testdc-apt.log" >&2; log "apt-get failed (exit $rc)"; exit 1
  fi
}

ensure_hosts() {
  # Clients (Node's TLS check against the certificate's CN, net ads, kinit) find the DC by name.
  if ! grep -qE "^${IP//./\\.}[[:space:]].*\b$FQDN\b" /etc/hosts; then
    if [ -w /etc/hosts ]; then echo "$IP $FQDN $HOST" >> /etc/hosts
    else log "add '$IP $FQDN' to /etc/hosts (needs root)"; exit 1; fi
  fi
}

# Samba binds only addresses an interface holds: another loopback address goes on lo first.
ensure_ip() {
  [ "$IP" = 127.0.0.1 ] && return
  ip -4 addr show dev lo | grep -q "inet $IP/" && return
  ip addr add "$IP/8" dev lo || { log "cannot add $IP to lo (needs root)"; exit 1; }
}

pid_alive() {
  [ -f "$DIR/samba.pid" ] && kill -0 "$(cat "$DIR/samba.pid")" 2>/dev/null
}

answers() {
  timeout 5 ldbsearch -H "ldap://$IP" -s base -b "" defaultNamingContext >/dev/null 2>&1 \
    && timeout 2 bash -c "</dev/tcp/$IP/636" 2>/dev/null
}

is_up() { pid_alive && answers; }

# Our samba is running: give a busy one time to answer instead of starting a second one.
wait_up() {
  for _ in $(seq 1 120); do
    if is_up; then return 0; fi
    pid_alive || return 1
    sleep 0.5
  done
  return 1
}

# Another process (a second DC, a system smbd) on the DC's ports would answer in our place.
ports_free() {
  local port
  for port in 88 389 636; do
    if timeout 2 bash -c "</dev/tcp/$IP/$port" 2>/dev/null; then
      log "$IP:$port is already taken by another process (another DC? reuse it with ODJ_TESTDC_ENV=<its env file>)"
      return 1
    fi
  done
}

provision() {
  rm -rf "$DIR"; mkdir -p "$DIR"
  local pass
  pass="Odj-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')!A1"
  log "provisioning $REALM in $DIR"
  # The default DC takes 127.0.0.1 only (not all of lo, where a second instance may own another
  # address); its pid file and logs go under its own folder, so a packaged samba service does not
  # make it refuse to start. It keeps winbindd's default socket: smbd's winbind client finds winbindd
  # only there, and SMB logons fail without it.
  local ifaces=(--option="interfaces=127.0.0.1/8" --option="pid directory=$DIR/run" --option="log file=$DIR/log.%m")
  # Another instance takes only its own address, no NetBIOS name service (the default DC holds its
  # broadcast socket, 127.255.255.255:137), and keeps its sockets to itself.
  [ "$IP" != 127.0.0.1 ] && ifaces=(--option="interfaces=$IP/8" --option="disable netbios=yes"
    --option="pid directory=$DIR/run" --option="ncalrpc dir=$DIR/run/ncalrpc"
    --option="winbindd socket directory=$DIR/run/winbindd" --option="ntp signd socket directory=$DIR/run/ntp_signd"
    --option="log file=$DIR/log.%m")
  samba-tool domain provision --realm="$REALM" --domain="$DOMAIN" --server-role=dc \
    --dns-backend=SAMBA_INTERNAL --adminpass="$pass" --host-name="$HOST" --host-ip="$IP" \
    --targetdir="$DIR" "${ifaces[@]}" --option="bind interfaces only=yes" \
    --use-rfc2307 >"$DIR/provision.log" 2>&1 || { tail -20 "$DIR/provision.log" >&2; exit 1; }
  local conf="$DIR/etc/smb.conf"
  # No DNS forwarding: the provisioning writes the host's resolver here, which is not loopback.
  sed -i '/^[[:space:]]*dns forwarder[[:space:]]*=/d' "$conf"
  cat > "$DIR/env" <<EOF
ODJ_TEST_REALM=$REALM
ODJ_TEST_DOMAIN=$DNSDOMAIN
ODJ_TEST_NETBIOS_DOMAIN=$DOMAIN
ODJ_TEST_DC_HOST=$FQDN
ODJ_TEST_DC_IP=$IP
ODJ_TEST_LDAP_URL=ldaps://$FQDN:636
ODJ_TEST_CA_FILE=$DIR/private/tls/ca.pem
ODJ_TEST_ADMIN_USER=Administrator@$DNSDOMAIN
ODJ_TEST_ADMIN_PASSWORD=$pass
ODJ_TEST_SMB_CONF=$DIR/etc/smb.conf
ODJ_TEST_KRB5_CONFIG=$DIR/krb5.conf
ODJ_TEST_DC_DIR=$DIR
EOF
  chmod 600 "$DIR/env"
  # Kerberos clients (kinit, net, samba-tool, libnetapi) must find the KDC by address: the system
  # krb5.conf and the one provisioning writes both look it up in DNS, which is not on loopback.
  cat > "$DIR/krb5.conf" <<EOF
[libdefaults]
	default_realm = $REALM
	dns_lookup_realm = false
	dns_lookup_kdc = false
	rdns = false
[realms]
	$REALM = {
		kdc = $IP
		admin_server = $IP
		default_domain = $DNSDOMAIN
	}
[domain_realm]
	.$DNSDOMAIN = $REALM
	$DNSDOMAIN = $REALM
EOF
}

start() {
  ensure_packages
  ensure_hosts
  ensure_ip
  if pid_alive; then
    if wait_up; then log "already running ($DIR)"; echo "$DIR/env"; return; fi
    log "samba (pid $(cat "$DIR/samba.pid")) runs but does not answer; see $DIR/samba.log"; exit 1
  fi
  ports_free || exit 1
  [ -f "$DIR/env" ] && [ -f "$DIR/etc/smb.conf" ] || provision
  log "starting samba"
  # -i keeps it in the foreground of its own process group, so its pid is ours to stop.
  setsid samba -s "$DIR/etc/smb.conf" -i -M single >"$DIR/samba.log" 2>&1 < /dev/null &
  echo $! > "$DIR/samba.pid"
  for _ in $(seq 1 120); do
    if is_up; then log "up: ldaps://$FQDN:636 (env: $DIR/env)"; echo "$DIR/env"; return; fi
    kill -0 "$(cat "$DIR/samba.pid")" 2>/dev/null || { tail -20 "$DIR/samba.log" >&2; exit 1; }
    sleep 0.5
  done
  log "samba did not answer within 60 s"; tail -20 "$DIR/samba.log" >&2; exit 1
}

stop() {
  if [ -f "$DIR/samba.pid" ]; then
    local pid; pid=$(cat "$DIR/samba.pid")
    # samba forks workers in its process group; end the group, then wait.
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  # smbd and winbindd run in process groups of their own and can outlive the root process; every
  # process of this DC names its smb.conf on its command line.
  if pgrep -f -- "--configfile=$DIR/etc/smb.conf" >/dev/null; then
    pkill -TERM -f -- "--configfile=$DIR/etc/smb.conf" || true
    for _ in $(seq 1 20); do pgrep -f -- "--configfile=$DIR/etc/smb.conf" >/dev/null || break; sleep 0.25; done
    pkill -KILL -f -- "--configfile=$DIR/etc/smb.conf" || true
  fi
  # Remove only a folder this script made (it may have been pointed at the wrong place).
  if [ -f "$DIR/provision.log" ] || [ -f "$DIR/samba.pid" ]; then rm -rf "$DIR"; fi
  log "stopped"
}

case "${1:-}" in
  install) ensure_packages; ensure_hosts ;;
  start) start ;;
  stop) stop ;;
  status) pid_alive && wait_up ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
