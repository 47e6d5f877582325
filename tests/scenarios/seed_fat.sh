#!/usr/bin/env bash
# KB 814070 steps 6 and 8: "format s: /fs:fat /q /y" on the new 204 MB ESP
# and "xcopy p:\*.* s: /s /h" from the primary ESP, in deterministic mode,
# compared with a golden transcript; the result checked by fsck.fat and
# mtools (every file of P: is on S:, byte for byte).
. "$(dirname "$0")/../lib.sh"
need sgdisk
need fsck.fat
need mcopy
export GPTMIRROR_SEED=814070 MTOOLS_SKIP_CHECK=1
GOLD=$(dirname "$0")/seed_fat.golden
M=$T/server
(cd "$T" && "$GM" machine create server --disk 10G --disk 10G --profile 2003) >/dev/null
dp "select disk 0" "convert gpt" "select partition 1" "delete partition override" \
	"create partition efi size=204" "create partition primary size=4996" \
	"create partition msr size=32 offset=9437184" "select partition 1" "assign letter=P" \
	"select disk 1" "convert gpt" "select partition 1" "delete partition override" \
	"create partition efi size=204" "create partition msr size=32" "select partition 1" "assign letter=S"
[ "$RC" = 0 ] || fail setup "$(cat "$T/out")"
# The primary ESP as a Windows Server 2003 install leaves it (the seed's
# seven files), written in the seed's directory order.
mkdir -p "$T/esp/WINNT50" "$T/esp/EFIDrivers" "$T/esp/MSUtil"
printf 'Boot0003 option data\n' >"$T/esp/WINNT50/Boot0003"
for f in WINNT50/ia64ldr.efi EFIDrivers/fpswa.efi MSUtil/diskpart.efi MSUtil/fdisk.efi MSUtil/format.efi MSUtil/nvrboot.efi; do
	head -c $((4096 * 3 + ${#f} * 97)) /dev/zero | tr '\0' "${f:0:1}" >"$T/esp/$f"
done
fixed_times "$T/esp"
{
	"$GM" -m "$M" format p: /fs:fat /q /y &&
		"$GM" -m "$M" xcopy "$T/esp/WINNT50" 'P:\EFI\Microsoft\WINNT50' &&
		"$GM" -m "$M" xcopy "$T/esp/EFIDrivers" 'P:\EFI\Microsoft\EFIDrivers' &&
		"$GM" -m "$M" xcopy "$T/esp/MSUtil" 'P:\MSUtil'
} >"$T/setup.log" 2>&1 || fail setup-esp "$(cat "$T/setup.log")"

{
	echo 'C:\> format s: /fs:fat /q /y'
	"$GM" -m "$M" format s: /fs:fat /q /y
	echo "[exit $?]"
	echo 'C:\> xcopy p:\*.* s: /s /h'
	"$GM" -m "$M" xcopy 'p:\*.*' s: /s /h
	echo "[exit $?]"
} >"$T/transcript" 2>&1
golden transcript "$T/transcript" "$GOLD"
golden_images seed_fat "$M"
if grep -q "213,680,128 bytes total disk space." "$T/transcript" &&
	grep -q "52,168 allocation units available on disk." "$T/transcript" &&
	grep -q "^4,096 bytes in each allocation unit." "$T/transcript" &&
	grep -q "^16 bits in each FAT entry." "$T/transcript"; then
	pass "seed-format-figures"
else
	fail "seed-format-figures" "$(cat "$T/transcript")"
fi
part_extract "$M/disk1.img" 1 "$T/s.img"
part_extract "$M/disk0.img" 1 "$T/p.img"
if fsck_clean "$T/s.img" >"$T/f" && fsck_clean "$T/p.img" >>"$T/f"; then pass "both-esps-fsck-clean"; else fail "both-esps-fsck-clean" "$(cat "$T/f")"; fi
mkdir -p "$T/pc" "$T/sc"
mcopy -s -n -i "$T/p.img" '::/*' "$T/pc/" && mcopy -s -n -i "$T/s.img" '::/*' "$T/sc/"
if diff -r "$T/pc" "$T/sc" >"$T/d" 2>&1 && [ "$(find "$T/sc" -type f | wc -l)" = 7 ] &&
	cmp -s "$T/esp/WINNT50/ia64ldr.efi" "$T/sc/EFI/Microsoft/WINNT50/ia64ldr.efi"; then
	pass "shadow-esp-equals-primary"
else
	fail "shadow-esp-equals-primary" "$(cat "$T/d")" "$(find "$T/sc")"
fi
if all_clean; then pass "gpt-still-clean"; else fail "gpt-still-clean"; fi
