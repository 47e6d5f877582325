#!/usr/bin/env bash
# The main job: KB 814070 end to end on a fresh machine, with the seed's own
# commands. A Server 2003 machine is installed on disk 0; the shadow disk
# gets its ESP and the boot files; both disks go dynamic and C: is mirrored;
# the boot entries are cloned onto the shadow ESP; the shadow is test-booted
# in QEMU with OVMF; disk 0 fails and the machine fails over to disk 1;
# disk 0 is replaced and the mirror re-established; then each disk alone
# boots in QEMU. Every image is checked by sgdisk -v after every diskpart
# step, the ESPs by fsck.fat and mtools, the disk group by ldmtool, and
# every firmware boot is run twice, emulated and in QEMU, which must agree.
# Ends with a pass/fail summary (non-zero exit on any failure).
#
#   scripts/demo.sh [GPTMIRROR-BINARY]      (make demo)
#   DEMO_DIR=dir keeps the machine there instead of a temporary directory.
set -u
GM=${1:-$(dirname "$0")/../bin/gptmirror}
GM=$(cd "$(dirname "$GM")" && pwd)/$(basename "$GM")
export GPTMIRROR_LOADER=${GPTMIRROR_LOADER:-$(dirname "$GM")/gptmirror-loader.efi}
export MTOOLS_SKIP_CHECK=1
# The oracles (sgdisk, fsck.fat) live in sbin, which a bare PATH leaves out.
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
. "$(dirname "$0")/common.sh"
workdir gptmirror-demo
WORK=$W
M=$WORK/server
START=$(date +%s)
passed=0 failed=0 results=()
bold() { if [ -t 1 ]; then printf '\n\033[1m== %s\033[0m\n' "$*"; else printf '\n== %s\n' "$*"; fi; }
cmd() { printf 'C:\\> %s\n' "$*"; }
verdict() { # NAME OK?
	if [ "$2" = 0 ]; then passed=$((passed + 1)); results+=("PASS  $1"); else failed=$((failed + 1)); results+=("FAIL  $1"); fi
}
images_clean() {
	local img ok=0
	for img in "$M"/disk*.img; do
		[ -e "$img" ] || continue
		if sgdisk_clean "$img"; then echo "   sgdisk -v $(basename "$img"): No problems found"; else
			echo "   sgdisk -v $(basename "$img"): PROBLEMS"; sgdisk -v "$img"; ok=1; fi
	done
	return $ok
}
# The KB: "wait for the volume synchronization to complete ... use the list
# volume command repeatedly until the status changes from Rebuild to
# Healthy". add disk returned at once; its copy goes on in the background.
wait_healthy() {
	local out i ok=1
	bold "Wait for the synchronization: list volume until Rebuild turns Healthy"
	for i in $(seq 1 600); do
		out=$(printf 'list volume\nexit\n' | "$GM" -m "$M" diskpart | sed -n '/^DISKPART> list/,/^DISKPART> exit/p' | sed '$d')
		if ! grep -q Rebuild <<<"$out"; then
			ok=0
			break
		fi
		[ "$i" = 1 ] && echo "$out"
		sleep 1
	done
	echo "$out"
	verdict "the mirror's background copy ends Healthy" $ok
}
# step TITLE diskpart-commands... : one diskpart session, shown as a transcript.
step() {
	local title=$1 ok=0
	shift
	bold "$title"
	printf '%s\n' "$@" | "$GM" -m "$M" diskpart | sed -n '/^DISKPART>/,$p'
	[ "${PIPESTATUS[1]}" = 0 ] || ok=1
	images_clean || ok=1
	verdict "$title" "$ok"
}
ldm_check() { # TITLE: ldmtool scans the present disks in both orders
	local imgs=() a b
	for i in "$M"/disk*.img; do [ -e "$i" ] && imgs+=("$i"); done
	a=$(ldmtool -d /dev/null scan "${imgs[@]}" 2>/dev/null | tr -d '[]" \n')
	b=$(printf '%s\n' "${imgs[@]}" | tac | xargs ldmtool -d /dev/null scan 2>/dev/null | tr -d '[]" \n')
	echo "   ldmtool: disk group $a, seen the same in both disk orders"
	[ -n "$a" ] && [ "$a" = "$b" ]
	verdict "$1" $?
}
# boots TITLE WANT-GUID [--entry ID]: the emulated boot and QEMU must agree,
# and the partition that booted must be WANT-GUID.
boots() {
	local title=$1 want=$2 ok=0 e q
	shift 2
	bold "$title"
	cmd "gptmirror machine boot${*:+ $*}"
	"$GM" -m "$M" machine boot "$@" | tee "$WORK/emu"
	cmd "gptmirror machine boot --qemu${*:+ $*}"
	"$GM" -m "$M" machine boot --qemu "$@" | tee "$WORK/qemu"
	e=$(sed -n 's/^Booted Boot\([0-9A-F]*\) .*{\([0-9a-f-]*\)}.*/\1 \2/p' "$WORK/emu")
	q=$(sed -n 's/^QEMU: the loader booted: Boot\([0-9A-F]*\) from partition {\([0-9a-f-]*\)}.*/\1 \2/p' "$WORK/qemu")
	if [ -n "$e" ] && [ "$e" = "$q" ] && [ "${e#* }" = "$want" ]; then
		echo "   emulated boot and OVMF agree: Boot${e% *} from {${e#* }}"
	else
		echo "   DISAGREE or wrong disk: emulated '$e', OVMF '$q', wanted {$want}"
		ok=1
	fi
	verdict "$title" $ok
}
esp_guid() { # SLOT
	"$GM" -m "$M" bootcfg /list "$1" | awk '/^Partition GUID:/ { g = $3 } /^GUID type:/ && /c12a7328/ { print g; exit }' | tr -d '{}'
}

