#!/usr/bin/env bash
# nvram.fd with one variable header that does not parse (an impossible
# DataSize or NameSize, a bad StartId): the store is read as far as it
# parses, with a warning naming the offset and a non-zero exit, and nothing
# writes it: bootcfg /timeout, /delete and nvram create leave every byte.
. "$(dirname "$0")/../lib.sh"
export GPTMIRROR_SEED=6
M=$T/m
(cd "$T" && "$GM" machine create m --disk 2G --profile 2003 --install) >/dev/null 2>&1 || fail install
cp "$M/nvram.fd" "$T/good.fd"
# damage FIELD: the second variable record of the store gets a bad FIELD.
damage() {
	python3 - "$M/nvram.fd" "$1" <<'PY'
import struct, sys
path, field = sys.argv[1], sys.argv[2]
b = bytearray(open(path, 'rb').read())
off = 0x48 + 0x1c  # firmware-volume header, then the variable store header
def rec_len(o):
    ns, ds = struct.unpack_from('<II', b, o + 0x24)
    return (0x3c + ns + ds + 3) // 4 * 4
assert struct.unpack_from('<H', b, off)[0] == 0x55aa
off += rec_len(off)  # the second record
assert struct.unpack_from('<H', b, off)[0] == 0x55aa
if field == 'datasize':
    struct.pack_into('<I', b, off + 0x28, 0xfffffff0)
elif field == 'namesize':
    struct.pack_into('<I', b, off + 0x24, 0x7fffffff)
else:
    struct.pack_into('<H', b, off, 0x1234)
open(path, 'wb').write(b)
print(hex(off))
PY
}
for field in datasize namesize startid; do
	cp "$T/good.fd" "$M/nvram.fd"
	at=$(damage "$field")
	before=$(sha256sum <"$M/nvram.fd")
	"$GM" -m "$M" bootcfg >"$T/l" 2>&1
	rl=$?
	"$GM" -m "$M" nvram list >"$T/n" 2>&1
	rn=$?
	"$GM" -m "$M" bootcfg /timeout 9 >"$T/t" 2>&1
	rt=$?
	"$GM" -m "$M" nvram create -L x -d 0 -p 1 -l '\x.efi' >"$T/c" 2>&1
	rc=$?
	if [ "$rl" != 0 ] && [ "$rn" != 0 ] && [ "$rt" != 0 ] && [ "$rc" != 0 ] &&
		grep -q "damaged.*offset $at" "$T/l" && grep -q "damaged.*offset $at" "$T/n" &&
		grep -q "Nothing was written" "$T/t" && [ "$(sha256sum <"$M/nvram.fd")" = "$before" ]; then
		pass "damaged-$field-read-not-written"
	else
		fail "damaged-$field-read-not-written" "rc $rl/$rn/$rt/$rc at $at" "$(cat "$T/l" "$T/n" "$T/t" "$T/c" | tail -12)"
	fi
done
# A sound store is not reported.
cp "$T/good.fd" "$M/nvram.fd"
if "$GM" -m "$M" bootcfg >"$T/l" 2>&1 && ! grep -q damaged "$T/l"; then pass "sound-store-no-warning"; else fail "sound-store-no-warning" "$(cat "$T/l")"; fi
