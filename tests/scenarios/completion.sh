#!/usr/bin/env bash
# bash completion: completion/gptmirror.bash driven as bash drives it
# (COMP_WORDS, COMP_CWORD, then the function complete -p names), and the
# candidates checked: commands, subcommands, options and their values,
# machine directories after -m, and the drive letters and disk numbers of
# the machine in use (from -m, from $GPTMIRROR_MACHINE, or the current
# directory), also for the diskpart and bootcfg links.
. "$(dirname "$0")/../lib.sh"
COMP=$(cd "$(dirname "$0")/../../completion" && pwd)/gptmirror.bash
export GPTMIRROR_SEED=77
(cd "$T" && "$GM" machine create srv --disk 2G --disk 2G --disk 1G --profile 2003 --install) >/dev/null
dp() { printf '%s\n' "$@" | "$GM" -m "$T/srv" diskpart >/dev/null 2>&1; }
dp "select disk 0" "select partition 1" "assign letter=S"
# complete LINE...: the candidates bash would offer for the last word,
# sorted, on one line.
complete_line() {
	(
		cd "${IN:-$T}" || exit 1
		# shellcheck disable=SC1090
		. "$COMP"
		read -ra COMP_WORDS <<<"$1"
		case "$1" in *" ") COMP_WORDS+=("") ;; esac
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE=$1 COMP_POINT=${#1}
		fn=$(complete -p "${COMP_WORDS[0]##*/}" | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
		COMPREPLY=()
		"$fn" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
	)
}
check() { # NAME LINE WANT
	local got
	got=$(complete_line "$2")
	if [ "$got" = "$3" ]; then pass "$1"; else fail "$1" "for '$2'" "want: $3" "got:  $got"; fi
}
check commands "gptmirror " "--help --machine --version -m bootcfg chkdsk dir diskpart esp format machine nvram setup volume xcopy"
check command-prefix "gptmirror mach" "machine"
check machine-subcommands "gptmirror machine " "boot create insert-disk map pull-disk reboot status"
check create-options "gptmirror machine create new --pro" "--profile"
check profile-values "gptmirror machine create new --profile " "2003 modern"
check sector-sizes "gptmirror machine create new --sector-size " "4096 512"
check machine-dirs "gptmirror -m s" "srv"
check letters-from-m "gptmirror -m srv format " "C: S:"
check disks-from-m "gptmirror -m srv machine pull-disk " "0 1 2"
check format-options "gptmirror -m srv format c: /fs" "/fs:fat /fs:fat32"
IN=$T/srv check letters-from-cwd "gptmirror chkdsk " "C: S:"
GPTMIRROR_MACHINE=$T/srv check letters-from-env "gptmirror dir " 'C:\\ S:\\'
check esp-sync "gptmirror -m srv esp sync --from " "0 1 2 C: S:"
check bootcfg-clone "gptmirror bootcfg /cl" "/clone"
check bootcfg-list-disks "gptmirror -m srv bootcfg /list " "0 1 2"
check nvram-subcommands "gptmirror nvram " "create delete export list repair"
check volume-subcommands "gptmirror volume " "export list resync"
check diskpart-options "gptmirror diskpart " "--json /s"
check link-bootcfg "bootcfg /de" "/default /delete"
IN=$T/srv check link-diskpart "diskpart --j" "--json"
check unknown-gives-nothing "gptmirror frobnicate " ""
