#!/usr/bin/env bash
# Volume I/O through a mirror: format and xcopy onto a mirrored C: write
# both plexes; a read error on one plex (a fault-injecting backend,
# GPTMIRROR_FAULT_READ) is served by the other, nothing is lost, and the
# volume shows Failed Rd until volume resync copies the plex again; so
# does a plex whose disk was out during a write, once the disk is back.
. "$(dirname "$0")/../lib.sh"
need ldmtool
need fsck.fat
need mtype
export GPTMIRROR_SEED=99 MTOOLS_SKIP_CHECK=1
M=$T/server
dynamic_pair 300
dp "select volume c" "add disk=1"
mkdir -p "$T/h/deep/er" "$T/h2"
head -c 7000000 /dev/urandom >"$T/h/deep/er/big.bin"
for i in $(seq 1 40); do echo "file $i" >"$T/h/deep/f$i.txt"; done
head -c 3000000 /dev/urandom >"$T/h2/later.bin"

# Each plex alone, exported with the other disk pulled.
plex_alone() { # SLOT-TO-PULL OUT
	rm -rf "$T/one"
	cp -r --sparse=always "$M" "$T/one"
	"$GM" -m "$T/one" machine pull-disk "$1" >/dev/null &&
		"$GM" -m "$T/one" volume export Volume1 "$2" >/dev/null
}
holds() { # IMAGE HOSTFILE VOLPATH
	fsck.fat -n "$1" >/dev/null 2>&1 && cmp -s <(mtype -i "$1" "$3") "$2"
}

dp "select volume c" "format fs=fat32 label=MIRRORED quick"
"$GM" -m "$M" xcopy "$T/h" 'C:\' /s /y >"$T/x" 2>&1
if grep -q "DiskPart successfully formatted the volume." "$T/out" && grep -q "41 File(s) copied" "$T/x" &&
	plex_alone 1 "$T/p0.img" && plex_alone 0 "$T/p1.img" && cmp -s "$T/p0.img" "$T/p1.img" &&
	holds "$T/p1.img" "$T/h/deep/er/big.bin" ::/deep/er/big.bin; then
	pass "format-and-xcopy-write-both-plexes"
else
	fail "format-and-xcopy-write-both-plexes" "$(cat "$T/out" "$T/x")"
fi