bold "A fresh machine: two 10 GB disks; Windows Server 2003 installed on disk 0"
cmd "gptmirror machine create server --disk 10G --disk 10G --profile 2003 --install"
"$GM" machine create "$M" --disk 10G --disk 10G --profile 2003 --install
verdict "machine create --install" $?
G0=$(esp_guid 0)
boots "The installed system boots from disk 0" "$G0"
cmd "bootcfg"
"$GM" -m "$M" bootcfg

step "Prepare the shadow drive, steps 1-3: convert disk 1 to GPT, delete its MSR" \
	"Select disk 1" "Convert GPT" "List partition" "Select partition 1" "Delete partition override" "exit"
step "Step 4: list disk 0, make ESP and MSR of the same sizes on disk 1" \
	"Select disk 0" "List partition" "select disk 1" "create partition efi size=204" \
	"create partition msr size=32" "list partition" "exit"
step "Step 5: assign S to the shadow EFI partition" \
	"Select disk 1" "Select partition 1" "Assign letter=S" "exit"
bold "Step 6: format the shadow ESP"
cmd "format s: /fs:fat /q /y"
"$GM" -m "$M" format s: /fs:fat /q /y
verdict "Step 6: format s: /fs:fat /q /y" $?
step "Step 7: assign P to the primary EFI partition" \
	"Select disk 0" "Select partition 1" "Assign letter=P" "exit"
