# bash completion for gptmirror, and for its diskpart and bootcfg links.
# Commands, subcommands and options; machine directories after -m; and the
# drive letters and disk numbers of the machine in use (-m DIR, else
# $GPTMIRROR_MACHINE, else the current directory), read from its
# machine.conf alone: completing never opens a disk or takes the lock.

# The machine directory the command line names.
_gptmirror_machine()
{
	local i
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-m | --machine) echo "${COMP_WORDS[i + 1]}"; return ;;
		esac
	done
	echo "${GPTMIRROR_MACHINE:-.}"
}

# Disk slots that hold a disk, and the drive letters, of that machine.
_gptmirror_disks()
{
	local conf
	conf="$(_gptmirror_machine)/machine.conf"
	[ -r "$conf" ] && sed -n 's/^disk\([0-9][0-9]*\) = .*/\1/p' "$conf"
}
_gptmirror_letters()
{
	local conf
	conf="$(_gptmirror_machine)/machine.conf"
	[ -r "$conf" ] && sed -n 's/^letter\.\([A-Za-z]\) = .*/\1:/p' "$conf" | sort -u
}

_gptmirror_words()
{
	COMPREPLY=($(compgen -W "$1" -- "$2"))
}

_gptmirror()
{
	local cur prev cmd= sub= i
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()

	# Invoked as a link, the link's name is the command.
	case ${COMP_WORDS[0]##*/} in
	diskpart | bootcfg) cmd=${COMP_WORDS[0]##*/} ;;
	esac
	case $prev in
	-m | --machine)
		COMPREPLY=($(compgen -d -- "$cur"))
		return
		;;
	esac
	# The command and subcommand words, past -m DIR.
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-m | --machine) i=$((i + 1)) ;;
		-*) ;;
		*)
			if [ -z "$cmd" ]; then cmd=${COMP_WORDS[i]}
			elif [ -z "$sub" ]; then sub=${COMP_WORDS[i]}
			fi
			;;
		esac
	done
	if [ -z "$cmd" ]; then
		_gptmirror_words "machine setup diskpart format xcopy dir chkdsk esp bootcfg nvram volume -m --machine --help --version" "$cur"
		return
	fi
	case $cmd in
	machine)
		if [ -z "$sub" ]; then
			_gptmirror_words "create status map pull-disk insert-disk boot reboot" "$cur"
			return
		fi
		case $prev in
		--profile) _gptmirror_words "2003 modern" "$cur"; return ;;
		--sector-size) _gptmirror_words "512 4096" "$cur"; return ;;
		--nvram) COMPREPLY=($(compgen -f -W "efivarfs" -- "$cur")); return ;;
		--image | --loader | --svg | --device) COMPREPLY=($(compgen -f -- "$cur")); return ;;
		--disk | --size | --entry | --timeout | --width) return ;;
		esac
		case $sub in
		create) _gptmirror_words "--disk --device --profile --sector-size --install --loader --nvram" "$cur" ;;
		status) _gptmirror_words "--json" "$cur" ;;
		map) _gptmirror_words "--width --svg" "$cur" ;;
		boot) _gptmirror_words "--entry --qemu --timeout" "$cur" ;;
		pull-disk) [ "$prev" = pull-disk ] && _gptmirror_words "$(_gptmirror_disks)" "$cur" ;;
		insert-disk)
			if [ "$prev" = insert-disk ]; then
				_gptmirror_words "$(seq 0 15)" "$cur"
			else
				_gptmirror_words "--size --image --sector-size --device" "$cur"
			fi
			;;
		esac
		;;
	setup)
		case $prev in
		--disk) _gptmirror_words "$(_gptmirror_disks)" "$cur" ;;
		--loader) COMPREPLY=($(compgen -f -- "$cur")) ;;
		--size) ;;
		*) _gptmirror_words "--disk --size --loader" "$cur" ;;
		esac
		;;
	diskpart)
		case $prev in
		/s | /S | -s) COMPREPLY=($(compgen -f -- "$cur")) ;;
		*) _gptmirror_words "--json /s" "$cur" ;;
		esac
		;;
	format)
		if [ -z "$sub" ]; then _gptmirror_words "$(_gptmirror_letters)" "$cur"
		else _gptmirror_words "/fs:fat /fs:fat32 /q /y /v: /a:" "$cur"; fi
		;;
	chkdsk)
		if [ -z "$sub" ]; then _gptmirror_words "$(_gptmirror_letters)" "$cur"
		else _gptmirror_words "/f" "$cur"; fi
		;;
	dir)
		# X:\ as it must be typed: the backslash escaped for the shell.
		_gptmirror_words "$(_gptmirror_letters)" "${cur%%\\*}"
		COMPREPLY=("${COMPREPLY[@]/%/\\\\}")
		;;
	xcopy)
		case $cur in
		/*) _gptmirror_words "/s /e /h /y" "$cur" ;;
		*) COMPREPLY=($(compgen -W "$(_gptmirror_letters)" -- "$cur") $(compgen -f -- "$cur")) ;;
		esac
		;;
	esp)
		if [ -z "$sub" ]; then _gptmirror_words "status sync" "$cur"; return; fi
		case $prev in
		--from | --to) _gptmirror_words "$(_gptmirror_letters) $(_gptmirror_disks)" "$cur" ;;
		*)
			case $sub in
			status) _gptmirror_words "--json" "$cur" ;;
			sync) _gptmirror_words "--from --to --all" "$cur" ;;
			esac
			;;
		esac
		;;
	bootcfg)
		case $prev in
		/list) _gptmirror_words "$(_gptmirror_disks)" "$cur" ;;
		/id | /timeout | /sg | /tg | /d | /d+ | /add) ;;
		*) _gptmirror_words "/query /v --json /list /clone /sg /tg /d+ /d /id /mirror /add /delete /default /timeout /?" "$cur" ;;
		esac
		;;
	nvram)
		if [ -z "$sub" ]; then _gptmirror_words "list export create delete repair" "$cur"; return; fi
		case $sub in
		list) _gptmirror_words "-v --json" "$cur" ;;
		export) COMPREPLY=($(compgen -d -- "$cur")) ;;
		create)
			case $prev in
			-d | --os-disk) _gptmirror_words "$(_gptmirror_disks)" "$cur" ;;
			-L | -p | -l | --os-part | --os-dir | --options | --vendor) ;;
			*) _gptmirror_words "-L -d -p -l --os-disk --os-part --os-dir --options --vendor" "$cur" ;;
			esac
			;;
		esac
		;;
	volume)
		if [ -z "$sub" ]; then _gptmirror_words "list export resync" "$cur"; return; fi
		case $sub in
		list) _gptmirror_words "--json" "$cur" ;;
		resync) _gptmirror_words "--background" "$cur" ;;
		export) COMPREPLY=($(compgen -f -- "$cur")) ;;
		esac
		;;
	esac
}
complete -F _gptmirror gptmirror diskpart bootcfg
