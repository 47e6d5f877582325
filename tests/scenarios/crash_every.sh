#!/usr/bin/env bash
# Crash injection at every write of every command that writes, table by
# table: partition tables (convert gpt, create efi / msr / primary,
# delete partition, clean), machine.conf (assign), file systems (format)
# and the NVRAM (bootcfg /timeout, /default, /delete, /clone, /mirror
# /add; nvram create, delete). For each command: how many writes it makes
# (GPTMIRROR_IOSTATS, machine.conf and nvram.fd replacements included),
# then a run killed after each one. What the kill leaves is looked at by
# the independent tools (sgdisk -v, fsck.fat, efibootmgr); then the next
# natural command runs (any command for tables and the NVRAM; the rerun
# for format), after which they must accept the state, and it must be the
# old one or the new one. The counts are printed: points tried, states
# rejected after the next command, not healed; both must be 0.
. "$(dirname "$0")/../lib.sh"
need sgdisk
need fsck.fat
need efibootmgr
export GPTMIRROR_SEED=73 MTOOLS_SKIP_CHECK=1
M=$T/server
total_tried=0 total_bad=0

# --- what the independent tools say ----------------------------------------
# gpt_sig DIR SLOT: the table sgdisk reads (or "raw").
gpt_sig() {
	local out
	out=$(sgdisk -p "$1/disk$2.img" 2>&1)
	if grep -q "Creating new GPT entries" <<<"$out"; then echo raw; return; fi
	grep -E "^Disk identifier|^ +[0-9]+ " <<<"$out"
}
# gpt_ok DIR SLOT: sgdisk -v finds nothing (a blank disk included).
gpt_ok() { sgdisk_clean "$1/disk$2.img"; }
# fat_sig DIR PART: the file system sgdisk's partition PART holds, as
# fsck.fat sees it: type and counts (or "raw").
fat_sig() {
	part_extract "$1/disk0.img" "$2" "$T/sig.img"
	fsck.fat -n -v "$T/sig.img" 2>/dev/null | grep -E "^FAT type|files, " || echo raw
}
fat_ok() {
	part_extract "$1/disk0.img" "$2" "$T/ok.img"
	fsck_clean "$T/ok.img" >/dev/null
}
# nv_sig DIR: the entries efibootmgr reads from the machine's NVRAM.
nv_sig() {
	rm -rf "$T/ev"
	"$GM" -m "$1" nvram export "$T/ev" >/dev/null 2>&1
	EFIVARFS_PATH="$T/ev/" efibootmgr -v 2>&1
}
nv_ok() {
	rm -rf "$T/ev"
	"$GM" -m "$1" nvram export "$T/ev" >/dev/null 2>&1 &&
		EFIVARFS_PATH="$T/ev/" efibootmgr -v >/dev/null 2>"$T/eberr" && [ ! -s "$T/eberr" ] &&
		"$GM" -m "$1" bootcfg >/dev/null 2>&1
}
conf_sig() { grep -E "^letter\." "$1/machine.conf"; "$GM" -m "$1" machine status 2>&1 | grep -v -e "^ *$" -e "^Machine: "; }
conf_ok() { "$GM" -m "$1" machine status >/dev/null 2>&1; }

# campaign NAME SIG OK NEXT -- CMD...: CMD (run as CMD DIR) killed at each
# of its writes on copies of $M; SIG, OK and NEXT are called with the
# copy's directory. $M is left as it was.
campaign() {
	local name=$1 sig=$2 okf=$3 next=$4 old new W n tried=0 fired=0 left=0 rejected=0 notheal=0 bad=""
	shift 5
	rm -rf "$T/base" "$T/full" "$T/cnt"
	cp -r --sparse=always "$M" "$T/base"
	old=$($sig "$T/base")
	cp -r --sparse=always "$T/base" "$T/full"
	"$@" "$T/full" >/dev/null 2>&1
	new=$($sig "$T/full")
	cp -r --sparse=always "$T/base" "$T/cnt"
	W=$(GPTMIRROR_IOSTATS=1 "$@" "$T/cnt" 2>&1 >/dev/null | sed -n 's/.* in \([0-9]*\) writes$/\1/p' | tail -1)
	if [ "$old" = "$new" ] || [ "${W:-0}" -lt 1 ]; then
		fail "$name-crashed-at-every-write" "the command changes nothing (writes: $W)"
		return
	fi
	for n in $(seq 1 "$W"); do
		tried=$((tried + 1))
		rm -rf "$T/w"
		cp -r --sparse=always "$T/base" "$T/w"
		GPTMIRROR_CRASH_AFTER_WRITES=$n "$@" "$T/w" >/dev/null 2>&1
		[ $? = 137 ] || { bad="$bad nofire@$n"; continue; }
		fired=$((fired + 1))
		$okf "$T/w" || left=$((left + 1))
		$next "$T/w" >/dev/null 2>&1
		local s
		s=$($sig "$T/w")
		if ! $okf "$T/w"; then
			notheal=$((notheal + 1))
			bad="$bad notheal@$n"
		elif [ "$s" != "$old" ] && [ "$s" != "$new" ]; then
			rejected=$((rejected + 1))
			bad="$bad neither-old-nor-new@$n"
		fi
	done
	echo "crash points in $name: $tried tried, $fired fired, $left left a state a tool rejects, $rejected rejected after the next command, $notheal not healed"
	total_tried=$((total_tried + tried))
	total_bad=$((total_bad + rejected + notheal))
	if [ "$fired" = "$tried" ] && [ "$rejected" = 0 ] && [ "$notheal" = 0 ]; then
		pass "$name-crashed-at-every-write ($tried points)"
	else
		fail "$name-crashed-at-every-write" "writes: $W" "$bad"
	fi
}

