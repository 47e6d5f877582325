#!/usr/bin/env bash
# KB 814070, "Use Bootcfg.exe to add new EFI partition boot entries": the
# listing, /list 0, /list 1, /clone and the listing again, in deterministic
# mode against a golden transcript; every entry checked by efibootmgr over
# an exported efivarfs directory, with start and size compared to sgdisk;
# bad input and damaged stores refused with nvram.fd unchanged.
. "$(dirname "$0")/../lib.sh"
need sgdisk
need efibootmgr
export GPTMIRROR_SEED=814070
GOLD=$(dirname "$0")/seed_bootcfg.golden
if [ ! -f "${GPTMIRROR_OVMF_VARS:-/usr/share/OVMF/OVMF_VARS_4M.fd}" ]; then
	fail "ovmf-template" "the OVMF template is missing: install the ovmf package (scripts/install-deps)"
	exit 0
fi
M=$T/server
(cd "$T" && "$GM" machine create server --disk 10G --disk 10G --profile 2003) >/dev/null
ok "machine-has-nvram" test -s "$M/nvram.fd"
dp "select disk 0" "convert gpt" "select partition 1" "delete partition override" \
	"create partition efi size=204" "create partition primary size=4996" \
	"create partition msr size=32 offset=9437184" \
	"select disk 1" "convert gpt" "select partition 1" "delete partition override" \
	"create partition efi size=204" "create partition msr size=32"
# The entries the KB's machine had before the procedure (a 2003 install,
# its firmware's own entries, and the mirror entry add disk made).
LDR='\EFI\Microsoft\WINNT50\ia64ldr.efi'
{
	"$GM" -m "$M" nvram create -L "Windows 2003 Server, Enterprise" -d 0 -p 1 -l "$LDR" --os-disk 0 --os-part 2
	"$GM" -m "$M" nvram create -L LS120 --vendor 0c95a93f-a006-11d4-bcfa-0080c73c8881
	"$GM" -m "$M" nvram create -L CDROM --vendor 0c95a92f-a006-11d4-bcfa-0080c73c8881
	"$GM" -m "$M" nvram create -L "EFI Shell" --vendor c57ad6b7-0515-40a8-9d21-551652854e37
	"$GM" -m "$M" nvram create -L "Boot Mirror C: - secondary plex" -d 0 -p 1 -l "$LDR" --os-disk 0 --os-part 2
	"$GM" -m "$M" bootcfg /timeout 30
} >"$T/setup" 2>&1 || fail setup "$(cat "$T/setup")"

# Disk 0 is still basic here: its ESP, C: and MSR are HarddiskVolume1-3
# and disk 1's ESP is HarddiskVolume4 (once C: is dynamic, as in the KB,
# it is HarddiskVolume3: kb_literal).
S=$("$GM" -m "$M" bootcfg /list 0 | sed -n '0,/^Partition GUID/s/^Partition GUID: *//p')
TG=$("$GM" -m "$M" bootcfg /list 1 | sed -n '0,/^Partition GUID/s/^Partition GUID: *//p')
{
	echo 'C:\> bootcfg'
	"$GM" -m "$M" bootcfg
	echo 'C:\> bootcfg /list 0'
	"$GM" -m "$M" bootcfg /list 0
	echo 'C:\> bootcfg /list 1'
	"$GM" -m "$M" bootcfg /list 1
	echo "C:\\> bootcfg /clone /sg $S /tg $TG /d+ Cloned_Entry"
	"$GM" -m "$M" bootcfg /clone /sg "$S" /tg "$TG" /d+ Cloned_Entry
	echo "[exit $?]"
	echo 'C:\> bootcfg'
	"$GM" -m "$M" bootcfg
} >"$T/transcript" 2>&1
golden transcript "$T/transcript" "$GOLD"
golden_images seed_bootcfg "$M"
if grep -q "INFO: Boot entry whose id is '1' successfully cloned." "$T/transcript" &&
	grep -q "INFO: Boot entry whose id is '5' successfully cloned." "$T/transcript" &&
	grep -q "OS Friendly Name:      Boot Mirror C: - secondary plex Cloned_Entry" "$T/transcript" &&
	grep -q 'BootFilePath:          \\Device\\HarddiskVolume4\\EFI\\Microsoft\\WINNT50\\ia64ldr.efi' "$T/transcript"; then
	pass "clone-as-the-seed"
else
	fail "clone-as-the-seed" "$(tail -30 "$T/transcript")"
fi

