#!/usr/bin/env bash
# tests/e2e/lib/logs.sh: helpers for the connection-log tests (tests/e2e/test_logs_*.sh).
# Source it after lab.sh. It reads ztdnsd's channel files in $LAB_ZTDNSD_LOG_DIR with jq
# and launches clients whose pid is known before they send anything.
#
#   logs_client "$LAB_DIR/curl.pid" curl -sS http://203.0.113.81/   # pid in the file
#   ev=$(logs_wait blocked 5 '.dst == $d and .dstPort == 80' --arg d "$LAB_IPONLY4")
#   assert_eq "$(jq -r .pid <<<"$ev")" "$(cat "$LAB_DIR/curl.pid")" "curl's pid"
# shellcheck disable=SC2016,SC2034  # jq programs are single-quoted; LOGS_* are for the tests

if [[ -n ${_LOGS_SH_LOADED:-} ]]; then return 0 2>/dev/null || true; fi
_LOGS_SH_LOADED=1

# RFC 3339 UTC with microseconds, as docs/logging.md specifies.
LOGS_TIME_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$'

# logs_file blocked|permitted|operational [DIR]: the channel file.
logs_file() {
  local d=${2:-$LAB_ZTDNSD_LOG_DIR}
  case $1 in
    blocked) echo "$d/BlockedConnections.jsonl" ;;
    permitted) echo "$d/PermittedConnections.jsonl" ;;
    operational) echo "$d/Operational.jsonl" ;;
    *) echo "logs_file: channel '$1'?" >&2; return 2 ;;
  esac
}

# logs_select CHANNEL COND [JQ ARGS...]: the lines of the channel file (current
# generation) for which the jq condition holds, compact, oldest first. Lines that are not
# JSON are skipped (a reader must never see half a line; logs_malformed counts them).
# LOGS_DIR overrides the directory (e.g. a file copied out of another mount namespace).
logs_select() {
  local f cond=$2
  f=$(logs_file "$1" "${LOGS_DIR:-}") || return 2
  shift 2
  [[ -f $f ]] || return 0
  jq -c -R "$@" "fromjson? | select($cond)" "$f"
}
logs_count() { logs_select "$@" | wc -l; }
logs_malformed() {  # CHANNEL: lines that do not parse as a JSON object
  local f
  f=$(logs_file "$1" "${LOGS_DIR:-}") || return 2
  [[ -f $f ]] || { echo 0; return 0; }
  jq -R 'fromjson? // "bad" | select(type != "object")' "$f" | wc -l
}

# logs_wait CHANNEL TIMEOUT_S COND [JQ ARGS...]: wait for a matching line, print the
# first one. Status 1 on timeout.
logs_wait() {
  local ch=$1 t=$2 out
  shift 2
  _logs_have() { out=$(logs_select "$ch" "$@" | head -n 1) && [[ -n $out ]]; }
  if wait_for -i 0.1 "$t" _logs_have "$@"; then
    printf '%s\n' "$out"
    return 0
  fi
  return 1
}
# logs_wait_count CHANNEL TIMEOUT_S N COND [JQ ARGS...]: wait for at least N matches.
logs_wait_count() {
  local ch=$1 t=$2 n=$3
  shift 3
  _logs_have_n() { (($(logs_count "$ch" "$@") >= n)); }
  wait_for -i 0.2 "$t" _logs_have_n "$@"
}

# logs_client PIDFILE CMD...: run CMD in the client namespace; the shell writes its pid
# to PIDFILE and then execs CMD, so PIDFILE holds CMD's pid. CMD's status is returned.
logs_client() {
  local pf=$1
  shift
  lab_client sh -c 'echo $$ >"$0"; exec "$@"' "$pf" "$@"
}
# logs_exe CMD: the executable the kernel names for CMD (symlinks resolved).
logs_exe() { readlink -f "$(command -v "$1")"; }

# The python3 the tests run (not a pyenv shim: the kernel names the real executable).
LOGS_PY=/usr/bin/python3
[[ -x $LOGS_PY ]] || LOGS_PY=$(command -v python3)
LOGS_PY_EXE=$(readlink -f "$LOGS_PY")

# logs_time_us RFC3339: microseconds since the epoch.
logs_time_us() { date -u -d "$1" +%s%6N; }

# logs_probe: a deliberately short-lived one-packet sender (tests/unit/observe/probe.cc):
# the built observe_probe if there is one, else compiled into $LAB_DIR. Prints its path;
# status 1 when neither works.
logs_probe() {
  local built=${ZTDNS_BUILD_DIR:-}/tests/unit/observe/observe_probe src
  if [[ -n ${ZTDNS_BUILD_DIR:-} && -x $built ]]; then echo "$built"; return 0; fi
  [[ -x $LAB_DIR/observe_probe ]] && { echo "$LAB_DIR/observe_probe"; return 0; }
  src=$(cd "$LAB_LIB_DIR/../../unit/observe" && pwd)/probe.cc
  command -v c++ >/dev/null 2>&1 && c++ -O1 -o "$LAB_DIR/observe_probe" "$src" 2>/dev/null &&
    echo "$LAB_DIR/observe_probe"
}

