#!/usr/bin/env bash
# KB 814070 replayed literally (scripts/kb-replay.sh, make kb): the KB's own
# commands, IDs and letters from start to end, read from the KB's text, on
# a fresh 2003 machine, with add disk's copy in the background as on
# Windows. Every answer must be the KB's, line for line (spaces folded,
# GUIDs and serials masked), or a hunk the README lists as the KB's own
# contradiction; every listed hunk must still be met; the independent
# tools (sgdisk, fsck.fat, ldmtool) must accept the disks at the end; and
# the whole transcript must match the golden one. The verdict is checked
# to fail when the README's list loses a hunk or gains one.
. "$(dirname "$0")/../lib.sh"
need sgdisk
need fsck.fat
need ldmtool
GOLD=$(dirname "$0")/kb_literal.golden
REPLAY=$TESTS_DIR/../scripts/kb-replay.sh
README=$TESTS_DIR/../README.md
# The literal KB: add disk returns at once and the copy goes on.
unset GPTMIRROR_REBUILD
GPTMIRROR_SEED=814070 DEMO_DIR=$T/kb bash "$REPLAY" "$GM" >"$T/raw" 2>&1
rc=$?
sed -e "s|$T|<T>|g" "$T/raw" >"$T/transcript"
if [ "$rc" = 0 ] && grep -q "not listed in the README: 0$" "$T/transcript" &&
	grep -q "no longer meets: 0$" "$T/transcript" && grep -q "oracles that failed: 0$" "$T/transcript" &&
	grep -q "KB answer lines compared: [1-9][0-9]*, met exactly: [1-9]" "$T/transcript"; then
	pass "replay-matches-kb"
else
	fail "replay-matches-kb" "rc $rc" "$(grep -A8 'NOT LISTED\|PROBLEM' "$T/transcript" | head -40)" "$(tail -8 "$T/transcript")"
fi
# Every command the KB types was replayed: 57 of them, in its order.
kb_cmds=$(awk -f "$TESTS_DIR/../scripts/kb-extract.awk" "$TESTS_DIR/../../shared/seed/000_565f4e7e6ef220e7.txt" | grep -c '^C ')
run_cmds=$(grep -cE '^(DISKPART|C:\\)> ' "$T/transcript")
if [ "$kb_cmds" = 57 ] && [ "$run_cmds" = 59 ]; then
	pass "every-kb-command-replayed"
else
	fail "every-kb-command-replayed" "the KB has $kb_cmds commands (57 expected); the replay ran $run_cmds (57 and the two of 'Repeat the steps for the S volume')"
fi
golden transcript "$T/transcript" "$GOLD"
# The verdict must fail when the list is wrong either way.
awk '/^- Diskpart successfully deleted the selected partition\.$/ && !d { d = 1; getline; next } 1' "$README" >"$T/less.md"
README=$T/less.md bash "$REPLAY" --verdict "$T/kb" >"$T/v1" 2>&1
rc1=$?
awk '1; /^```kbdiff$/ && !d { d = 1; print "- A line the KB does not have\n+ nor we\n" }' "$README" >"$T/more.md"
README=$T/more.md bash "$REPLAY" --verdict "$T/kb" >"$T/v2" 2>&1
rc2=$?
bash "$REPLAY" --verdict "$T/kb" >"$T/v3" 2>&1
rc3=$?
if ! cmp -s "$README" "$T/less.md" && [ "$rc1" != 0 ] && grep -q "not listed in the README: [1-9]" "$T/v1" &&
	! cmp -s "$README" "$T/more.md" && [ "$rc2" != 0 ] && grep -q "no longer meets: 1$" "$T/v2" &&
	[ "$rc3" = 0 ]; then
	pass "verdict-fails-on-a-wrong-list"
else
	fail "verdict-fails-on-a-wrong-list" "less: rc $rc1 $(cat "$T/v1")" "more: rc $rc2 $(cat "$T/v2")" "as is: rc $rc3"
fi