# efibootmgr reads every entry; HD() start and size are what sgdisk says.
rm -rf "$T/ev"
"$GM" -m "$M" nvram export "$T/ev" >/dev/null
out=$(EFIVARFS_PATH="$T/ev/" efibootmgr -v 2>"$T/err")
start() { printf '0x%x' "$(sgdisk -i 1 "$M/disk$1.img" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')"; }
size() {
	local f l
	f=$(sgdisk -i 1 "$M/disk$1.img" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
	l=$(sgdisk -i 1 "$M/disk$1.img" | sed -n 's/^Last sector: \([0-9]*\).*/\1/p')
	printf '0x%x' $((l - f + 1))
}
uuid() { sgdisk -i 1 "$M/disk$1.img" | sed -n 's/^Partition unique GUID: //p' | tr 'A-F' 'a-f'; }
want0="HD(1,GPT,$(uuid 0),$(start 0),$(size 0))/File($LDR)"
want1="HD(1,GPT,$(uuid 1),$(start 1),$(size 1))/File($LDR)"
if [ ! -s "$T/err" ] && [ "$(grep -c '^Boot[0-9A-F]\{4\}' <<<"$out")" = 7 ] &&
	grep -qF "Boot0000* Windows 2003 Server, Enterprise	$want0" <<<"$out" &&
	grep -qF "Boot0004* Boot Mirror C: - secondary plex	$want0" <<<"$out" &&
	grep -qF "Boot0005* Windows 2003 Server, Enterprise Cloned_Entry	$want1" <<<"$out" &&
	grep -qF "Boot0006* Boot Mirror C: - secondary plex Cloned_Entry	$want1" <<<"$out" &&
	grep -q "^BootOrder: 0000,0001,0002,0003,0004,0005,0006" <<<"$out" && grep -q "^Timeout: 30 seconds" <<<"$out"; then
	pass "efibootmgr-decodes-every-entry"
else
	fail "efibootmgr-decodes-every-entry" "$out" "$(cat "$T/err")" "want: $want1"
fi

# /mirror /add, /default, /delete, /timeout, --json.
G2=$("$GM" -m "$M" bootcfg /list 0 | awk '/^Partition No: *2$/ {f=1} f && /^Partition GUID/ {print $3; exit}')
"$GM" -m "$M" bootcfg /mirror /add "$G2" /d "Original Shadow drive" >"$T/o" 2>&1
"$GM" -m "$M" bootcfg /default /id 8 >>"$T/o" 2>&1
"$GM" -m "$M" bootcfg /delete /id 3 >>"$T/o" 2>&1
"$GM" -m "$M" bootcfg --json >"$T/j"
if grep -q "SUCCESS: The mirrored boot entry has been added." "$T/o" &&
	grep -q "SUCCESS: Specified boot entry has been deleted." "$T/o" &&
	python3 -c "
import json,sys
d=json.load(open('$T/j'))
e=d['entries']
assert d['timeout']==30, d
assert len(e)==7, len(e)
assert e[0]['name']=='Original Shadow drive' and e[0]['windows'], e[0]
assert e[0]['os_file_path'].endswith('\\\\WINDOWS'), e[0]
assert not any(x['name']=='LS120' for x in e)
" 2>"$T/py"; then
	pass "mirror-add-default-delete-json"
else
	fail "mirror-add-default-delete-json" "$(cat "$T/o" "$T/py")"
fi

# Bad input: an error, a non-zero exit, nvram.fd unchanged.
refused() { # NAME WANT ARGS...
	local name=$1 want=$2 before out rc
	shift 2
	before=$(sha256sum <"$M/nvram.fd")
	out=$("$GM" -m "$M" bootcfg "$@" 2>&1)
	rc=$?
	if [ "$rc" != 0 ] && grep -qF "$want" <<<"$out" && [ "$before" = "$(sha256sum <"$M/nvram.fd")" ]; then
		pass "$name"
	else
		fail "$name" "rc=$rc" "$out"
	fi
}
refused unknown-source-guid "No boot entry uses the source partition" /clone /sg '{00000000-1111-2222-3333-444444444444}' /tg "$TG" /d+ X
refused unknown-target-guid "No partition with the target GUID" /clone /sg "$S" /tg '{00000000-1111-2222-3333-444444444444}' /d+ X
refused target-not-esp "not an EFI system partition" /clone /sg "$S" /tg "$G2" /d+ X
refused bad-guid "Invalid syntax" /clone /sg not-a-guid /tg "$TG"
refused id-does-not-exist "Boot entry ID '42' does not exist." /delete /id 42
refused id-zero "does not exist" /default /id 0
refused timeout-range "between 0 and 999" /timeout 1000
refused unknown-switch "Invalid syntax" /frobnicate
refused missing-value "Invalid syntax" /delete /id
refused mirror-not-data "not a data partition" /mirror /add "$TG" /d X
refused list-bad-disk "does not exist" /list 9

# Damaged stores: refused whole, the file unchanged.
cp "$M/nvram.fd" "$T/good.fd"
damage() { # NAME OFFSET BYTES WANT
	cp "$T/good.fd" "$M/nvram.fd"
	printf "$3" | dd of="$M/nvram.fd" bs=1 seek=$(($2)) conv=notrunc status=none
	local before out rc
	before=$(sha256sum <"$M/nvram.fd")
	out=$("$GM" -m "$M" bootcfg /timeout 5 2>&1)
	rc=$?
	if [ "$rc" != 0 ] && grep -qF "$4" <<<"$out" && [ "$before" = "$(sha256sum <"$M/nvram.fd")" ]; then
		pass "$1"
	else
		fail "$1" "rc=$rc" "$out"
	fi
}
damage fv-header-checksum 0x32 '\x00\x00' "firmware-volume header is damaged"
damage store-signature 0x48 '\x00' "variable store header"
damage ftw-pending 0x41020 '\xfe' "fault-tolerant write is pending"
cp "$T/good.fd" "$M/nvram.fd"
truncate -s 100000 "$M/nvram.fd"
out=$("$GM" -m "$M" bootcfg 2>&1)
if [ $? != 0 ] && grep -q "not that of an OVMF variable store" <<<"$out"; then pass "truncated-store"; else fail "truncated-store" "$out"; fi
cp "$T/good.fd" "$M/nvram.fd"
# A variable left half-written by the firmware (state 0x7F) is skipped, and
# the store stays writable; efibootmgr still reads the result.
off=$(python3 -c "
d=open('$M/nvram.fd','rb').read(); import struct
o=0x64
while d[o:o+2]==b'\xaa\x55':
    ns,ds=struct.unpack('<II',d[o+0x24:o+0x2c]); o=(o+0x3c+ns+ds+3)&~3
print(o)")
python3 - "$M/nvram.fd" "$off" <<'PY'
import sys, struct
f = open(sys.argv[1], 'r+b'); o = int(sys.argv[2])
name = 'Boot0099'.encode('utf-16-le') + b'\0\0'
# StartId, State 0x7F (header valid only), Attributes, MonotonicCount,
# TimeStamp, PubKeyIndex, NameSize, DataSize, then the vendor GUID.
hdr = struct.pack('<HBBI', 0x55aa, 0x7f, 0, 7) + b'\0' * 24 + struct.pack('<III', 0, len(name), 40)
hdr += bytes.fromhex('61dfe48bca93d211aa0d00e098032b8c')
f.seek(o); f.write(hdr + name + b'\x5a' * 40)
PY
out=$("$GM" -m "$M" bootcfg /timeout 7 2>&1)
rm -rf "$T/ev2"
"$GM" -m "$M" nvram export "$T/ev2" >/dev/null
ev=$(EFIVARFS_PATH="$T/ev2/" efibootmgr 2>&1)
if grep -q "SUCCESS" <<<"$out" && grep -q "^Timeout: 7 seconds" <<<"$ev" && ! grep -q Boot0099 <<<"$ev"; then
	pass "half-written-variable-skipped"
else
	fail "half-written-variable-skipped" "$out" "$ev"
fi

# With disk 1 pulled, the entries on it show (null) paths, as in the KB's
# recovery listing; /list of the missing disk is refused.
cp "$T/good.fd" "$M/nvram.fd"
"$GM" -m "$M" machine pull-disk 1 >/dev/null
out=$("$GM" -m "$M" bootcfg 2>&1)
if awk '/Cloned_Entry/ {f=1} f && /^BootFilePath:/ {print; exit}' <<<"$out" | grep -q '(null)' &&
	awk '/^OS Friendly Name: *Windows 2003 Server, Enterprise$/ {f=1} f && /^BootFilePath:/ {print; exit}' <<<"$out" | grep -q 'HarddiskVolume1'; then
	pass "missing-disk-paths-null"
else
	fail "missing-disk-paths-null" "$out"
fi
out=$("$GM" -m "$M" bootcfg /list 1 2>&1)
if [ $? != 0 ] && grep -q "does not exist" <<<"$out"; then pass "list-missing-disk"; else fail "list-missing-disk" "$out"; fi