# logs_rss_kb PID: VmRSS in kB.
logs_rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# --- ztdnsd for the log tests --------------------------------------------------------
# logs_ztdnsd_start CONFIG [ARGS...]: lab_ztdnsd_start through a wrapper that runs in
# ztdnsd's own mount namespace (the one ip netns exec made for it, a slave of the host's:
# nothing mounted there is seen outside) and then execs ztdnsd, so the pid is ztdnsd's.
# ip netns exec mounts a fresh /sys without the cgroup2 hierarchy; the wrapper mounts it
# at /sys/fs/cgroup so that events can name units, as on a host. LOGS_ZTDNSD_SETUP is a
# shell snippet the wrapper runs after that (e.g. a tmpfs over the log directory).
# LOGS_UNITS=1 afterwards when ztdnsd sees a cgroup2 hierarchy, else 0.
logs_ztdnsd_start() {
  local wrap=$LAB_DIR/ztdnsd-logs-wrapper real
  real=${ZTDNSD:-$(_lab_bin ztdnsd apps/ztdnsd/ztdnsd)}
  real=$(command -v "$real") || { _lab_err "no ztdnsd binary"; return 1; }
  {
    echo '#!/bin/sh'
    echo 'set -e'
    echo "grep -q ' - cgroup2 ' /proc/self/mountinfo || mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null || true"
    printf '%s\n' "${LOGS_ZTDNSD_SETUP:-:}"
    printf 'exec %q "$@"\n' "$real"
  } >"$wrap"
  chmod +x "$wrap"
  ZTDNSD=$wrap lab_ztdnsd_start "$@" || return 1
  if grep -q ' - cgroup2 ' "/proc/$LAB_ZTDNSD_PID/mountinfo" 2>/dev/null; then LOGS_UNITS=1; else LOGS_UNITS=0; fi
}
# logs_ztdnsd_mnt CMD...: run CMD in ztdnsd's mount namespace (to see its private mounts).
logs_ztdnsd_mnt() { nsenter -t "$LAB_ZTDNSD_PID" -m -- "$@"; }

# --- units and cgroups ---------------------------------------------------------------
# The unit ztdnsd derives from a cgroup path (src/observe/process_info.cc): the first
# component after any *.slice that is a unit name, else the path itself.
logs_unit_of_path() {
  local p=$1 c rest
  rest=${p#/}
  while [[ -n $rest ]]; do
    c=${rest%%/*}
    if [[ $c == ?*.slice ]]; then
      [[ $rest == */* ]] || break
      rest=${rest#*/}
      continue
    fi
    [[ $c =~ \.(service|scope|socket|mount|swap|timer|path|device|target|automount)$ ]] && { echo "$c"; return; }
    break
  done
  echo "${p:-/}"
}
# logs_own_unit: the unit field expected for a client run from this shell (lab_client
# keeps the cgroup), or "null" when ztdnsd cannot see the cgroup2 hierarchy.
logs_own_unit() {
  [[ ${LOGS_UNITS:-0} == 1 ]] || { echo null; return; }
  logs_unit_of_path "$(sed -n 's/^0:://p' /proc/$$/cgroup)"
}
logs_cgroup2_mount() { findmnt -n -t cgroup2 -o TARGET 2>/dev/null | head -n 1; }
# logs_cgroup_make NAME: a cgroup of the lab's own under the cgroup2 root (removed at
# exit). Sets LOGS_CG_UNIT to the unit ztdnsd must name for a process in it; status 1 if
# there is no writable cgroup2 hierarchy. Call it in the test's shell, not in $(...).
logs_cgroup_make() {
  local mnt
  [[ ${LOGS_UNITS:-0} == 1 ]] || return 1
  mnt=$(logs_cgroup2_mount)
  [[ -n $mnt && -w $mnt ]] || return 1
  mkdir -p "$mnt/$1" 2>/dev/null || return 1
  # shellcheck disable=SC2064
  lab_at_exit "rmdir '$mnt/$1' 2>/dev/null || true"
  LOGS_CG_UNIT=$(logs_unit_of_path "/$1")
}
# logs_client_in_cgroup UNIT PIDFILE CMD...: logs_client, with the process in the cgroup
# made by logs_cgroup_make UNIT (it moves itself there before entering the namespace).
logs_client_in_cgroup() {
  local cg pf=$2
  cg=$(logs_cgroup2_mount)/$1
  shift 2
  sh -c 'pf=$0 cg=$1 ns=$2; shift 2; echo $$ >"$cg/cgroup.procs" || exit 1; echo $$ >"$pf"; exec ip netns exec "$ns" "$@"' \
    "$pf" "$cg" "$LAB_CLIENT_NS" "$@"
}
