#!/usr/bin/env bash
# machine status --json and volume list --json: each parses as JSON
# (Python's parser), and its numbers are the independent tools': every
# partition's LBAs, type and partition GUIDs and name are sgdisk's, the disk
# GUID is sgdisk's, and every dynamic volume's type, size and extents (at
# ldmtool's data-start + start) are ldmtool's.
. "$(dirname "$0")/../lib.sh"
need sgdisk
need ldmtool
export GPTMIRROR_SEED=616
M=$T/server
dynamic_pair 64
dp "select volume c" "add disk=1"
"$GM" -m "$M" machine status --json >"$T/ms.json" 2>"$T/e"
mrc=$?
"$GM" -m "$M" volume list --json >"$T/vl.json" 2>>"$T/e"
vrc=$?
python3 - "$T/ms.json" "$M" >"$T/why" 2>&1 <<'PY'
import json, re, subprocess, sys
doc = json.load(open(sys.argv[1]))
assert doc['profile'] == '2003' and len(doc['disks']) == 2, doc
for d in doc['disks']:
    img = '%s/%s' % (sys.argv[2], d['image'])
    out = subprocess.run(['sgdisk', '-p', img], capture_output=True, text=True).stdout
    assert d['disk_guid'] == re.search(r'Disk identifier \(GUID\): (\S+)', out).group(1).lower(), d['disk_guid']
    assert d['size_bytes'] == d['sectors'] * d['sector_size']
    nums = [int(l.split()[0]) for l in out.splitlines() if re.match(r'^ +\d+ ', l)]
    assert sorted(nums) == sorted(p['number'] for p in d['partitions']), (nums, d['partitions'])
    for p in d['partitions']:
        i = subprocess.run(['sgdisk', '-i', str(p['number']), img], capture_output=True, text=True).stdout
        f = lambda k: re.search(k + r': (.*)', i).group(1).strip()
        assert int(f('First sector').split()[0]) == p['first_lba'], p
        assert int(f('Last sector').split()[0]) == p['last_lba'], p
        assert f('Partition unique GUID').lower() == p['guid'], p
        assert f('Partition GUID code').split()[0].lower() == p['type_guid'], p
        assert f('Partition name').strip("'") == p['name'], (f('Partition name'), p)
        assert p['size_bytes'] == p['sectors'] * d['sector_size']
print('ok')
PY
mok=$?
python3 - "$T/vl.json" "$M"/disk0.img "$M"/disk1.img >>"$T/why" 2>&1 <<'PY'
import json, subprocess, sys
doc = json.load(open(sys.argv[1]))
imgs = sys.argv[2:]
def ldm(*a):
    return json.loads(subprocess.run(['ldmtool'] + [x for i in imgs for x in ('-d', i)] + list(a),
                                     capture_output=True, text=True).stdout)
g = json.loads(subprocess.run(['ldmtool', '-d', '/dev/null', 'scan'] + imgs, capture_output=True, text=True).stdout)[0]
(grp,) = doc['groups']
assert grp['guid'] == g, (grp['guid'], g)
kinds = {'Simple': 'simple', 'Spanned': 'spanned', 'Stripe': 'striped', 'Mirror': 'mirrored', 'RAID-5': 'raid5'}
dg = ldm('show', 'diskgroup', g)
assert sorted(v['name'] for v in grp['volumes']) == sorted(dg['volumes'])
for v in grp['volumes']:
    lv = ldm('show', 'volume', g, v['name'])
    assert kinds[v['type']] == lv['type'] and v['size_sectors'] == lv['size'], (v, lv)
    assert v['size_bytes'] == 512 * v['size_sectors'] and v['state'] == 'healthy'
    ours = {x['name']: x for p in v['plexes'] for x in p['extents']}
    assert sorted(ours) == sorted(lv['partitions']), (ours, lv)
    for name, x in ours.items():
        pr = ldm('show', 'partition', g, name)
        dk = ldm('show', 'disk', g, pr['disk'])
        assert x['start_lba'] == dk['data-start'] + pr['start'] and x['sectors'] == pr['size'], (x, pr, dk)
        assert dk['device'].endswith('disk%d.img' % x['slot']), (x, dk)
