#!/usr/bin/env bash
# A disposable Samba Active Directory domain controller on loopback, for tests, CI and the examples.
#
#   scripts/testdc.sh install install Debian's samba packages when missing (root) and the hosts line
#   scripts/testdc.sh start   install, provision (first time) and start; prints the env file's path
#   scripts/testdc.sh stop    stop the DC started here and remove its folder
#   scripts/testdc.sh status  exit 0 when it answers
#   scripts/testdc.sh join DC|RODC  another DC of the first DC's domain (a replica or a read-only
#                             DC) on $ODJ_TESTDC_IP, started, its DNS records added on the first DC
#   scripts/testdc.sh leave   stop such a DC, remove it from the domain and delete its folder
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
PACKAGES="samba samba-ad-dc samba-ad-provision winbind krb5-user libgssapi-krb5-2 smbclient ldb-tools samba-testsuite iproute2 faketime"

log() { echo "testdc: $*" >&2; }

ensure_packages() {
  if command -v samba >/dev/null && command -v samba-tool >/dev/null && command -v ndrdump >/dev/null \
     && command -v net >/dev/null && command -v kinit >/dev/null && command -v ldbsearch >/dev/null \
     && command -v tdbdump >/dev/null && command -v ip >/dev/null && command -v faketime >/dev/null; then
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
  # Not `ip … | grep -q`: under pipefail, grep quitting early can fail the pipeline (SIGPIPE).
  grep -q "inet $IP/" <<<"$(ip -4 addr show dev lo)" && return
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

# samba_dnsupdate skips loopback addresses, so the DC's own A record is missing from its DNS: a
# client that finds the DC through SRV records (the DC locator, with the DC as its DNS server)
# could not resolve its name. Added once, as the DC's administrator (password in a 0600 file).
own_a_record() {
  local zone; zone=$(echo "$REALM" | tr '[:upper:]' '[:lower:]')
  local pw="$DIR/.pw" pass; pass=$(sed -n 's/^ODJ_TEST_ADMIN_PASSWORD=//p' "$DIR/env")
  (umask 077; printf '%s' "$pass" > "$pw")
  local t=(env KRB5_CONFIG="$DIR/krb5.conf" PASSWD_FILE="$pw" samba-tool dns)
  "${t[@]}" query "$IP" "$zone" "$HOST" A -U Administrator </dev/null >/dev/null 2>&1 \
    || "${t[@]}" add "$IP" "$zone" "$HOST" A "$IP" -U Administrator </dev/null >>"$DIR/dns.log" 2>&1 \
    || log "could not add $FQDN's A record to its DNS (see $DIR/dns.log)"
  rm -f "$pw"
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
    if is_up; then own_a_record; log "up: ldaps://$FQDN:636 (env: $DIR/env)"; echo "$DIR/env"; return; fi
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

# ---- more DCs of the first DC's domain (a replica, a read-only DC) --------------------------
# The first DC is named by $ODJ_TESTDC_FIRST_ENV (default: the default DC's env file). The new DC
# takes $ODJ_TESTDC_IP (not 127.0.0.1), $ODJ_TESTDC_HOST and $ODJ_TESTDC_DIR; realm and domain
# come from the first DC. Its SRV records get priority $ODJ_TESTDC_SRV_PRIORITY (default 10), so
# a locator keeps preferring the first DC (priority 0) while it answers.
FIRST_ENV=${ODJ_TESTDC_FIRST_ENV:-/tmp/odj-testdc/env}
first() { sed -n "s/^$1=//p" "$FIRST_ENV"; }

# samba-tool as the first DC's administrator: the password goes in a 0600 file (Samba's
# PASSWD_FILE), never on a command line.
first_auth() {
  (umask 077; first ODJ_TEST_ADMIN_PASSWORD > "$DIR/.pw")
  echo "$DIR/.pw"
}

first_tool() { KRB5_CONFIG=$(first ODJ_TEST_KRB5_CONFIG) PASSWD_FILE=$AUTH samba-tool "$@" -U Administrator </dev/null; }

# What `samba_dnsupdate` would register but skips for loopback addresses: the host's A record
# and its LDAP/Kerberos SRV records (an RODC only in its site, as Windows RODCs do).
dns_records() {
  local role=$1 fdns site prio
  fdns=$(first ODJ_TEST_DOMAIN); site=Default-First-Site-Name; prio=${ODJ_TESTDC_SRV_PRIORITY:-10}
  echo "$fdns $HOST A $IP"
  echo "_msdcs.$fdns _ldap._tcp.$site._sites.dc SRV $FQDN 389 $prio 100"
  echo "$fdns _kerberos._tcp.$site._sites SRV $FQDN 88 $prio 100"
  if [ "$role" = DC ]; then
    echo "_msdcs.$fdns _ldap._tcp.dc SRV $FQDN 389 $prio 100"
    echo "$fdns _kerberos._tcp SRV $FQDN 88 $prio 100"
  fi
}

register_dns() {
  local role=$1 fip fdns fhost
  fip=$(first ODJ_TEST_DC_IP); fdns=$(first ODJ_TEST_DOMAIN); fhost=$(first ODJ_TEST_DC_HOST)
  # The first DC's own A record is missing too (provisioned on loopback): added once.
  first_tool dns query "$fip" "$fdns" "${fhost%%.*}" A >/dev/null 2>&1 \
    || first_tool dns add "$fip" "$fdns" "${fhost%%.*}" A "$fip" >>"$DIR/dns.log" 2>&1 || true
  local zone name type data
  while read -r zone name type data; do
    first_tool dns add "$fip" "$zone" "$name" "$type" "$data" >>"$DIR/dns.log" 2>&1 \
      || { tail -5 "$DIR/dns.log" >&2; log "adding $name $type on the first DC failed"; exit 1; }
  done < <(dns_records "$role")
}

unregister_dns() {
  local role=$1 fip zone name type data
  fip=$(first ODJ_TEST_DC_IP)
  while read -r zone name type data; do
    first_tool dns delete "$fip" "$zone" "$name" "$type" "$data" >>"$DIR/dns.log" 2>&1 || true
  done < <(dns_records "$role")
}

# The DC's objects and DNS records in the domain (also those an earlier run left behind).
remove_from_domain() {
  first_tool domain demote --remove-other-dead-server="$(echo "$HOST" | tr '[:lower:]' '[:upper:]')" \
    -H "ldap://$(first ODJ_TEST_DC_HOST)" >>"$DIR/demote.log" 2>&1 || true
}

join_dc() {
  local role=${1:-}
  [ "$role" = DC ] || [ "$role" = RODC ] || { echo "usage: $0 join DC|RODC" >&2; exit 2; }
  [ "$IP" != 127.0.0.1 ] || { log "join needs its own ODJ_TESTDC_IP (127.0.0.1 is the first DC's)"; exit 2; }
  [ -f "$FIRST_ENV" ] || { log "no first DC: $FIRST_ENV does not exist"; exit 1; }
  REALM=$(first ODJ_TEST_REALM); DNSDOMAIN=$(first ODJ_TEST_DOMAIN); FQDN="$HOST.$DNSDOMAIN"
  ensure_packages; ensure_hosts; ensure_ip
  if pid_alive; then
    if wait_up; then log "already running ($DIR)"; echo "$DIR/env"; return; fi
    log "samba (pid $(cat "$DIR/samba.pid")) runs but does not answer; see $DIR/samba.log"; exit 1
  fi
  ports_free || exit 1
  if [ ! -f "$DIR/env" ]; then
    rm -rf "$DIR"; mkdir -p "$DIR/run"; chmod 700 "$DIR"
    AUTH=$(first_auth)
    remove_from_domain
    log "joining $FQDN to $DNSDOMAIN as $role"
    first_tool domain join "$DNSDOMAIN" "$role" --server="$(first ODJ_TEST_DC_HOST)" \
      --targetdir="$DIR" --dns-backend=SAMBA_INTERNAL --option="netbios name=$HOST" \
      --option="interfaces=$IP/8" --option="bind interfaces only=yes" --option="disable netbios=yes" \
      --option="pid directory=$DIR/run" --option="ncalrpc dir=$DIR/run/ncalrpc" \
      --option="winbindd socket directory=$DIR/run/winbindd" --option="ntp signd socket directory=$DIR/run/ntp_signd" \
      --option="log file=$DIR/log.%m" >"$DIR/provision.log" 2>&1 || { tail -20 "$DIR/provision.log" >&2; exit 1; }
    sed -i '/^[[:space:]]*dns forwarder[[:space:]]*=/d' "$DIR/etc/smb.conf"
    register_dns "$role"
    printf '[libdefaults]\n\tdefault_realm = %s\n\tdns_lookup_realm = false\n\tdns_lookup_kdc = false\n\trdns = false\n[realms]\n\t%s = {\n\t\tkdc = %s\n\t}\n' \
      "$REALM" "$REALM" "$IP" > "$DIR/krb5.conf"
  fi
  log "starting samba ($role $FQDN)"
  setsid samba -s "$DIR/etc/smb.conf" -i -M single >"$DIR/samba.log" 2>&1 < /dev/null &
  echo $! > "$DIR/samba.pid"
  local up=
  for _ in $(seq 1 120); do
    if is_up; then up=1; break; fi
    kill -0 "$(cat "$DIR/samba.pid")" 2>/dev/null || { tail -20 "$DIR/samba.log" >&2; exit 1; }
    sleep 0.5
  done
  [ -n "$up" ] || { log "samba did not answer within 60 s"; tail -20 "$DIR/samba.log" >&2; exit 1; }
  # Its LDAPS certificate exists once it ran: a bundle trusting every DC's self-signed CA.
  cat "$(first ODJ_TEST_CA_FILE)" "$DIR/private/tls/ca.pem" > "$DIR/ca-bundle.pem"
  # The first DC's settings (realm, administrator) with this DC's own address, name and files.
  { grep -vE '^ODJ_TEST_(DC_HOST|DC_IP|LDAP_URL|CA_FILE|SMB_CONF|KRB5_CONFIG|DC_DIR|DC_ROLE|CA_BUNDLE|FIRST_DC_ENV)=' "$FIRST_ENV"
    printf '%s\n' "ODJ_TEST_DC_HOST=$FQDN" "ODJ_TEST_DC_IP=$IP" "ODJ_TEST_LDAP_URL=ldaps://$FQDN:636" \
      "ODJ_TEST_CA_FILE=$DIR/private/tls/ca.pem" "ODJ_TEST_CA_BUNDLE=$DIR/ca-bundle.pem" \
      "ODJ_TEST_SMB_CONF=$DIR/etc/smb.conf" "ODJ_TEST_KRB5_CONFIG=$DIR/krb5.conf" "ODJ_TEST_DC_DIR=$DIR" \
      "ODJ_TEST_DC_ROLE=$role" "ODJ_TEST_FIRST_DC_ENV=$FIRST_ENV"; } > "$DIR/env.new"
  chmod 600 "$DIR/env.new"; mv "$DIR/env.new" "$DIR/env"
  log "up: $role ldaps://$FQDN:636 (env: $DIR/env)"
  echo "$DIR/env"
}

leave_dc() {
  [ "$IP" != 127.0.0.1 ] || { log "leave is for a joined DC (ODJ_TESTDC_IP), never the first one"; exit 2; }
  [ -f "$DIR/provision.log" ] || [ -f "$DIR/samba.pid" ] || { log "nothing joined under $DIR"; return 0; }
  local role; role=$(sed -n 's/^ODJ_TEST_DC_ROLE=//p' "$DIR/env" 2>/dev/null)
  stop
  if [ -f "$FIRST_ENV" ]; then
    DNSDOMAIN=$(first ODJ_TEST_DOMAIN); FQDN="$HOST.$DNSDOMAIN"
    mkdir -p "$DIR"
    AUTH=$(first_auth)
    unregister_dns "${role:-DC}"
    remove_from_domain
    rm -rf "$DIR"
  fi
  log "left the domain"
}

case "${1:-}" in
  install) ensure_packages; ensure_hosts ;;
  join) join_dc "${2:-}" ;;
  leave) leave_dc ;;
  start) start ;;
  stop) stop ;;
  status) pid_alive && wait_up ;;
  *) echo "usage: $0 install|start|stop|status|join DC|RODC|leave" >&2; exit 2 ;;
esac
