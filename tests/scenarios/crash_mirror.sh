#!/usr/bin/env bash
# A mirror never lies: an xcopy onto a mirrored C: killed at every one of
# its writes (the dirty-region record in machine.conf included). Right
# after the kill, plexes that differ are always covered by a dirty record;
# the next command (any: here volume list) copies the dirty regions from
# the first healthy plex, after which the plexes, read off the images where
# ldmtool puts them, hold the same bytes, the volume is Healthy, and a
# rerun of the xcopy leaves a volume fsck.fat accepts holding the new files.
. "$(dirname "$0")/../lib.sh"
need ldmtool
need fsck.fat
need mtype
export GPTMIRROR_SEED=41 MTOOLS_SKIP_CHECK=1
M=$T/server
dynamic_pair 64
dp "select volume c" "add disk=1"
"$GM" -m "$M" format c: /fs:fat32 /q /y >/dev/null
mkdir -p "$T/h/sub"
det_bytes 300000 3 >"$T/h/sub/a.bin"
echo "small" >"$T/h/b.txt"
fixed_times "$T/h"
cp -r --sparse=always "$M" "$T/base"
restore() { rm -rf "$M"; cp -r --sparse=always "$T/base" "$M"; }

plex_of() { # SLOT OUT: C:'s plex on disk SLOT, by its GPT entry (partition 2 of
	# the LDM data area is not it: the extent is inside); read off ldmtool's offsets.
	local img off n
	read -r img off n < <(plex_places Volume1 | grep "/disk$1.img ")
	[ -n "${n:-}" ] && "$IMGTOOL" extract "$img" "$off" "$n" "$2"
}
holds_new() { # IMAGE
	fsck_clean "$1" >/dev/null && cmp -s <(mtype -i "$1" ::/sub/a.bin) "$T/h/sub/a.bin" &&
		cmp -s <(mtype -i "$1" ::/b.txt) "$T/h/b.txt"
}