print('ok')
PY
vok=$?
if [ "$mrc" = 0 ] && [ "$mok" = 0 ]; then pass "machine-status-json-is-sgdisk"; else fail "machine-status-json-is-sgdisk" "rc=$mrc" "$(cat "$T/why" "$T/e")"; fi
if [ "$vrc" = 0 ] && [ "$vok" = 0 ]; then pass "volume-list-json-is-ldmtool"; else fail "volume-list-json-is-ldmtool" "rc=$vrc" "$(cat "$T/why" "$T/e")"; fi

# diskpart --json: every list and detail is one JSON document on stdout
# (everything else on stderr); the numbers are sgdisk's and ldmtool's, and
# each listing has as many rows as the text form of the same command.
printf '%s\n' "list disk" "select disk 0" "list partition" "detail disk" "select partition 1" \
	"detail partition" "select disk 1" "list partition" "list volume" "select volume c" \
	"detail volume" >"$T/js.txt"
"$GM" -m "$M" diskpart --json /s "$T/js.txt" >"$T/dj.json" 2>"$T/dj.err"
djrc=$?
printf 'list disk\nlist volume\n' | "$GM" -m "$M" diskpart >"$T/dj.txt" 2>&1
python3 - "$T/dj.json" "$T/dj.txt" "$M" >"$T/why" 2>&1 <<'PY'
import json, re, subprocess, sys
docs = [json.loads(l) for l in open(sys.argv[1])]
text = open(sys.argv[2]).read()
M = sys.argv[3]
kinds = [d.get('listing') or 'detail ' + d['detail'] for d in docs]
assert kinds == ['disk', 'partition', 'detail disk', 'detail partition', 'partition', 'volume',
                 'detail volume'], kinds
imgs = ['%s/disk%d.img' % (M, i) for i in (0, 1)]
ldm = lambda *a: json.loads(subprocess.run(['ldmtool'] + [x for i in imgs for x in ('-d', i)] + list(a),
                                           capture_output=True, text=True).stdout)
g = json.loads(subprocess.run(['ldmtool', '-d', '/dev/null', 'scan'] + imgs, capture_output=True, text=True).stdout)[0]
def sg(img):
    out = subprocess.run(['sgdisk', '-p', img], capture_output=True, text=True).stdout
    parts = {}
    for l in out.splitlines():
        m = re.match(r'^ +(\d+) +(\d+) +(\d+) ', l)
        if m:
            parts[int(m.group(1))] = (int(m.group(2)), int(m.group(3)))
    return re.search(r'Disk identifier \(GUID\): (\S+)', out).group(1).lower(), parts
# list disk: sizes and GUIDs are sgdisk's; the same rows as the text
disks = docs[0]['disks']
ltext, vtext = text.split('DISKPART> list volume')
assert len(disks) == len(re.findall(r'^[ *] Disk \d', ltext, re.M)), disks
for d in disks:
    guid, _ = sg(imgs[d['number']])
    assert d['guid'] == guid and d['dynamic'] and d['gpt'] and d['state'] == 'online', d
    assert d['size_bytes'] == d['size_sectors'] * d['sector_size'] == 2 << 30, d
# list partition of each disk: the rows of sgdisk -p
for doc, n in ((docs[1], 0), (docs[4], 1)):
    _, parts = sg(imgs[n])
    ours = {p['number']: (p['first_lba'], p['last_lba']) for p in doc['partitions']}
    assert ours == parts, (ours, parts)
    for p in doc['partitions']:
        i = subprocess.run(['sgdisk', '-i', str(p['number']), imgs[n]], capture_output=True, text=True).stdout
        assert re.search(r'Partition unique GUID: (\S+)', i).group(1).lower() == p['guid'], p
        assert p['size_bytes'] == p['size_sectors'] * 512 and p['offset_bytes'] == p['first_lba'] * 512
