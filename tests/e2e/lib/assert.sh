#!/usr/bin/env bash
# tests/e2e/lib/assert.sh: small assertion helpers for end-to-end tests (source it).
#
#   require_lab                      # exit 77 (CTest "skipped") without root or namespaces
#   step "DoT answers"               # a heading
#   assert_eq "$(cmd)" 203.0.113.80 "pdns1 answers www over DoT"
#   assert_fails "no client cert is refused" lab_kdig mtls dot 4 www.allowed.test
#   wait_for 5 test -s "$file" || fail "file never appeared"
#   finish                           # summary; exit 1 if anything failed
#
# A failed assertion prints "FAIL - ..." with what was expected and what came, and exits 1
# at once (the lab's EXIT trap still tears down). With ASSERT_KEEP_GOING=1 it counts the
# failure, returns 1 and the test goes on; finish then exits 1. Passing checks print
# "ok   - ...". Commands given to assert_ok / assert_fails / assert_output run in a
# subshell: their output is in $ASSERT_OUT afterwards, their variable changes are not kept.

# shellcheck disable=SC2317  # the return is for sourcing
if [[ -n ${_ASSERT_SH_LOADED:-} ]]; then return 0 2>/dev/null || true; fi
_ASSERT_SH_LOADED=1
_ASSERT_PASSED=0
_ASSERT_FAILED=0
ASSERT_OUT=
: "${ASSERT_KEEP_GOING:=0}"

now_us() { local t=${EPOCHREALTIME//[.,]/}; echo $((10#$t)); }
now_ms() { echo $(($(now_us) / 1000)); }
elapsed_ms() { echo $((($(now_us) - $1) / 1000)); }  # START_US (from now_us)

step() { printf '\n== %s\n' "$*"; }
note() { printf '     %s\n' "$*"; }
pass() {
  _ASSERT_PASSED=$((_ASSERT_PASSED + 1))
  printf 'ok   - %s\n' "$*"
}
fail() {
  _ASSERT_FAILED=$((_ASSERT_FAILED + 1))
  printf 'FAIL - %s\n' "$1" >&2
  shift
  local l
  for l in "$@"; do printf '       %s\n' "$l" >&2; done
  if [[ $ASSERT_KEEP_GOING == 1 ]]; then return 1; fi
  exit 1
}
skip() {
  printf 'SKIP - %s\n' "$*"
  exit 77
}
finish() {
  printf '\n%s: %d passed, %d failed\n' "$(basename "$0" .sh)" "$_ASSERT_PASSED" "$_ASSERT_FAILED"
  ((_ASSERT_FAILED == 0)) || exit 1
  exit 0
}

# Skip (exit 77) unless the test can build a lab: root, and network namespaces work.
require_root() { ((EUID == 0)) || skip "needs root (runs in network namespaces)"; }
require_netns() {
  command -v ip >/dev/null 2>&1 || skip "no ip command (iproute2)"
  local probe=zt-$$-probe
  ip netns add "$probe" 2>/dev/null || skip "cannot create network namespaces (ip netns add failed)"
  ip netns del "$probe"
}
require_lab() {
  require_root
  require_netns
}

_assert_show() {  # quote a value for a failure message, multi-line values indented
  local v=${1//$'\n'/$'\n'         }
  printf '%s' "${v:-<empty>}"
}
assert_eq() {  # ACTUAL EXPECTED MESSAGE
  if [[ $1 == "$2" ]]; then pass "$3"; else
    fail "$3" "expected: $(_assert_show "$2")" "got:      $(_assert_show "$1")"; fi
}
assert_ne() {  # ACTUAL UNEXPECTED MESSAGE
  if [[ $1 != "$2" ]]; then pass "$3"; else fail "$3" "got the value it must not be: $(_assert_show "$1")"; fi
}
assert_contains() {  # HAYSTACK NEEDLE MESSAGE
  if [[ $1 == *"$2"* ]]; then pass "$3"; else
    fail "$3" "expected to contain: $(_assert_show "$2")" "in: $(_assert_show "$1")"; fi
}
assert_not_contains() {  # HAYSTACK NEEDLE MESSAGE
  if [[ $1 != *"$2"* ]]; then pass "$3"; else
    fail "$3" "expected not to contain: $(_assert_show "$2")" "in: $(_assert_show "$1")"; fi
}
assert_match() {  # STRING REGEX MESSAGE (bash ERE)
  if [[ $1 =~ $2 ]]; then pass "$3"; else
    fail "$3" "expected to match: $2" "got: $(_assert_show "$1")"; fi
}
assert_le() {  # A B MESSAGE (integers: A <= B)
  if (($1 <= $2)); then pass "$3"; else fail "$3" "expected $1 <= $2"; fi
}
assert_lt() {  # A B MESSAGE (integers: A < B)
  if (($1 < $2)); then pass "$3"; else fail "$3" "expected $1 < $2"; fi
}
# assert_ok MESSAGE CMD...: CMD succeeds. assert_fails MESSAGE CMD...: CMD fails.
assert_ok() {
  local m=$1 rc=0
  shift
  ASSERT_OUT=$("$@" 2>&1) || rc=$?
  if ((rc == 0)); then pass "$m"; else fail "$m" "command failed (status $rc): $*" "output: $(_assert_show "$ASSERT_OUT")"; fi
}
assert_fails() {
  local m=$1 rc=0
  shift
  ASSERT_OUT=$("$@" 2>&1) || rc=$?
  if ((rc != 0)); then pass "$m"; else fail "$m" "command succeeded but must fail: $*" "output: $(_assert_show "$ASSERT_OUT")"; fi
}
# assert_output EXPECTED MESSAGE CMD...: CMD succeeds and prints exactly EXPECTED (stdout).
assert_output() {
  local want=$1 m=$2 rc=0
  shift 2
  ASSERT_OUT=$("$@") || rc=$?
  if ((rc != 0)); then fail "$m" "command failed (status $rc): $*" "output: $(_assert_show "$ASSERT_OUT")"
  else assert_eq "$ASSERT_OUT" "$want" "$m"; fi
}

# wait_for [-i INTERVAL_S] TIMEOUT_S CMD...: poll CMD until it succeeds (0) or the
# deadline passes (1). Seconds may be fractional. Use it instead of sleeps.
wait_for() {
  local interval=0.05 t deadline
  if [[ $1 == -i ]]; then interval=$2; shift 2; fi
  t=$1
  shift
  deadline=$(($(now_us) + $(_assert_us "$t")))
  while :; do
    "$@" && return 0
    (($(now_us) < deadline)) || return 1
    sleep "$interval"
  done
}
# assert_eventually TIMEOUT_S MESSAGE CMD...
assert_eventually() {
  local t=$1 m=$2
  shift 2
  if wait_for "$t" "$@"; then pass "$m"; else fail "$m" "not true within ${t}s: $*"; fi
}
_assert_us() {  # "1.5" -> 1500000
  local s=${1%%.*} f=
  [[ $1 == *.* ]] && f=${1#*.}
  f=${f}000000
  echo $((10#${s:-0} * 1000000 + 10#${f:0:6}))
}
