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
