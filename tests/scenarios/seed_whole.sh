#!/usr/bin/env bash
# The whole of KB 814070 as one golden transcript in deterministic mode:
# scripts/demo.sh (make demo) on a fresh machine, from the installed
# server through the failover boot of the shadow disk, the recovery with
# Setup on a replacement disk, the re-established mirror and each disk
# booting alone. The demo itself checks every image with sgdisk, fsck.fat,
# mtools and ldmtool, and runs every boot both emulated and in QEMU with
# OVMF; here its transcript must also match the golden one, line for line.
. "$(dirname "$0")/../lib.sh"
need qemu-system-x86_64
need ldmtool
GOLD=$(dirname "$0")/seed_whole.golden
GPTMIRROR_SEED=814070 DEMO_DIR=$T/demo bash "$(dirname "$0")/../../scripts/demo.sh" "$GM" >"$T/raw" 2>&1
rc=$?
sed -e "s|$T|<T>|g" -e 's/^== Summary ([0-9]* s)$/== Summary/' "$T/raw" >"$T/transcript"
if [ "$rc" = 0 ] && grep -q "^[0-9]* passed, 0 failed$" "$T/transcript"; then
	pass "demo-passes"
else
	fail "demo-passes" "$(grep -E '^  FAIL' "$T/transcript")" "$(tail -5 "$T/transcript")"
fi
golden transcript "$T/transcript" "$GOLD"
golden_images seed_whole "$T/demo/server"
