#!/usr/bin/env bash
# The NVRAM we write boots in QEMU with OVMF (TCG). The KB's layout: the
# loader at \EFI\Microsoft\WINNT50\ia64ldr.efi on disk 0's ESP, the shadow
# ESP copied by xcopy, an entry for disk 0 and its bootcfg /clone on disk 1.
# Both disks: disk 0's entry boots. Disk 0 left out: OVMF fails over to the
# clone on disk 1. A store edited by us after OVMF booted with it still
# boots (and boots what we made first). The loader reports the partition
# GUID and BootCurrent on the serial line; no fallback BOOTX64.EFI exists,
# so only our entries can boot.
. "$(dirname "$0")/../lib.sh"
need qemu-system-x86_64
need sgdisk
CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
[ -f "$CODE" ] || { fail "ovmf-code" "$CODE missing: install the ovmf package"; exit 0; }
LOADER=${LOADER_EFI:?set LOADER_EFI (make check)}
export GPTMIRROR_SEED=7
M=$T/server
"$GM" machine create "$M" --disk 1G --disk 1G --profile 2003 >/dev/null
dp "select disk 0" "convert gpt" "select partition 1" "delete partition override" \
	"create partition efi size=204" "create partition primary size=500" "select partition 1" "assign letter=P" \
	"select disk 1" "convert gpt" "select partition 1" "delete partition override" \
	"create partition efi size=204" "create partition msr size=32" "select partition 1" "assign letter=S"
mkdir -p "$T/ldr"
cp "$LOADER" "$T/ldr/ia64ldr.efi"
{
	"$GM" -m "$M" format p: /fs:fat /q /y &&
		"$GM" -m "$M" format s: /fs:fat /q /y &&
		"$GM" -m "$M" xcopy "$T/ldr" 'P:\EFI\Microsoft\WINNT50' &&
		"$GM" -m "$M" xcopy 'p:\*.*' s: /s /h &&
		"$GM" -m "$M" nvram create -L "Windows 2003 Server, Enterprise" -d 0 -p 1 \
			-l '\EFI\Microsoft\WINNT50\ia64ldr.efi' --os-disk 0 --os-part 2 &&
		"$GM" -m "$M" bootcfg /timeout 0
} >"$T/setup" 2>&1 || fail setup "$(cat "$T/setup")"
S=$("$GM" -m "$M" bootcfg /list 0 | sed -n '0,/^Partition GUID/s/^Partition GUID: *{\(.*\)}/\1/p')
TG=$("$GM" -m "$M" bootcfg /list 1 | sed -n '0,/^Partition GUID/s/^Partition GUID: *{\(.*\)}/\1/p')
"$GM" -m "$M" bootcfg /clone /sg "{$S}" /tg "{$TG}" /d+ Cloned_Entry >>"$T/setup" 2>&1 || fail clone "$(cat "$T/setup")"

# boot LOG VARS DISK...: one boot, stopped when the loader powers off, the
# shell appears, or 90 s pass. Never bootindex (OVMF would rewrite BootOrder).
boot() {
	local log=$1 vars=$2 drives=() d
	shift 2
	for d in "$@"; do drives+=(-drive "file=$d,format=raw,if=virtio,snapshot=on"); done
	: >"$log"
	timeout 90 qemu-system-x86_64 -machine q35,accel=tcg -m 256 -smp 1 \
		-drive "if=pflash,format=raw,unit=0,readonly=on,file=$CODE" \
		-drive "if=pflash,format=raw,unit=1,file=$vars" \
		"${drives[@]}" -display none -serial "file:$log" -monitor none \
		-no-reboot -nodefaults -net none >/dev/null 2>&1 &
	local pid=$! i
	for i in $(seq 1 900); do
		if grep -aqE 'GPTMIRROR-POWEROFF|Shell> |X64 Exception' "$log" 2>/dev/null; then
			sleep 0.5
			break
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	sed -i 's/\x1b\[[0-9;]*[A-Za-z]//g; s/\r//g' "$log"
}
lower() { tr 'A-F' 'a-f'; }
booted_from() { sed -n 's/^GPTMIRROR-PARTITION [0-9]* \(.*\)$/\1/p' "$1" | head -1 | lower; }
current() { sed -n 's/^GPTMIRROR-BOOTCURRENT \(.*\)$/\1/p' "$1" | head -1; }

cp "$M/nvram.fd" "$T/run1.fd"
boot "$T/both.log" "$T/run1.fd" "$M/disk0.img" "$M/disk1.img"
if [ "$(booted_from "$T/both.log")" = "$S" ] && [ "$(current "$T/both.log")" = "0000" ] &&
	grep -q 'GPTMIRROR-FILE .*ia64ldr.efi' "$T/both.log"; then
	pass "both-disks-boot-disk0-entry"
else
	fail "both-disks-boot-disk0-entry" "want $S" "$(grep -a -E 'BdsDxe|GPTMIRROR' "$T/both.log" | head)"
fi

cp "$M/nvram.fd" "$T/run2.fd"
boot "$T/fail.log" "$T/run2.fd" "$M/disk1.img"
if grep -q 'failed to load Boot0000 "Windows 2003 Server, Enterprise".*Not Found' "$T/fail.log" &&
	[ "$(booted_from "$T/fail.log")" = "$TG" ] && [ "$(current "$T/fail.log")" = "0001" ]; then
	pass "disk0-pulled-clone-on-disk1-boots"
else
	fail "disk0-pulled-clone-on-disk1-boots" "want $TG" "$(grep -a -E 'BdsDxe|GPTMIRROR' "$T/fail.log" | head)"
fi

# The store OVMF wrote during boot 1, edited by us: the clone made default.
cp "$T/run1.fd" "$M/nvram.fd"
"$GM" -m "$M" bootcfg /v >"$T/after" 2>&1
id=$(awk '/^Boot entry ID:/ {id=$4} /Cloned_Entry/ {print id; exit}' "$T/after")
out=$("$GM" -m "$M" bootcfg /default /id "$id" 2>&1)
cp "$M/nvram.fd" "$T/run3.fd"
boot "$T/edited.log" "$T/run3.fd" "$M/disk0.img" "$M/disk1.img"
if grep -q SUCCESS <<<"$out" && [ "$(booted_from "$T/edited.log")" = "$TG" ] && [ "$(current "$T/edited.log")" = "0001" ]; then
	pass "store-edited-after-ovmf-boot-still-boots"
else
	fail "store-edited-after-ovmf-boot-still-boots" "$out" "$(cat "$T/after")" "$(grep -a -E 'BdsDxe|GPTMIRROR' "$T/edited.log" | head)"
fi
