#!/usr/bin/env bash
# The KB on a real kernel and real firmware (scripts/demo-host.sh, as make
# demo-host runs it): a Linux guest under OVMF does both halves on its
# virtio disks and its own efivarfs, OVMF boots what it wrote, and bad input
# on the real machine is refused. Its PASS and FAIL lines are this test's.
. "$(dirname "$0")/../lib.sh"
need qemu-system-x86_64
need busybox
need cpio
need modprobe
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
GPTMIRROR_GUEST_BIN=${GPTMIRROR_GUEST_BIN:-$ROOT/bin/gptmirror} bash "$ROOT/scripts/demo-host.sh" "$GM" >"$T/log" 2>&1
rc=$?
grep -E "^(PASS|FAIL): " "$T/log"
if [ "$rc" != 0 ] && ! grep -q "^FAIL: " "$T/log"; then
	fail "demo-host" "exited with $rc" "$(tail -20 "$T/log")"
fi
grep -q "^FAIL: " "$T/log" && { echo "    --- the log, last lines:"; tail -30 "$T/log" | sed "s/^/    /"; }
true
