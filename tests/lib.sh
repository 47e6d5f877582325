# lib.sh - helpers for the shell tests. Every check prints one line,
# "PASS: group/name" or "FAIL: group/name", and details on failure.
set -u
# The tests must not depend on the caller's locale, time zone, umask or
# current directory (run.sh sets the same when it runs them all).
unset LANG LANGUAGE LC_CTYPE LC_MESSAGES LC_COLLATE LC_NUMERIC LC_TIME
export LC_ALL=C.UTF-8 TZ=UTC
umask 022
# sgdisk, fsck.fat, losetup and friends live in sbin, which a bare
# environment (env -i PATH=/usr/bin:/bin) leaves out.
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
GM=${GPTMIRROR_BIN:?}
TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GROUP=$(basename "$0" .sh)
case "$0" in */interop/*) GROUP="interop/$GROUP" ;; */meta/*) GROUP="meta/$GROUP" ;; *) GROUP="scenario/$GROUP" ;; esac
T=$(mktemp -d /tmp/gptmirror-test.XXXXXX)
trap "${KEEP_T:+:} rm -rf \"\$T\"" EXIT
unset GPTMIRROR_MACHINE GPTMIRROR_IOSTATS
# add disk copies in the foreground, as add disk=N wait does, so that the
# transcripts and crash counts do not depend on timing; rebuild_bg.sh
# tests the background copy (it unsets this).
export GPTMIRROR_REBUILD=wait
# gptmirror's EFI loader, for machine create --install and setup.
LOADER_EFI=${LOADER_EFI:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/bin/gptmirror-loader.efi}
export LOADER_EFI GPTMIRROR_LOADER=$LOADER_EFI

pass() { echo "PASS: $GROUP/$1"; }
fail() {
	echo "FAIL: $GROUP/$1"
	shift
	for l in "$@"; do printf '    %s\n' "$l"; done
}
# ok NAME CMD...: passes when CMD succeeds.
ok() {
	local n=$1
	shift
	if "$@" >"$T/.out" 2>&1; then pass "$n"; else fail "$n" "command: $*" "$(tail -15 "$T/.out")"; fi
}
# A tool the tests need. .ci/run installs it; missing is a failure, not a skip.
need() {
	command -v "$1" >/dev/null 2>&1 && return 0
	fail "tool-$1" "$1 is not installed: run scripts/install-deps"
	exit 0
}
# Runs a diskpart script (stdin form) on machine $M; output in $T/out, rc in $RC.
dp() {
	printf '%s\n' "$@" | "$GM" -m "$M" diskpart >"$T/out" 2>&1
	RC=$?
}
# sgdisk's verdict on an image. sgdisk -v says "No problems found" even
# after it silently rebuilt a damaged copy in memory, so its cautions and
# warnings count as problems too.
sgdisk_clean() {
	local out
	out=$(sgdisk -v "$1" 2>&1)
	grep -q '^No problems found' <<<"$out" && ! grep -qiE 'caution|warning|error|corrupt|invalid|mismatch' <<<"$out"
}
# Every image of the machine passes sgdisk -v.
all_clean() {
	local img
	for img in "$M"/disk*.img; do
		sgdisk_clean "$img" || { echo "sgdisk -v $img:"; sgdisk -v "$img"; return 1; }
	done
}
IMGTOOL=${IMGTOOL:?set IMGTOOL (run make check)}
# Hashes of every image (sparse-aware: holes are not read).
image_hash() { (cd "$M" && "$IMGTOOL" hash disk*.img); }
same_image() { "$IMGTOOL" cmp "$1" "$2"; }
# Compares a transcript with its golden file (GOLDEN_UPDATE=1 rewrites it).
golden() {
	local name=$1 got=$2 want=$3
	if [ -n "${GOLDEN_UPDATE:-}" ]; then
		if cp "$got" "$want"; then pass "$name (golden updated)"; else fail "$name" "cannot write $want"; fi
	elif [ ! -f "$want" ]; then
		fail "$name" "no golden file $want (run make golden-update)"
	elif diff -u "$want" "$got" >"$T/.diff" 2>&1; then
		pass "$name"
	else
		fail "$name" "transcript differs from $want:" "$(head -40 "$T/.diff")"
	fi
}

# Runs one diskpart session on $M, feeding the commands one at a time and
# calling the function $AFTER (if set) once each command has answered.
# Transcript in $T/out, exit status in $RC, failed AFTER checks in $AFTER_BAD.
dp_session() {
	local fifo=$T/.fifo n=1 c
	rm -f "$fifo"
	mkfifo "$fifo"
	"$GM" -m "$M" diskpart <"$fifo" >"$T/out" 2>&1 &
	local pid=$!
	exec 3>"$fifo"
	AFTER_BAD=""
	_wait_prompt() {
		local i
		for i in $(seq 1 3000); do
			[ "$(grep -c '^DISKPART> ' "$T/out")" -ge "$1" ] && return 0
			kill -0 "$pid" 2>/dev/null || return 1
			sleep 0.01
		done
		return 1
	}
	_wait_prompt 1
	for c in "$@"; do
		printf '%s\n' "$c" >&3
		n=$((n + 1))
		case "$c" in [Ee][Xx][Ii][Tt]*) break ;; esac
		_wait_prompt "$n" || break
		if [ -n "${AFTER:-}" ] && ! "$AFTER" >/dev/null 2>&1; then
			AFTER_BAD="$AFTER_BAD [$c]"
		fi
	done
	exec 3>&-
	wait "$pid"
	RC=$?
	[ -n "${AFTER:-}" ] && ! "$AFTER" >/dev/null 2>&1 && AFTER_BAD="$AFTER_BAD [end]"
	rm -f "$fifo"
}

# Copies partition N of a 512-byte-sector GPT image into a file of its own
# (sparse), for fsck.fat and mtools: part_extract IMG N OUT
part_extract() {
	local first last
	first=$(sgdisk -i "$2" "$1" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
	last=$(sgdisk -i "$2" "$1" | sed -n 's/^Last sector: \([0-9]*\).*/\1/p')
	"$IMGTOOL" extract "$1" $((first * 512)) $(((last - first + 1) * 512)) "$3"
}
# fsck.fat -n finds nothing to fix.
fsck_clean() {
	local out
	out=$(fsck.fat -n "$1" 2>&1)
	[ $? = 0 ] && ! grep -qiE 'differ|wrong|invalid|bad|lost|free cluster|orphan|fix|unable|contains' <<<"$out" ||
		{ echo "$out"; return 1; }
}

