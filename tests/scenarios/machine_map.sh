#!/usr/bin/env bash
# machine map: the disks as Disk Management's graphical view draws them.
# The terminal form through the KB's states (installed, the shadow
# prepared, both dynamic, C: rebuilding, C: mirrored, disk 0 pulled) is
# compared with a golden; colour only on a terminal and never with
# NO_COLOR; the SVG is well-formed XML, rsvg-convert renders it, each box
# is as wide as its size asks (larger never narrower), and the colour at
# the centre of every box in the rendered PNG is the colour of its type in
# Disk Management's legend (the table below, which the README gives).
. "$(dirname "$0")/../lib.sh"
need rsvg-convert
need script
export GPTMIRROR_SEED=4242
GOLD=$(dirname "$0")/machine_map.golden
M=$T/server
map() { # TITLE: the map under a title, into the transcript
	echo "== $1"
	"$GM" -m "$M" machine map --width 100
	echo "[exit $?]"
}
(cd "$T" && "$GM" machine create server --disk 2G --disk 2G --profile 2003 --install) >/dev/null
{
	map "installed"
	dp "select disk 1" "convert gpt" "select partition 1" "delete partition override" \
		"create partition efi size=100" "create partition msr size=32"
	map "shadow prepared"
	dp "select disk 1" "convert dynamic" "select disk 0" "convert dynamic"
	"$GM" -m "$M" machine reboot >/dev/null 2>&1
	map "both dynamic"
	# add disk=1 cut off in the middle of its copy: Rebuild, with how far.
	printf '%s\n' "select volume c" "add disk=1" |
		GPTMIRROR_CRASH_AFTER_WRITES=22 "$GM" -m "$M" diskpart >/dev/null 2>&1
	echo "[add disk=1 killed: exit $?]"
	map "rebuilding"
	"$GM" -m "$M" volume resync >/dev/null 2>&1
	map "mirrored"
	"$GM" -m "$M" machine map --svg "$T/mirrored.svg" >/dev/null
	"$GM" -m "$M" machine pull-disk 0 >/dev/null
	map "disk 0 pulled"
	"$GM" -m "$M" machine map --svg "$T/pulled.svg" >/dev/null
	printf 'C:\\> gptmirror machine map --width 10\n'
	"$GM" -m "$M" machine map --width 10
	echo "[exit $?]"
} >"$T/got" 2>&1
golden machine-map-golden "$T/got" "$GOLD"

# Colour: on a terminal, the boxes' bars carry their type's colour (the
# mirror's red background 41 on both plexes); piped, or with NO_COLOR, none.
"$GM" -m "$M" machine insert-disk 0 --image "$M/pulled/disk0.img" >/dev/null 2>&1
script -qec "$GM -m $M machine map --width 100" /dev/null >"$T/tty" 2>&1
NO_COLOR=1 script -qec "$GM -m $M machine map --width 100" /dev/null >"$T/tty-nc" 2>&1
"$GM" -m "$M" machine map --width 100 >"$T/pipe" 2>&1
esc=$(printf '\033')
mirrors=$(grep -o "${esc}\[41;97m" "$T/tty" | wc -l)
if [ "$mirrors" -ge 3 ] && ! grep -q "$esc" "$T/tty-nc" && ! grep -q "$esc" "$T/pipe" &&
	grep -q "Mirrored volume" "$T/tty-nc"; then
	pass "colour-on-a-terminal-only"
else
	fail "colour-on-a-terminal-only" "mirror bars in colour: $mirrors" "$(cat -v "$T/tty" "$T/tty-nc" | head -40)"
fi

# SVG: XML, rendered, widths, and the colours at the boxes' centres.
for f in mirrored pulled; do
	rsvg-convert "$T/$f.svg" -o "$T/$f.png" 2>"$T/rsvg" || { fail "svg-renders-$f" "$(cat "$T/rsvg")"; continue; }
	python3 - "$T/$f.svg" "$T/$f.png" >"$T/why" 2>&1 <<'PY'
import struct, sys, xml.etree.ElementTree as ET, zlib
# Disk Management's legend, as the README documents it.
legend = {'unallocated': (0x00, 0x00, 0x00), 'primary': (0x1f, 0x3f, 0x9f), 'simple': (0x80, 0x80, 0x00),
          'spanned': (0x80, 0x00, 0x80), 'striped': (0x00, 0x80, 0x80), 'mirror': (0xa0, 0x28, 0x1e),
          'raid5': (0x00, 0xc0, 0xc0)}
def png(path):
    data = open(path, 'rb').read()
    assert data[:8] == b'\x89PNG\r\n\x1a\n'
    pos, idat, hdr = 8, b'', None
    while pos < len(data):
        n, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b'IHDR':
            hdr = struct.unpack('>IIBBBBB', body)
        elif kind == b'IDAT':
            idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = hdr
    assert depth == 8 and ctype in (2, 6) and interlace == 0, hdr
    bpp = 4 if ctype == 6 else 3
    raw, stride, rows, prev = zlib.decompress(idat), w * bpp, [], bytearray(w * bpp)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return w, h, bpp, rows
root = ET.parse(sys.argv[1]).getroot()
ns = '{http://www.w3.org/2000/svg}'
w, h, bpp, rows = png(sys.argv[2])
assert (w, h) == (int(root.get('width')), int(root.get('height'))), (w, h)
disks = root.findall(ns + 'g')
assert disks, 'no disk rows'
seen = set()
for g in disks:
    boxes = [r for r in g.findall(ns + 'rect') if r.get('class') == 'box']
    assert boxes, g.get('data-disk')
    for r in boxes:
        t = r.get('data-type')
        x, y, bw, bh = (int(r.get(k)) for k in ('x', 'y', 'width', 'height'))
        px = rows[y + bh // 2][(x + bw // 2) * bpp:(x + bw // 2) * bpp + 3]
        assert tuple(px) == legend[t], (g.get('data-disk'), t, tuple(px), legend[t])
        seen.add(t)
    for a in boxes:
        for b in boxes:
            if int(a.get('data-bytes')) > int(b.get('data-bytes')):
                assert int(a.get('width')) >= int(b.get('width')), (a.attrib, b.attrib)
assert {'mirror', 'primary'} <= seen, seen
print('ok', sorted(seen))
PY
	if [ $? = 0 ]; then pass "svg-colours-at-box-centres-$f"; else fail "svg-colours-at-box-centres-$f" "$(cat "$T/why")"; fi
done

# Bad usage: exit 2, and an SVG that cannot be written is an error.
"$GM" -m "$M" machine map --width 3 >/dev/null 2>&1; a=$?
"$GM" -m "$M" machine map --svg "$T/no/such/dir/x.svg" >/dev/null 2>&1; b=$?
"$GM" -m "$M" machine map --bogus >/dev/null 2>&1; c=$?
if [ "$a" = 2 ] && [ "$b" = 1 ] && [ "$c" = 2 ]; then pass "map-bad-usage"; else fail "map-bad-usage" "width=$a svg=$b bogus=$c"; fi