# A bad spot under the whole first plex (disk 0's LDM data partition 2).
first=$(sgdisk -i 2 "$M/disk0.img" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
last=$(sgdisk -i 2 "$M/disk0.img" | sed -n 's/^Last sector: \([0-9]*\).*/\1/p')
export GPTMIRROR_FAULT_READ="0:$((first * 512)):$(((last + 1) * 512))"
mkdir -p "$T/out1"
"$GM" -m "$M" xcopy 'C:\deep\er\*' "$T/out1" /y >"$T/x" 2>"$T/e"
rc=$?
unset GPTMIRROR_FAULT_READ
dp "list volume"
if [ "$rc" = 0 ] && cmp -s "$T/out1/big.bin" "$T/h/deep/er/big.bin" && grep -q "I/O error on a plex" "$T/e" &&
	grep -q "Mirror .*Failed Rd" "$T/out" && grep -q "^failed\." "$M/machine.conf"; then
	pass "read-error-served-by-the-other-plex"
else
	fail "read-error-served-by-the-other-plex" "rc=$rc" "$(cat "$T/e" "$T/out")"
fi
G=$(ldmtool -d /dev/null scan "$M/disk0.img" "$M/disk1.img" 2>/dev/null | tr -d '[]" \n')
if [ -n "$G" ] && ldmtool -d "$M/disk0.img" -d "$M/disk1.img" show volume "$G" Volume1 2>/dev/null | grep -q mirrored; then
	pass "ldmtool-reads-the-failed-mirror"
else
	fail "ldmtool-reads-the-failed-mirror"
fi
# While failed, writes go to the healthy plex only; reads never use the
# failed one (its stale bytes would show).
"$GM" -m "$M" xcopy "$T/h2" 'C:\new\' /s /y >/dev/null 2>&1
rm -rf "$T/out2" && mkdir -p "$T/out2"
"$GM" -m "$M" xcopy 'C:\new\*' "$T/out2" /y >/dev/null 2>&1
if cmp -s "$T/out2/later.bin" "$T/h2/later.bin"; then pass "failed-plex-takes-no-io"; else fail "failed-plex-takes-no-io"; fi
"$GM" -m "$M" volume resync >"$T/r" 2>&1
dp "list volume"
plex_alone 1 "$T/q0.img"
plex_alone 0 "$T/q1.img"
if grep -q "Mirror .*Healthy" "$T/out" && ! grep -q "^failed\." "$M/machine.conf" &&
	cmp -s "$T/q0.img" "$T/q1.img" && holds "$T/q0.img" "$T/h2/later.bin" ::/new/later.bin &&
	holds "$T/q0.img" "$T/h/deep/er/big.bin" ::/deep/er/big.bin; then
	pass "resync-heals-the-failed-plex"
else
	fail "resync-heals-the-failed-plex" "$(cat "$T/r" "$T/out")"
fi
ok "volume-list-after" "$GM" -m "$M" volume list

# A write while a disk is out leaves its plex behind: the plex is marked
# failed before the write, so when the disk is back the volume is Failed
# Rd, not Healthy, until the resync copies it; then both plexes hold the
# file.
"$GM" -m "$M" machine pull-disk 1 >/dev/null
printf 'written while disk 1 was out\r\n' >"$T/out.txt"
"$GM" -m "$M" xcopy "$T/out.txt" 'C:\' /y >"$T/x" 2>&1
xrc=$?
"$GM" -m "$M" machine insert-disk 1 --image "$M/pulled/disk1.img" >/dev/null 2>&1
dp "list volume"
cp "$T/out" "$T/lv"
"$GM" -m "$M" volume resync >"$T/r" 2>&1
plex_alone 1 "$T/q0.img"
plex_alone 0 "$T/q1.img"
if [ "$xrc" = 0 ] && grep -q "Mirror .*Failed Rd" "$T/lv" && cmp -s "$T/q0.img" "$T/q1.img" &&
	holds "$T/q1.img" "$T/out.txt" ::/out.txt; then
	pass "write-with-a-disk-out-then-back-is-failed-rd-until-resynced"
else
	fail "write-with-a-disk-out-then-back-is-failed-rd-until-resynced" "rc=$xrc" "$(cat "$T/x" "$T/lv" "$T/r")"
fi

# The same write killed at each of its writes: when the disk is back, the
# volume is Failed Rd, or Healthy only with both plexes equal.
"$GM" -m "$M" machine pull-disk 1 >/dev/null
rm -rf "$T/deg"
cp -r --sparse=always "$M" "$T/deg"
SAVED=$M
M=$T/deg
W=$(writes_of xcopy "$T/out.txt" 'C:\again\' /y)
tried=0 fired=0 bad=""
for k in $(seq 1 "${W:-0}"); do
	rm -rf "$T/k"
	cp -r --sparse=always "$T/deg" "$T/k"
	M=$T/k
	tried=$((tried + 1))
	crashed "$k" "$GM" -m "$M" xcopy "$T/out.txt" 'C:\again\' /y >/dev/null 2>&1 && fired=$((fired + 1))
	"$GM" -m "$M" machine insert-disk 1 --image "$M/pulled/disk1.img" >/dev/null 2>&1
	dp "list volume"
	if grep -q "Mirror .*Healthy" "$T/out"; then
		plex_alone 1 "$T/q0.img"
		plex_alone 0 "$T/q1.img"
		cmp -s "$T/q0.img" "$T/q1.img" || bad="$bad healthy-but-differs@$k"
	elif ! grep -q "Mirror .*Failed Rd" "$T/out"; then
		bad="$bad state@$k"
	fi
done
M=$SAVED
echo "crash points in a write with a disk out: $tried tried, $fired fired"
if [ "${W:-0}" -gt 0 ] && [ "$fired" = "$tried" ] && [ -z "$bad" ]; then
	pass "write-with-a-disk-out-crashed-at-every-write-never-healthy-and-different ($tried points)"
else
	fail "write-with-a-disk-out-crashed-at-every-write-never-healthy-and-different" "W=$W fired=$fired/$tried:$bad"
fi
"$GM" -m "$M" machine insert-disk 1 --image "$M/pulled/disk1.img" >/dev/null 2>&1
"$GM" -m "$M" volume resync >/dev/null 2>&1

# On a terminal a resync shows its progress (script(1) gives it a pty).
need script
dp "select volume c" "break disk=1 nokeep"
script -qec "printf 'select volume c\nadd disk=1\n' | '$GM' -m '$M' diskpart" /dev/null >"$T/tty" 2>&1
if grep -q "100 percent completed" "$T/tty" && grep -q "succeeded in adding a mirror" "$T/tty"; then
	pass "resync-progress-on-a-terminal"
else
	fail "resync-progress-on-a-terminal" "$(tail -5 "$T/tty")"
fi