W=$(writes_of xcopy "$T/h" 'C:\' /s /y)
tried=0 fired=0 diverged=0 lied=0 rejected=0 notheal=0 bad=""
for n in $(seq 1 "${W:-0}"); do
	restore
	tried=$((tried + 1))
	crashed "$n" "$GM" -m "$M" xcopy "$T/h" 'C:\' /s /y >/dev/null 2>&1 ||
		{ bad="$bad nofire@$n"; continue; }
	fired=$((fired + 1))
	# Right after the kill: plexes that differ carry a dirty record.
	if ! plexes_agree Volume1 >/dev/null 2>&1; then
		diverged=$((diverged + 1))
		grep -q "^dirty\.Volume1 = " "$M/machine.conf" || { lied=$((lied + 1)); bad="$bad lie@$n"; }
	fi
	# The next command heals them, whatever it is.
	"$GM" -m "$M" volume list >"$T/l" 2>&1
	if ! plexes_agree Volume1 >"$T/why" 2>&1 || ! grep -q "Volume1 *Mirror .*Healthy" "$T/l" ||
		grep -q "^dirty\." "$M/machine.conf"; then
		notheal=$((notheal + 1))
		bad="$bad notheal@$n:$(head -c 200 "$T/why" "$T/l" | tr '\n' ' ')"
		continue
	fi
	# And the rerun of the cut-off xcopy ends with the new files on both.
	"$GM" -m "$M" xcopy "$T/h" 'C:\' /s /y >/dev/null 2>&1
	plex_of 0 "$T/p0.img"
	plex_of 1 "$T/p1.img"
	if ! cmp -s "$T/p0.img" "$T/p1.img" || ! holds_new "$T/p0.img"; then
		rejected=$((rejected + 1))
		bad="$bad rejected@$n:$(fsck_clean "$T/p0.img" | head -3 | tr '\n' ' ')"
	fi
done
echo "crash points in an xcopy onto a mirror: $tried tried, $fired fired, $diverged left the plexes different (each under a dirty record), $lied lied, $notheal not healed by the next command, $rejected rejected after the rerun"
if [ "${W:-0}" -ge 5 ] && [ "$fired" = "$tried" ] && [ "$lied" = 0 ] && [ "$notheal" = 0 ] && [ "$rejected" = 0 ] &&
	[ "$diverged" -gt 0 ]; then
	pass "xcopy-onto-a-mirror-crashed-at-every-write ($tried points)"
else
	fail "xcopy-onto-a-mirror-crashed-at-every-write" "writes: $W" "$bad"
fi

# format onto the mirror, killed at every write: the next command makes
# the plexes agree, and the rerun of the format leaves one fsck.fat accepts.
W=$(writes_of format c: /fs:fat32 /q /y /v:AGAIN)
tried=0 notheal=0 bad=""
for n in $(seq 1 "${W:-0}"); do
	restore
	tried=$((tried + 1))
	crashed "$n" "$GM" -m "$M" format c: /fs:fat32 /q /y /v:AGAIN >/dev/null 2>&1 || { bad="$bad nofire@$n"; continue; }
	"$GM" -m "$M" volume list >"$T/l" 2>&1
	plexes_agree Volume1 >/dev/null 2>&1 && grep -q "Volume1 *Mirror .*Healthy" "$T/l" ||
		{ notheal=$((notheal + 1)); bad="$bad notheal@$n"; continue; }
	"$GM" -m "$M" format c: /fs:fat32 /q /y /v:AGAIN >/dev/null 2>&1
	plex_of 1 "$T/p1.img"
	plexes_agree Volume1 >/dev/null 2>&1 && fsck_clean "$T/p1.img" >/dev/null || { notheal=$((notheal + 1)); bad="$bad rerun@$n"; }
done
echo "crash points in a format of the mirror: $tried tried, $notheal not healed"
if [ "${W:-0}" -ge 3 ] && [ -z "$bad" ]; then
	pass "format-of-a-mirror-crashed-at-every-write ($tried points)"
else
	fail "format-of-a-mirror-crashed-at-every-write" "writes: $W" "$bad"
fi

# The heal itself killed at every write: the command after it heals again.
k=0
for n in $(seq 1 "${W:-0}"); do
	restore
	crashed "$n" "$GM" -m "$M" xcopy "$T/h" 'C:\' /s /y >/dev/null 2>&1 || continue
	plexes_agree Volume1 >/dev/null 2>&1 || { k=$n; break; }
done
cp -r --sparse=always "$M" "$T/cut"
HW=$(writes_of volume list)
tried=0 bad=""
for n in $(seq 1 "${HW:-0}"); do
	rm -rf "$M"
	cp -r --sparse=always "$T/cut" "$M"
	tried=$((tried + 1))
	crashed "$n" "$GM" -m "$M" volume list >/dev/null 2>&1 || { bad="$bad nofire@$n"; continue; }
	"$GM" -m "$M" volume list >"$T/l" 2>&1
	plexes_agree Volume1 >/dev/null 2>&1 && grep -q "Volume1 *Mirror .*Healthy" "$T/l" || bad="$bad notheal@$n"
done
echo "crash points in the heal of a cut-off mirror: $tried tried"
if [ "$k" -gt 0 ] && [ "${HW:-0}" -ge 2 ] && [ -z "$bad" ]; then
	pass "heal-crashed-at-every-write-heals-next-time ($tried points)"
else
	fail "heal-crashed-at-every-write-heals-next-time" "k=$k writes: $HW" "$bad"
fi

# A volume whose heal cannot run (its second disk read-only) shows
# Resynching, not Healthy, and takes no write; once the disk can be
# written, the next command heals it. (Root writes a file whatever its
# mode: the commands run without CAP_DAC_OVERRIDE, as a user would.)
asuser() {
	if [ "$(id -u)" = 0 ]; then
		setpriv --bounding-set=-dac_override --inh-caps=-dac_override "$@"
	else
		"$@"
	fi
}
restore
k=0
for n in $(seq 1 "${W:-0}"); do
	restore
	crashed "$n" "$GM" -m "$M" xcopy "$T/h" 'C:\' /s /y >/dev/null 2>&1 || continue
	plexes_agree Volume1 >/dev/null 2>&1 || { k=$n; break; }
done
chmod a-w "$M/disk1.img"
asuser "$GM" -m "$M" volume list >"$T/l" 2>&1
printf 'list volume\n' | asuser "$GM" -m "$M" diskpart >"$T/out" 2>&1
asuser "$GM" -m "$M" xcopy "$T/h" 'C:\again\' /s /y >"$T/x" 2>&1
xrc=$?
if [ "$k" -gt 0 ] && grep -q "Volume1 *Mirror .*Resynching" "$T/l" && grep -q "is read-only" "$T/l" &&
	grep -q "Mirror .*Resynching" "$T/out" && ! grep -q "Mirror .*Healthy" "$T/out" &&
	[ "$xrc" != 0 ] && ! plexes_agree Volume1 >/dev/null 2>&1; then
	pass "unhealed-mirror-shows-resynching-and-takes-no-write"
else
	fail "unhealed-mirror-shows-resynching-and-takes-no-write" "k=$k xrc=$xrc" "$(cat "$T/l" "$T/out" "$T/x")"
fi
chmod u+w "$M/disk1.img"
dp "list volume"
if grep -q "Mirror .*Healthy" "$T/out" && plexes_agree Volume1 >"$T/why" 2>&1; then
	pass "writable-again-heals"
else
	fail "writable-again-heals" "$(cat "$T/why" "$T/out")"
fi
