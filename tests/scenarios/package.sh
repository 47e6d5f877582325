#!/usr/bin/env bash
# Packaging: the Debian package builds from a copy of the tree with
# dpkg-buildpackage -us -uc -b; lintian reports no error; its contents work
# where dpkg would put them (the binary and its links run, the installed
# binary finds its loader, man renders its pages, the completion
# completes); and `make install DESTDIR=... PREFIX=/usr` installs exactly
# the package's files, which `make uninstall` removes again.
. "$(dirname "$0")/../lib.sh"
need dpkg-buildpackage
need lintian
need man
SRC=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$T/pkg/src"
tar -C "$SRC" --exclude=./bin --exclude=./build --exclude=./.git -cf - . | tar -C "$T/pkg/src" -xf -
(cd "$T/pkg/src" && env -u CI DEB_BUILD_OPTIONS="parallel=$(nproc)" dpkg-buildpackage -us -uc -b) >"$T/build.log" 2>&1
brc=$?
DEB=$T/pkg/gptmirror_0.1.0_amd64.deb
if [ "$brc" = 0 ] && [ -f "$DEB" ]; then pass "dpkg-buildpackage"; else fail "dpkg-buildpackage" "rc=$brc" "$(tail -30 "$T/build.log")"; fi
lintian --tag-display-limit 0 "$DEB" "$T/pkg/gptmirror_0.1.0_amd64.changes" >"$T/lintian" 2>&1
errors=$(grep -c '^E: ' "$T/lintian")
if [ -f "$DEB" ] && [ "$errors" = 0 ]; then
	pass "lintian-no-errors ($(grep -c '^W: ' "$T/lintian") warnings)"
else
	fail "lintian-no-errors" "$(cat "$T/lintian")"
fi

# The package's files, unpacked as dpkg -i would place them.
R=$T/root
dpkg-deb -x "$DEB" "$R" 2>"$T/x" || fail "dpkg-deb-x" "$(cat "$T/x")"
ok=0 why=
"$R/usr/bin/gptmirror" --help 2>&1 | grep -q "machine map" || { ok=1; why+=" help"; }
"$R/usr/bin/diskpart" /? 2>&1 | grep -q "usage: diskpart" || { ok=1; why+=" diskpart-link"; }
"$R/usr/bin/bootcfg" /? 2>&1 | grep -q "^BOOTCFG /list" || { ok=1; why+=" bootcfg-link"; }
(cd "$T" && env -u GPTMIRROR_LOADER GPTMIRROR_SEED=5 "$R/usr/bin/gptmirror" machine create m --disk 1G --install) >"$T/inst" 2>&1 &&
	env -u GPTMIRROR_LOADER "$R/usr/bin/gptmirror" -m "$T/m" esp status >"$T/esp" 2>&1 || { ok=1; why+=" loader"; }
for p in gptmirror diskpart bootcfg; do
	MANPAGER=cat man -l "$R/usr/share/man/man8/$p.8.gz" 2>/dev/null | grep -q "^NAME" || { ok=1; why+=" man-$p"; }
done
got=$(bash -c '. "$1"; COMP_WORDS=(gptmirror machine ""); COMP_CWORD=2; _gptmirror; echo "${COMPREPLY[*]}"' _ \
	"$R/usr/share/bash-completion/completions/gptmirror")
[ "$got" = "create status map pull-disk insert-disk boot reboot" ] || { ok=1; why+=" completion($got)"; }
[ "$(readlink "$R/usr/share/bash-completion/completions/diskpart")" = gptmirror ] || { ok=1; why+=" completion-link"; }
if [ "$ok" = 0 ]; then pass "package-contents-work"; else fail "package-contents-work" "$why" "$(cat "$T/inst" "$T/esp")"; fi

# make install gives the package's files (less its /usr/share/doc), and
# make uninstall takes them away.
I=$T/inst-root
make -C "$T/pkg/src" DEPS_CMD=true CI=false install DESTDIR="$I" PREFIX=/usr >"$T/mi" 2>&1
irc=$?
(cd "$R" && find . ! -type d | sed 's/\.gz$//' | grep -v '^./usr/share/doc/' | sort) >"$T/deb.list"
(cd "$I" && find . ! -type d | sort) >"$T/inst.list"
if [ "$irc" = 0 ] && [ -s "$T/inst.list" ] && diff "$T/deb.list" "$T/inst.list" >"$T/d"; then
	pass "make-install-is-the-package"
else
	fail "make-install-is-the-package" "rc=$irc" "$(cat "$T/d" "$T/mi")"
fi
make -C "$T/pkg/src" DEPS_CMD=true CI=false uninstall DESTDIR="$I" PREFIX=/usr >"$T/mu" 2>&1
urc=$?
left=$(cd "$I" && find . ! -type d)
if [ "$urc" = 0 ] && [ -z "$left" ]; then pass "make-uninstall-removes-all"; else fail "make-uninstall-removes-all" "rc=$urc" "$left" "$(cat "$T/mu")"; fi