# list volume: the dynamic ones are ldmtool's, each with its size and type
vols = docs[5]['volumes']
assert len(vols) == len(re.findall(r'^[ *] Volume \d', vtext, re.M)) > 0, vols
dyn = [v for v in vols if v['dynamic']]
assert sorted(v['ldm_name'] for v in dyn) == sorted(ldm('show', 'diskgroup', g)['volumes']), dyn
for v in dyn:
    lv = ldm('show', 'volume', g, v['ldm_name'])
    assert v['size_sectors'] == lv['size'] and v['size_bytes'] == 512 * lv['size'], (v, lv)
c = [v for v in vols if v['letter'] == 'C']
assert len(c) == 1 and c[0]['type'] == 'Mirror' and c[0]['status'] == 'Healthy' and c[0]['info'] == 'Boot', c
# detail volume: the mirror is on both disks
dv = docs[6]
assert sorted(d['number'] for d in dv['disks']) == [0, 1] and dv['volume']['letter'] == 'C', dv
assert dv['capacity_bytes'] == c[0]['size_bytes']
# detail disk 0: C: is among its volumes; detail partition 1 is the ESP
assert any(v['letter'] == 'C' for v in docs[2]['volumes']) and docs[2]['disk_id'] == docs[0]['disks'][0]['guid']
assert docs[3]['partition']['kind'] == 'esp' and docs[3]['partition']['type_guid'] == 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b'
print('ok')
PY
djok=$?
# The messages went to stderr, the listings only to stdout.
if [ "$djrc" = 0 ] && [ "$djok" = 0 ] && grep -q "Disk 1 is now the selected disk" "$T/dj.err" &&
	! grep -q "Volume ###" "$T/dj.err" && ! grep -qv '^{' "$T/dj.json"; then
	pass "diskpart-json-is-sgdisk-and-ldmtool"
else
	fail "diskpart-json-is-sgdisk-and-ldmtool" "rc=$djrc" "$(cat "$T/why" "$T/dj.err")"
fi

# nvram list --json is what efibootmgr reads from the same store.
(cd "$T" && "$GM" machine create inst --disk 6G --profile 2003 --install) >/dev/null
"$GM" -m "$T/inst" nvram list --json >"$T/nv.json" 2>"$T/e"
nrc=$?
rm -rf "$T/ev"
"$GM" -m "$T/inst" nvram export "$T/ev" >/dev/null
EFIVARFS_PATH="$T/ev/" efibootmgr -v >"$T/eb" 2>/dev/null
python3 - "$T/nv.json" "$T/eb" >"$T/why" 2>&1 <<'PY'
import json, re, sys
doc = json.load(open(sys.argv[1]))
eb = open(sys.argv[2]).read().splitlines()
order = next(l for l in eb if l.startswith('BootOrder: ')).split(': ')[1].split(',')
assert doc['boot_order'] == order, (doc['boot_order'], order)
assert doc['timeout'] == int(next(l for l in eb if l.startswith('Timeout: ')).split()[1])
ents = {m.group(1): (m.group(2), m.group(3)) for m in (re.match(r'^Boot([0-9A-F]{4})\* (.*?)\t(.*)$', l) for l in eb) if m}
assert sorted(e['boot'] for e in doc['entries']) == sorted(ents), (doc['entries'], ents)
for e in doc['entries']:
    desc, path = ents[e['boot']]
    assert e['valid'] and e['active'] and e['description'] == desc, (e, desc)
    assert path.startswith(e['device_path']), (e['device_path'], path)
assert doc['damaged'] == ''
print('ok')
PY
if [ "$nrc" = 0 ] && [ $? = 0 ] && grep -q "^ok$" "$T/why"; then pass "nvram-list-json-is-efibootmgr"; else fail "nvram-list-json-is-efibootmgr" "rc=$nrc" "$(cat "$T/why" "$T/e")"; fi