bold "Step 8: copy the boot files"
cmd 'xcopy p:\*.* s: /s /h'
"$GM" -m "$M" xcopy 'p:\*.*' s: /s /h
verdict "Step 8: xcopy p:\\*.* s: /s /h" $?
bold "The two ESPs, checked by fsck.fat and mtools"
ok=0
for d in 0 1; do
	first=$(sgdisk -i 1 "$M/disk$d.img" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
	dd if="$M/disk$d.img" of="$WORK/esp$d.img" bs=512 skip="$first" count=417792 status=none
	fsck.fat -n "$WORK/esp$d.img" >/dev/null || ok=1
	mkdir -p "$WORK/c$d"
	mcopy -s -n -i "$WORK/esp$d.img" '::/*' "$WORK/c$d/" || ok=1
done
diff -r "$WORK/c0" "$WORK/c1" || ok=1
[ "$ok" = 0 ] && echo "   fsck.fat -n: clean on both; mtools: the shadow ESP holds the same files, byte for byte"
verdict "ESP copy checked by fsck.fat and mtools" $ok
step "Step 9: remove both letters" \
	"Select volume P" "Remove" "Select volume S" "Remove" "list volume" "exit"

step "Convert the primary and shadow drives to dynamic" \
	"Select disk 1" "Convert dynamic" "Select disk 0" "Convert dynamic" "exit"
bold "Restart to complete the conversion of disk 0"
cmd "gptmirror machine reboot"
"$GM" -m "$M" machine reboot
verdict "machine reboot (conversion of disk 0)" $?
ldm_check "ldmtool reads both dynamic disks"
step "Establish the mirror of the boot volume on the shadow drive" \
	"list disk" "Select volume C" "add disk=1" "list volume" "exit"
wait_healthy
ldm_check "ldmtool reads the mirror"

bold "Bootcfg: the boot entries, then the partition tables of both disks"
cmd "bootcfg"
"$GM" -m "$M" bootcfg
cmd "bootcfg /list 0"
"$GM" -m "$M" bootcfg /list 0
cmd "bootcfg /list 1"
"$GM" -m "$M" bootcfg /list 1
verdict "bootcfg listing, /list 0, /list 1" $?
G1=$(esp_guid 1)
cmd "bootcfg /clone /sg {$G0} /tg {$G1} /d+ Cloned_Entry"
"$GM" -m "$M" bootcfg /clone /sg "{$G0}" /tg "{$G1}" /d+ Cloned_Entry
verdict "bootcfg /clone onto the shadow ESP" $?
cmd "bootcfg"
"$GM" -m "$M" bootcfg
ID=$("$GM" -m "$M" bootcfg | awk '/^Boot entry ID:/ { id = $4 } /secondary plex Cloned_Entry/ { print id }')

boots "Test-boot the shadow drive: menu entry 'Boot Mirror C: - secondary plex Cloned_Entry'" "$G1" --entry "$ID"
boots "Back to normal: the machine boots disk 0" "$G0"

bold "Disk 0 fails"
cmd "gptmirror machine pull-disk 0"
"$GM" -m "$M" machine pull-disk 0
boots "With disk 0 gone, the firmware fails over to the shadow disk" "$G1"
MID=$("$GM" -m "$M" bootcfg | awk '/^Boot entry ID:/ { id = $4 } /OS Friendly Name: *Boot Mirror C: - secondary plex$/ { print id }')
bold "The entry that still points at disk 0's ESP fails as the KB shows"
cmd "gptmirror machine boot --entry $MID"
"$GM" -m "$M" machine boot --entry "$MID"
[ $? != 0 ]
verdict "the dead disk's entry: Load failed: Not Found, Paused" $?

bold "Recover: a blank replacement disk 0, then Windows Setup on it"
cmd "gptmirror machine insert-disk 0 --size 10G"
"$GM" -m "$M" machine insert-disk 0 --size 10G
cmd "gptmirror setup --disk 0"
"$GM" -m "$M" setup --disk 0
verdict "setup --disk 0" $?
images_clean >/dev/null
cmd "bootcfg"
"$GM" -m "$M" bootcfg
cmd "bootcfg /list 1"
"$GM" -m "$M" bootcfg /list 1
# The original boot partition: the LDM data partition of the shadow disk.
OG=$("$GM" -m "$M" bootcfg /list 1 | awk '/^Partition GUID:/ { g = $3 } /^Partition name: *LDM data partition/ { print g }' | tail -1)
cmd "bootcfg /mirror /add $OG /D \"Original Shadow drive\""
"$GM" -m "$M" bootcfg /mirror /add "$OG" /D "Original Shadow drive"
verdict "bootcfg /mirror /add" $?
cmd "bootcfg"
"$GM" -m "$M" bootcfg
NG0=$(esp_guid 0)
OID=$("$GM" -m "$M" bootcfg | awk '/^Boot entry ID:/ { id = $4 } /Original Shadow drive/ { print id }')
boots "Boot the original system: menu entry 'Original Shadow drive'" "$NG0" --entry "$OID"

step "Re-establish the mirror: break the missing plex, delete the missing disk" \
	"list volume" "select volume 0" "detail volume" "break disk=m0 nokeep" "list volume" \
	"select disk m0" "delete disk" "exit"
step "Delete Setup's partition on disk 0, convert it to dynamic, mirror C: back onto it" \
	"select disk 0" "list partition" "select partition 3" "delete partition" "convert dynamic" \
	"list volume" "select volume 0" "add disk=0" "list volume" "exit"
wait_healthy
ldm_check "ldmtool reads the re-established mirror"
bold "Clean up the boot entries whose disk is gone"
cmd "bootcfg"
"$GM" -m "$M" bootcfg
# The KB's own deletes: add disk=0 took the place of Setup's entry (ID 1),
# so ID 6 is the first half's secondary-plex entry and, after it, ID 2 the
# original system's entry, as the KB means.
ok=0
for id in 6 2; do
	cmd "bootcfg /delete /ID $id"
	"$GM" -m "$M" bootcfg /delete /ID "$id" || ok=1
done
# Then any entry still naming a disk that is gone: the first half's clone
# of the original entry, which the KB's own listings of the recovery do
# not have.
while :; do
	# The first entry whose loader or system is on a disk that is gone.
	STALE=$("$GM" -m "$M" bootcfg | awk '/^Boot entry ID:/ { id = $4 } /^(BootFilePath|OsFilePath): *\(null\)/ { print id; exit }')
	[ -n "$STALE" ] || break
	cmd "bootcfg /delete /id $STALE"
	"$GM" -m "$M" bootcfg /delete /id "$STALE" || { ok=1; break; }
done
cmd "bootcfg"
"$GM" -m "$M" bootcfg
verdict "bootcfg /delete of the stale entries" $ok
NG1=$(esp_guid 1)

bold "Each disk alone boots"
"$GM" -m "$M" machine pull-disk 1 | tee "$WORK/pulled"
KEPT1=$(sed -n 's/.*the image is kept as \(.*\))\.$/\1/p' "$WORK/pulled")
boots "Disk 0 alone (disk 1 pulled)" "$NG0"
"$GM" -m "$M" machine insert-disk 1 --image "$M/$KEPT1"
"$GM" -m "$M" machine pull-disk 0 | tee "$WORK/pulled"
KEPT0=$(sed -n 's/.*the image is kept as \(.*\))\.$/\1/p' "$WORK/pulled")
boots "Disk 1 alone (disk 0 pulled)" "$NG1"
"$GM" -m "$M" machine insert-disk 0 --image "$M/$KEPT0"
step "Both disks back: the mirror is healthy" "list disk" "list volume" "exit"
printf 'list volume\n' | "$GM" -m "$M" diskpart | grep -q "Mirror .*Healthy"
verdict "C: is a healthy mirror on both disks" $?

bold "Summary ($(($(date +%s) - START)) s)"
printf '  %s\n' "${results[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