# dynamic_pair C-MB: machine $M (2003 profile, two 2 GB disks) with disk 0
# holding an ESP, a C: of C-MB (FAT32) and the MSR at 1 GiB, disk 1 an ESP
# and an MSR, both disks converted to dynamic (disk 0 at the reboot).
dynamic_pair() {
	(cd "$(dirname "$M")" && "$GM" machine create "$(basename "$M")" --disk 2G --disk 2G --profile 2003) >/dev/null
	dp "select disk 0" "convert gpt" "select partition 1" "delete partition override" \
		"create partition efi size=100" "create partition primary size=$1" \
		"create partition msr size=32 offset=1048576" "select partition 2" "assign letter=C" \
		"select disk 1" "convert gpt" "select partition 1" "delete partition override" \
		"create partition efi size=100" "create partition msr size=32"
	"$GM" -m "$M" format c: /fs:fat32 /q /y >/dev/null
	dp "select disk 1" "convert dynamic" "select disk 0" "convert dynamic"
	"$GM" -m "$M" machine reboot >/dev/null 2>&1
}

# ldm_agrees IMAGE...: every volume of `gptmirror volume list` is what
# ldmtool shows for it over those images: type, size (to the unit shown)
# and the names of its partitions; and ldmtool has no other volume.
ldm_agrees() {
	local a=() i g
	for i in "$@"; do a+=(-d "$i"); done
	g=$(ldmtool -d /dev/null scan "$@" 2>/dev/null | tr -d '[]" \n')
	[ -n "$g" ] || { echo "ldmtool finds no disk group"; return 1; }
	"$GM" -m "$M" volume list >"$T/.ours" 2>&1 || { cat "$T/.ours"; return 1; }
	ldmtool "${a[@]}" show diskgroup "$g" >"$T/.dg" 2>/dev/null
	local v
	: >"$T/.theirs"
	for v in $(python3 -c "import json,sys; print(' '.join(json.load(open(sys.argv[1]))['volumes']))" "$T/.dg"); do
		ldmtool "${a[@]}" show volume "$g" "$v" 2>/dev/null >>"$T/.theirs"
		echo "," >>"$T/.theirs"
	done
	python3 - "$T/.ours" "$T/.theirs" <<'PY'
import json, re, sys
ours = {}
for line in open(sys.argv[1]):
    m = re.match(r'\s+(Volume\d+)\s+(\S+)\s+(\d+) (B|KB|MB|GB|TB)\s+\S+( Rd)?\s+(.*)$', line)
    if m:
        ours[m.group(1)] = (m.group(2), int(m.group(3)), m.group(4), sorted(m.group(6).split()))
text = open(sys.argv[2]).read().strip().rstrip(',')
theirs = {v['name']: v for v in json.loads('[' + text + ']')} if text else {}
kinds = {'Simple': 'simple', 'Spanned': 'spanned', 'Stripe': 'striped', 'Mirror': 'mirrored', 'RAID-5': 'raid5'}
unit = {'B': 1, 'KB': 1 << 10, 'MB': 1 << 20, 'GB': 1 << 30, 'TB': 1 << 40}
assert set(ours) == set(theirs), (sorted(ours), sorted(theirs))
for name, (kind, num, u, parts) in ours.items():
    t = theirs[name]
    assert kinds[kind] == t['type'], (name, kind, t['type'])
    assert abs(t['size'] * 512 / unit[u] - num) < 1, (name, num, u, t['size'])
    assert parts == sorted(t['partitions']), (name, parts, t['partitions'])
PY
}