# The commands, each run as CMD DIR.
diskpart_on() { local dir=$1; shift; printf '%s\n' "$@" | "$GM" -m "$dir" diskpart; }
any_command() { "$GM" -m "$1" machine status; }

# --- partition tables and machine.conf ---------------------------------------
"$GM" machine create "$M" --disk 1G --disk 1G --profile modern >/dev/null
dp "select disk 0" "convert gpt" "create partition primary size=100" "assign letter=F"
"$GM" -m "$M" format f: /fs:fat /q /y >/dev/null
mkdir -p "$T/h" && det_bytes 40000 2 >"$T/h/a.bin" && fixed_times "$T/h"
"$GM" -m "$M" xcopy "$T/h" 'F:\' /y >/dev/null

c_convert() { diskpart_on "$1" "select disk 1" "convert gpt"; }
c_efi() { diskpart_on "$1" "select disk 0" "create partition efi size=100"; }
c_msr() { diskpart_on "$1" "select disk 0" "create partition msr size=32"; }
c_primary() { diskpart_on "$1" "select disk 0" "create partition primary size=50"; }
c_delete() { diskpart_on "$1" "select disk 0" "select partition 2" "delete partition"; }
c_clean() { diskpart_on "$1" "select disk 0" "clean"; }
c_assign() { diskpart_on "$1" "select disk 0" "select partition 2" "assign letter=G"; }
c_format() { "$GM" -m "$1" format f: /fs:fat32 /q /y; }
sig1() { gpt_sig "$1" 1; }
ok1() { gpt_ok "$1" 1; }
sig0() { gpt_sig "$1" 0; }
ok0() { gpt_ok "$1" 0; }
fsig() { fat_sig "$1" 2; }
fok() { fat_ok "$1" 2; }
campaign convert-gpt sig1 ok1 any_command -- c_convert
campaign create-efi sig0 ok0 any_command -- c_efi
campaign create-msr sig0 ok0 any_command -- c_msr
campaign create-primary sig0 ok0 any_command -- c_primary
campaign delete-partition sig0 ok0 any_command -- c_delete
campaign clean sig0 ok0 any_command -- c_clean
campaign assign conf_sig conf_ok any_command -- c_assign
campaign format fsig fok c_format -- c_format

# --- the NVRAM -----------------------------------------------------------------
rm -rf "$M"
"$GM" machine create "$M" --disk 6G --disk 6G --profile 2003 --install >/dev/null
dp "select disk 1" "convert gpt" "select partition 1" "delete partition override" "create partition efi size=100"
S=$("$GM" -m "$M" bootcfg /list 0 | sed -n '0,/^Partition GUID/s/^Partition GUID: *//p')
TG=$("$GM" -m "$M" bootcfg /list 1 | sed -n '0,/^Partition GUID/s/^Partition GUID: *//p')
G2=$("$GM" -m "$M" bootcfg /list 0 | awk '/^Partition No: *2$/ {f=1} f && /^Partition GUID/ {print $3; exit}')
c_timeout() { "$GM" -m "$1" bootcfg /timeout 9; }
c_default() { "$GM" -m "$1" bootcfg /default /id 3; }
c_bdelete() { "$GM" -m "$1" bootcfg /delete /id 2; }
c_clone() { "$GM" -m "$1" bootcfg /clone /sg "$S" /tg "$TG" /d+ Cloned; }
c_mirror() { "$GM" -m "$1" bootcfg /mirror /add "$G2" /d "Shadow"; }
c_nvcreate() { "$GM" -m "$1" nvram create -L "Extra" -d 0 -p 1 -l '\EFI\BOOT\BOOTX64.EFI'; }
c_nvdelete() { "$GM" -m "$1" nvram delete 3; }
list_entries() { "$GM" -m "$1" bootcfg; }
campaign bootcfg-timeout nv_sig nv_ok list_entries -- c_timeout
campaign bootcfg-default nv_sig nv_ok list_entries -- c_default
campaign bootcfg-delete nv_sig nv_ok list_entries -- c_bdelete
campaign bootcfg-clone nv_sig nv_ok list_entries -- c_clone
campaign bootcfg-mirror-add nv_sig nv_ok list_entries -- c_mirror
campaign nvram-create nv_sig nv_ok list_entries -- c_nvcreate
campaign nvram-delete nv_sig nv_ok list_entries -- c_nvdelete
echo "crash points over these commands: $total_tried tried, $total_bad rejected or not healed"
