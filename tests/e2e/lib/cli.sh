#!/usr/bin/env bash
# tests/e2e/lib/cli.sh: helpers for the CLI and control-plane tests (test_cli_*.sh).
# Source after assert.sh and lab.sh.
#
#   cli_run ARGS...                 # the CLI in the lab: $CLI_OUT, $CLI_ERR, $CLI_RC
#   assert_cli RC MSG ARGS...       # cli_run, and the exit status must be RC
#   cli_snapshot                    # remember the running policy and the config file
#   assert_unchanged MSG            # ... and check both are byte for byte as remembered
#   cli_json FILTER                 # jq FILTER over $CLI_OUT (raw output)
#   cli_ops_count                   # lines in Operational.jsonl now

# shellcheck disable=SC2317  # the return is for sourcing
if [[ -n ${_CLI_SH_LOADED:-} ]]; then return 0 2>/dev/null || true; fi
_CLI_SH_LOADED=1
CLI_OUT='' CLI_ERR='' CLI_RC=0

# cli_run ARGS...: lab_ztdns ARGS, stdout in $CLI_OUT, stderr in $CLI_ERR, status in $CLI_RC.
cli_run() {
  local o=$LAB_DIR/cli.out e=$LAB_DIR/cli.err
  CLI_RC=0
  "${CLI_RUNNER:-lab_ztdns}" "$@" >"$o" 2>"$e" || CLI_RC=$?
  CLI_OUT=$(<"$o")
  CLI_ERR=$(<"$e")
}

# assert_cli RC MESSAGE ARGS...: the CLI exits with RC.
assert_cli() {
  local want=$1 m=$2
  shift 2
  cli_run "$@"
  if [[ $CLI_RC == "$want" ]]; then pass "$m (exit $want)"; else
    fail "$m" "ztdns $*" "expected exit $want, got $CLI_RC" "stdout: $(_assert_show "$CLI_OUT")" \
      "stderr: $(_assert_show "$CLI_ERR")"
  fi
}

cli_json() { jq -r "$1" <<<"$CLI_OUT"; }

# The running policy: table inet ztdns without stateful data (counters, element expiry),
# or "absent". The config file: its bytes.
_cli_policy() { lab_client nft -s list table inet ztdns 2>/dev/null || echo "absent"; }
cli_snapshot() {
  _cli_policy >"$LAB_DIR/snap.policy"
  cp "${CLI_CONFIG:-$LAB_ZTDNSD_CONFIG}" "$LAB_DIR/snap.config"
}
assert_unchanged() {
  local m=$1 conf=${CLI_CONFIG:-$LAB_ZTDNSD_CONFIG}
  _cli_policy >"$LAB_DIR/now.policy"
  if cmp -s "$LAB_DIR/snap.policy" "$LAB_DIR/now.policy" && cmp -s "$LAB_DIR/snap.config" "$conf"; then
    pass "$m: the running policy and $(basename "$conf") are unchanged"
  else
    fail "$m: something changed" \
      "policy: $(diff "$LAB_DIR/snap.policy" "$LAB_DIR/now.policy" | head -20)" \
      "config: $(diff "$LAB_DIR/snap.config" "$conf" | head -20)"
  fi
}

cli_ops_file() { echo "$LAB_ZTDNSD_LOG_DIR/Operational.jsonl"; }
cli_ops_count() { if [[ -f $(cli_ops_file) ]]; then wc -l <"$(cli_ops_file)"; else echo 0; fi; }
# cli_ops_since N: the Operational lines after the first N.
cli_ops_since() { tail -n +$(($1 + 1)) "$(cli_ops_file)" 2>/dev/null || true; }

# cli_ops_mark; ...; assert_ops MSG REGEX: an Operational event written since the mark
# matches REGEX (grep -E on the JSON line); the log writer runs on its own thread.
cli_ops_mark() { _CLI_OPS_MARK=$(cli_ops_count); }
_cli_ops_has() { cli_ops_since "${_CLI_OPS_MARK:-0}" | grep -Eq -- "$1"; }
assert_ops() {
  local m=$1 re=$2
  if wait_for 5 _cli_ops_has "$re"; then pass "$m"; else
    fail "$m" "no Operational event matching: $re" "since the mark: $(cli_ops_since "${_CLI_OPS_MARK:-0}" | tail -5)"
  fi
}
# nft_has MSG SET TEXT / nft_lacks: the running table's set SET lists TEXT.
_cli_set() { lab_client nft -s list set inet ztdns "$1" 2>/dev/null | tr -s ' \t\n' ' '; }
nft_has() { assert_contains "$(_cli_set "$2")" "$3" "$1"; }
nft_lacks() { assert_not_contains "$(_cli_set "$2")" "$3" "$1"; }
