# bash completion for fltmc(8)                              -*- shell-script -*-
#
# Completes commands, then filter names (from `fltmc filters`), volumes
# (directories and short names, from `fltmc volumes`), installed services
# (from `fltmc services`), options and files.  The listings are asked of
# the same fltmc that is being completed, quietly: without a daemon or the
# right to use it, they just offer nothing.  Needs nothing from the
# bash-completion package.

# The first column of a listing's rows (after the blank line, the titles
# and the dashes).
_fltmc_column1()
{
	"$1" "$2" 2>/dev/null | awk 'NR > 3 && NF { print $1 }'
}

# Each volume's directory and short name ("data" for \Device\data).
_fltmc_volumes()
{
	"$1" volumes 2>/dev/null | awk '
		NR > 3 {
			i = index($0, "\\Device\\")
			if (!i)
				next
			dos = substr($0, 1, i - 1)
			sub(/ +$/, "", dos)
			split(substr($0, i), f, " ")
			if (dos != "")
				print dos
			print substr(f[1], 9)
		}'
}

_fltmc()
{
	local IFS=$'\n'
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local fltmc=${COMP_WORDS[0]} cmd=${COMP_WORDS[1]}
	local commands='load
unload
filters
instances
volumes
attach
detach
volume
install
uninstall
services
help'
	local i pos=0 words=''

	COMPREPLY=()
	if ((COMP_CWORD == 1)); then
		COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		return
	fi
	# The position of the current word among the command's operands.
	for ((i = 2; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-[ifva]) ((i++)) ;;
		*) ((pos++)) ;;
		esac
	done

	case ${cmd,,} in
	load)
		((pos == 0)) && words=$(_fltmc_column1 "$fltmc" services)
		;;
	unload)
		((pos == 0)) && words=$(_fltmc_column1 "$fltmc" filters)
		;;
	uninstall)
		((pos == 0)) && words=$(_fltmc_column1 "$fltmc" services)
		;;
	instances)
		case $prev in
		-f) words=$(_fltmc_column1 "$fltmc" filters) ;;
		-v) words=$(_fltmc_volumes "$fltmc") ;;
		*) words=$'-f\n-v' ;;
		esac
		;;
	attach | detach)
		case $prev in
		-i | -a) return ;;
		esac
		if [[ $cur == -* ]]; then
			words='-i'
			[[ ${cmd,,} == attach ]] && words+=$'\n-a'
		elif ((pos == 0)); then
			words=$(_fltmc_column1 "$fltmc" filters)
		elif ((pos == 1)); then
			words=$(_fltmc_volumes "$fltmc")
		fi
		;;
	volume)
		if ((pos == 0)); then
			words=$'add\nremove'
		elif ((pos == 1)) && [[ ${COMP_WORDS[2]} == add ]]; then
			compopt -o filenames 2>/dev/null
			COMPREPLY=($(compgen -d -- "$cur"))
			return
		elif ((pos == 1)) && [[ ${COMP_WORDS[2]} == remove ]]; then
			words=$(_fltmc_volumes "$fltmc")
		fi
		;;
	install)
		if ((pos == 0)); then
			compopt -o filenames 2>/dev/null
			COMPREPLY=($(compgen -f -- "$cur"))
			return
		fi
		;;
	help)
		((pos == 0)) && words=$commands
		;;
	esac
	[[ -n $words ]] && COMPREPLY=($(compgen -W "$words" -- "$cur"))
	return 0
}
complete -F _fltmc fltmc