# dp_refused NAME TEXT COMMANDS...: a diskpart session on $M that must exit
# non-zero, say TEXT, and leave every image as it was.
dp_refused() {
	local name=$1 want=$2 before
	shift 2
	before=$(image_hash)
	dp "$@"
	if [ "$RC" != 0 ] && grep -qF -- "$want" "$T/out" && [ "$(image_hash)" = "$before" ]; then
		pass "$name"
	else
		fail "$name" "$(cat "$T/out")"
	fi
}

# crashed N CMD...: runs CMD with the crash hook set to end it right after
# its Nth write (GPTMIRROR_CRASH_AFTER_WRITES); true only when the hook
# fired, that is when CMD ended with the hook's documented status 137.
crashed() {
	local n=$1
	shift
	GPTMIRROR_CRASH_AFTER_WRITES=$n "$@"
	[ $? = 137 ]
}
# writes_of ARGS...: how many writes `gptmirror ARGS...` makes on machine $M
# (GPTMIRROR_IOSTATS), run on a scratch copy of it; stdin goes to it.
writes_of() {
	rm -rf "$T/.count"
	cp -r --sparse=always "$M" "$T/.count"
	GPTMIRROR_IOSTATS=1 "$GM" -m "$T/.count" "$@" 2>&1 >/dev/null | sed -n 's/.* in \([0-9]*\) writes$/\1/p' | tail -1
	rm -rf "$T/.count"
}
# golden_images NAME DIR: the content sha256 (tests/tools/imghash.py) of
# every disk image of machine DIR (pulled ones too), its nvram.fd and its
# machine.conf equal the committed tests/scenarios/NAME.sha256: a run in
# deterministic mode leaves the same bytes as the run that made the file
# (GOLDEN_UPDATE=1 rewrites it).
golden_images() {
	local name=$1 dir=$2 want
	want=$TESTS_DIR/scenarios/$name.sha256
	(cd "$dir" && python3 "$TESTS_DIR/tools/imghash.py" \
		$(ls disk*.img pulled/*.img nvram.fd machine.conf 2>/dev/null)) >"$T/.sums" 2>&1
	if [ -n "${GOLDEN_UPDATE:-}" ]; then
		cp "$T/.sums" "$want"
		pass "images-$name (sha256 updated)"
	elif [ ! -f "$want" ]; then
		fail "images-$name" "no $want (run make golden-update)"
	elif diff -u "$want" "$T/.sums" >"$T/.diff" 2>&1; then
		pass "images-$name"
	else
		fail "images-$name" "the images differ from $want:" "$(cat "$T/.diff")"
	fi
}
# fixed_times DIR...: every file and directory below DIR gets the seeded
# clock's time (2003-03-28 12:00:00 UTC), so that xcopy, which keeps a
# source's times, writes the same bytes in every run.
fixed_times() { find "$@" -exec touch -h -d @1048852800 {} +; }
# det_bytes N [SEED]: N pseudo-random bytes, the same in every run.
det_bytes() { python3 -c 'import random, sys; r = random.Random(int(sys.argv[2])); sys.stdout.buffer.write(r.randbytes(int(sys.argv[1])))' "$1" "${2:-1}"; }

# plex_places VOLUME: where ldmtool (not gptmirror) puts each plex of
# VOLUME of machine $M: "image byte-offset byte-length" lines.
plex_places() {
	python3 - "$1" "$M"/disk*.img <<'PY'
import json, subprocess, sys
vol, imgs = sys.argv[1], sys.argv[2:]
def ldm(*a):
    return json.loads(subprocess.run(['ldmtool'] + [x for i in imgs for x in ('-d', i)] + list(a),
                                     capture_output=True, text=True).stdout)
g = json.loads(subprocess.run(['ldmtool', '-d', '/dev/null', 'scan'] + imgs,
                              capture_output=True, text=True).stdout)[0]
for p in ldm('show', 'volume', g, vol)['partitions']:
    pr = ldm('show', 'partition', g, p)
    d = ldm('show', 'disk', g, pr['disk'])
    print(d['device'], (d['data-start'] + pr['start']) * 512, pr['size'] * 512)
PY
}

# plexes_agree VOLUME: every plex of mirror VOLUME of machine $M, read off
# the images where ldmtool (not gptmirror) puts it (the disk's data-start
# plus the partition's start), holds the same bytes. Says which differ.
plexes_agree() {
	python3 - "$1" "$M"/disk*.img <<'PY'
import json, subprocess, sys
vol, imgs = sys.argv[1], sys.argv[2:]
def ldm(*a):
    out = subprocess.run(['ldmtool'] + [x for i in imgs for x in ('-d', i)] + list(a),
                         capture_output=True, text=True).stdout
    return json.loads(out)
g = json.loads(subprocess.run(['ldmtool', '-d', '/dev/null', 'scan'] + imgs,
                              capture_output=True, text=True).stdout)[0]
v = ldm('show', 'volume', g, vol)
if v['type'] != 'mirrored':
    sys.exit('%s is %s, not mirrored' % (vol, v['type']))
plexes = []
for p in v['partitions']:
    pr = ldm('show', 'partition', g, p)
    d = ldm('show', 'disk', g, pr['disk'])
    plexes.append((p, d['device'], (d['data-start'] + pr['start']) * 512, pr['size'] * 512))
fs = [open(dev, 'rb') for _, dev, _, _ in plexes]
size = plexes[0][3]
for off in range(0, size, 1 << 20):
    n = min(1 << 20, size - off)
    blocks = []
    for f, (_, _, start, _) in zip(fs, plexes):
        f.seek(start + off)
        blocks.append(f.read(n))
    if any(b != blocks[0] for b in blocks[1:]):
        sys.exit('%s: plexes %s differ at byte %d' % (vol, ', '.join(p[0] for p in plexes), off))
PY
}

# fixture_machine DIR GROUP: a machine at DIR whose slots hold the
# Windows-written fixture disks $T/fx/ldm-GROUP-*.img (unpacked by the
# caller), in name order; the images in the array imgs, slot k = imgs[k].
fixture_machine() {
	"$GM" machine create "$1" --disk 1M >/dev/null
	"$GM" -m "$1" machine pull-disk 0 >/dev/null
	imgs=("$T"/fx/ldm-"$2"-*.img)
	local k
	for k in "${!imgs[@]}"; do "$GM" -m "$1" machine insert-disk "$k" --image "${imgs[$k]}" >/dev/null; done
}
