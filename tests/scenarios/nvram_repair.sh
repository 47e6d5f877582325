#!/usr/bin/env bash
# nvram repair: a store with a damaged variable header keeps every
# variable that parsed (the ones before the damage), the damage and what
# follows it are erased, and the store takes writes again; efibootmgr reads
# what is kept. On a sound store it changes nothing.
. "$(dirname "$0")/../lib.sh"
need efibootmgr
export GPTMIRROR_SEED=8
M=$T/m
(cd "$T" && "$GM" machine create m --disk 2G --profile 2003 --install) >/dev/null 2>&1 || fail install
# The third record of the store gets an impossible DataSize.
python3 - "$M/nvram.fd" <<'PY'
import struct, sys
path = sys.argv[1]
b = bytearray(open(path, 'rb').read())
off = 0x48 + 0x1c
def rec_len(o):
    ns, ds = struct.unpack_from('<II', b, o + 0x24)
    return (0x3c + ns + ds + 3) // 4 * 4
for _ in range(2):
    off += rec_len(off)
assert struct.unpack_from('<H', b, off)[0] == 0x55aa
struct.pack_into('<I', b, off + 0x28, 0xfffffff0)
open(path, 'wb').write(b)
PY
"$GM" -m "$M" nvram list >"$T/before" 2>&1
kept_before=$(grep -c . "$T/before" || true)
"$GM" -m "$M" nvram repair >"$T/r" 2>&1
rr=$?
"$GM" -m "$M" nvram list >"$T/after" 2>&1
ra=$?
rm -rf "$T/ev"
"$GM" -m "$M" nvram export "$T/ev" >/dev/null 2>&1
EFIVARFS_PATH="$T/ev/" efibootmgr -v >"$T/eb" 2>"$T/ebe"
re=$?
"$GM" -m "$M" bootcfg /timeout 7 >"$T/t" 2>&1
rt=$?
if [ "$rr" = 0 ] && grep -q "^Repaired: .*damaged" "$T/r" && grep -q "variables that parsed were kept" "$T/r" &&
	[ "$ra" = 0 ] && diff <(grep -v warning "$T/before") "$T/after" >/dev/null && [ "$re" = 0 ] && [ ! -s "$T/ebe" ] &&
	[ "$rt" = 0 ] && "$GM" -m "$M" bootcfg 2>/dev/null | grep -q "^Timeout: *7$"; then
	pass "repair-keeps-what-parsed-and-takes-writes"
else
	fail "repair-keeps-what-parsed-and-takes-writes" "rc $rr/$ra/$re/$rt ($kept_before lines before)" "$(cat "$T/r" "$T/before" "$T/after" "$T/ebe" "$T/t")"
fi
before=$(sha256sum <"$M/nvram.fd")
"$GM" -m "$M" nvram repair >"$T/r" 2>&1
if [ $? = 0 ] && grep -q "not damaged; nothing was changed" "$T/r" && [ "$before" = "$(sha256sum <"$M/nvram.fd")" ]; then
	pass "repair-of-a-sound-store-changes-nothing"
else
	fail "repair-of-a-sound-store-changes-nothing" "$(cat "$T/r")"
fi
