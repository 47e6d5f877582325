#!/usr/bin/env bash
# The DISKPART> console on a terminal (a pty from script(1)): libedit reads
# the lines, errors do not end the session, exit leaves with status 0.
. "$(dirname "$0")/../lib.sh"
need script
M=$T/server
GPTMIRROR_SEED=1 "$GM" machine create "$M" --disk 1G >/dev/null
feed() { sleep 0.5; for l in "$@"; do printf '%s\r' "$l"; sleep 0.3; done; sleep 0.5; }
feed "sel dis 0" "frobnicate" "conv gpt" "list part" "exit" |
	script -qfec "$GM -m $M diskpart" /dev/null >"$T/tty" 2>&1
rc=$?
tr -d '\r' <"$T/tty" >"$T/out"
if [ "$rc" = 0 ] && grep -q "^Disk 0 is now the selected disk." "$T/out" &&
	grep -q 'DiskPart does not know the command "frobnicate".' "$T/out" &&
	grep -q "DiskPart successfully converted the selected disk to GPT format." "$T/out" &&
	grep -q "Partition 1    Reserved            15 MB    17 KB" "$T/out" &&
	grep -q "^Leaving DiskPart..." "$T/out"; then
	pass "tty-session"
else
	fail "tty-session" "rc=$rc" "$(cat "$T/out")"
fi
if grep -B1 "^DISKPART> list part" "$T/out" | head -1 | grep -q '^$'; then pass "tty-blank-line-before-prompt"; else fail "tty-blank-line-before-prompt" "$(cat "$T/out")"; fi
ok "tty-result-on-disk" sgdisk_clean "$M/disk0.img"
