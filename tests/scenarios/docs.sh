#!/usr/bin/env bash
# The man pages: mandoc -T lint finds nothing above style level, man -l
# renders each, and they say what the programs say: every command form of
# `gptmirror --help` is a head of gptmirror(8)'s COMMANDS and of the
# README's command reference and nothing else is; every Syntax line of
# diskpart's `help CMD` is a head of diskpart(8)'s COMMANDS; every line of
# `bootcfg /?` is a head of bootcfg(8)'s OPTIONS.
. "$(dirname "$0")/../lib.sh"
need mandoc
need man
MAN=$(cd "$(dirname "$0")/../../man" && pwd)
README=$(cd "$(dirname "$0")/../.." && pwd)/README.md
export GPTMIRROR_SEED=88
for p in gptmirror diskpart bootcfg; do
	lint=$(mandoc -T lint -W warning "$MAN/$p.8" 2>&1)
	lrc=$?
	if [ "$lrc" = 0 ] && [ -z "$lint" ]; then pass "mandoc-lint-$p"; else fail "mandoc-lint-$p" "rc=$lrc" "$lint"; fi
	MANPAGER=cat MANWIDTH=80 man -l "$MAN/$p.8" >"$T/$p.txt" 2>"$T/$p.err"
	mrc=$?
	up=$(tr a-z A-Z <<<"$p")
	if [ "$mrc" = 0 ] && grep -q "^$up(8)" "$T/$p.txt" && grep -q "^NAME" "$T/$p.txt" && grep -q "^SYNOPSIS" "$T/$p.txt"; then
		pass "man-l-renders-$p"
	else
		fail "man-l-renders-$p" "rc=$mrc" "$(head -20 "$T/$p.txt" "$T/$p.err")"
	fi
done

(cd "$T" && "$GM" machine create m --disk 1G) >/dev/null
python3 - "$GM" "$T/m" "$MAN" "$README" >"$T/why" 2>&1 <<'PY'
import re, subprocess, sys
gm, mdir, man, readme = sys.argv[1:5]
def heads(page, section, until):
    out = subprocess.run(['mandoc', '-T', 'ascii', '-O', 'width=400', '%s/%s.8' % (man, page)],
                         capture_output=True, text=True, check=True).stdout
    sec = re.sub(r'.\x08', '', out).split('\n%s\n' % section)[1].split('\n%s\n' % until)[0]
    return [re.split(r'\s{2,}', l.strip())[0] for l in sec.split('\n') if re.match(r'^     \S', l)]
def joined(lines, cont):
    forms = []
    for l in lines:
        if l.startswith(cont):
            forms[-1] += ' ' + l.strip()
        else:
            forms.append(l.strip())
    return forms
def same(what, a, b):
    a, b = sorted(set(a)), sorted(set(b))
    assert a == b, '%s: only in the program: %s; only in the page: %s' % (
        what, [x for x in a if x not in b], [x for x in b if x not in a])
# gptmirror --help, gptmirror(8), the README
usage = subprocess.run([gm, '--help'], capture_output=True, text=True).stdout.split('\n')
body = usage[2:usage.index('', 2)]
forms = joined(body, '      ')
assert len(forms) >= 25, forms
same('gptmirror(8)', forms, heads('gptmirror', 'COMMANDS', 'ENVIRONMENT'))
text = open(readme).read()
block = text.split('## Command reference\n\n```\n')[1].split('```')[0].rstrip('\n').split('\n')
same('README', forms, [re.sub(r'^gptmirror ', '', f) for f in joined(block, '          ')])
# diskpart's help and diskpart(8)
norm = lambda s: re.sub(r'\s+', ' ', s.replace('<', '').replace('>', '')).strip().lower()
names = subprocess.run([gm, '-m', mdir, 'diskpart'], input='help\n', capture_output=True, text=True).stdout
cmds = re.findall(r'^([A-Z]+) +- ', names, re.M)
assert len(cmds) >= 15, cmds
syn = []
for c in cmds:
    out = subprocess.run([gm, '-m', mdir, 'diskpart'], input='help %s\n' % c.lower(), capture_output=True, text=True).stdout
    on = False
    for l in out.split('DISKPART> help %s\n' % c.lower())[1].split('\n'):
        if l.startswith('Syntax:'):
            on, l = True, l[len('Syntax:'):]
            syn.append(l.strip())
        elif on and not l.strip():
            on = False
        elif on and l.startswith('                  '):
            syn[-1] += ' ' + l.strip()
        elif on:
            syn.append(l.strip())
same('diskpart(8)', map(norm, syn), map(norm, heads('diskpart', 'COMMANDS', 'EXIT STATUS')))
# bootcfg /? and bootcfg(8)
bc = subprocess.run([gm, '-m', mdir, 'bootcfg', '/?'], capture_output=True, text=True).stdout
lines = [l for l in bc.split('\n') if l.startswith('BOOTCFG')]
same('bootcfg(8)', [l.lower() for l in lines], [h.lower() for h in heads('bootcfg', 'OPTIONS', 'EXIT STATUS')])
print('ok', len(forms), len(syn), len(lines))
PY
if [ $? = 0 ]; then pass "usage-and-man-pages-agree ($(tail -1 "$T/why"))"; else fail "usage-and-man-pages-agree" "$(cat "$T/why")"; fi
