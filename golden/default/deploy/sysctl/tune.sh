#!/usr/bin/env bash
# tune.sh checks and applies the host settings demo is tuned for: the
# sysctl drop-in 99-demo.conf beside this script and an open-files limit.
#
# Usage: tune.sh [--dry-run] [--root DIR] [--conf FILE] check|apply
#
#   check       show current and wanted values; exit 1 when any differs
#   apply       install /etc/sysctl.d/99-demo.conf and
#               /etc/security/limits.d/99-demo.conf, then load them
#   --dry-run   show what apply would change, and change nothing
#   --root DIR  act on another root: read DIR/proc/sys, write under DIR/etc,
#               load nothing (for images and tests)
#   --conf FILE install FILE instead of 99-demo.conf beside this script
#
# apply is idempotent: files already up to date are left untouched, and it
# never appends to /etc/sysctl.conf. Every key is checked before anything
# changes. Exit status: 0 done, 1 check found differences, 2 usage or
# configuration error (nothing changed).
set -euo pipefail

readonly name=demo
readonly nofile=1048576

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=/
conf=$here/99-$name.conf
dry_run=false
cmd=

die() {
	printf 'tune.sh: %s\n' "$*" >&2
	exit 2
}

warn() {
	printf 'tune.sh: warning: %s\n' "$*" >&2
}

usage() {
	sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"
}

while (($# > 0)); do
	case $1 in
	check | apply)
		[[ -z $cmd ]] || die "give one command, not \"$cmd\" and \"$1\""
		cmd=$1
		;;
	--dry-run) dry_run=true ;;
	--root)
		(($# > 1)) || die "--root needs a directory"
		root=$2
		shift
		;;
	--root=*) root=${1#*=} ;;
	--conf)
		(($# > 1)) || die "--conf needs a file"
		conf=$2
		shift
		;;
	--conf=*) conf=${1#*=} ;;
	-h | --help)
		usage
		exit 0
		;;
	*) die "unknown argument \"$1\"; run tune.sh --help" ;;
	esac
	shift
done
[[ -n $cmd ]] || die "missing command: check or apply; run tune.sh --help"
[[ -d $root ]] || die "root \"$root\" is not a directory"
[[ -r $conf ]] || die "cannot read settings file \"$conf\"; pass --conf FILE"
root=$(cd "$root" && pwd)
# real is true when acting on this machine rather than a --root tree.
real=false
if [[ $root == / ]]; then
	root=
	real=true
fi

if [[ $cmd == apply ]] && $real && ! $dry_run && ((EUID != 0)); then
	die "apply changes /etc and the running kernel and needs root: run sudo $0 apply (or --dry-run to preview)"
fi

readonly proc=$root/proc/sys
readonly sysctl_file=$root/etc/sysctl.d/99-$name.conf
readonly limits_file=$root/etc/security/limits.d/99-$name.conf
readonly modules_file=$root/etc/modules-load.d/$name.conf

# normalize collapses runs of blanks to one space; the kernel separates
# fields with tabs, the drop-in with spaces.
normalize() {
	local -a words
	read -r -a words <<<"$1" || true
	printf '%s' "${words[*]}"
}

# Parse the settings file, and check every line and key, before anything
# changes: a typo must not leave a half-applied host.
# line_re matches "key = value" once comments are stripped; value_re is
# what sysctl values look like (numbers, words, space-separated fields).
readonly line_re='^[[:space:]]*([A-Za-z0-9_.-]+)[[:space:]]*=[[:space:]]*(.*[^[:space:]])[[:space:]]*$'
readonly value_re='^[A-Za-z0-9_[:space:]-]+$'
keys=()
values=()
problems=()
lineno=0
while IFS= read -r line || [[ -n $line ]]; do
	lineno=$((lineno + 1))
	line=${line%%#*}
	[[ $line =~ ^[[:space:]]*$ ]] && continue
	if [[ ! $line =~ $line_re ]]; then
		problems+=("$conf:$lineno: want \"key = value\"")
		continue
	fi
	key=${BASH_REMATCH[1]}
	value=${BASH_REMATCH[2]}
	if [[ ! -f $proc/${key//.//} ]]; then
		problems+=("$conf:$lineno: unknown key $key: $proc/${key//.//} does not exist (misspelt, or its module is not loaded)")
	elif [[ ! $value =~ $value_re ]]; then
		problems+=("$conf:$lineno: $key: value \"$value\" is not numbers or a word")
	else
		keys+=("$key")
		values+=("$(normalize "$value")")
	fi
done <"$conf"
if ((${#problems[@]} > 0)); then
	printf 'tune.sh: %s\n' "${problems[@]}" >&2
	die "nothing was changed; fix $conf and run again"
fi
((${#keys[@]} > 0)) || die "$conf sets no keys; nothing to do"

# BBR is only chosen when the kernel has it, built in or as a module that
# loads; otherwise the host keeps its congestion control.
skip=
load_bbr=false
for i in "${!keys[@]}"; do
	[[ ${keys[i]} == net.ipv4.tcp_congestion_control && ${values[i]} == bbr ]] || continue
	if grep -qw bbr "$proc/net/ipv4/tcp_available_congestion_control" 2>/dev/null; then
		break
	fi
	if $real && command -v modprobe >/dev/null && modprobe --dry-run --quiet tcp_bbr 2>/dev/null; then
		load_bbr=true
	else
		skip=${keys[i]}
		warn "BBR is not available on this kernel: leaving ${keys[i]} as it is"
	fi
done

current() {
	local v
	if v=$(cat "$proc/${1//.//}" 2>/dev/null); then
		normalize "$v"
	else
		printf '?'
	fi
}

# wanted_sysctl prints the drop-in: the settings file, with a skipped key
# commented out so the reason stays visible.
wanted_sysctl() {
	local line
	printf '# Installed by tune.sh from deploy/sysctl/%s of %s; edit that file\n' "$(basename "$conf")" "$name"
	printf '# and run tune.sh apply again.\n'
	while IFS= read -r line || [[ -n $line ]]; do
		if [[ -n $skip && $line =~ $line_re && ${BASH_REMATCH[1]} == "$skip" ]]; then
			printf '# not available on this host: %s\n' "$line"
		else
			printf '%s\n' "$line"
		fi
	done <"$conf"
}

wanted_limits() {
	printf '# Installed by tune.sh for %s: every connection is a file descriptor.\n' "$name"
	printf '# Go raises its soft limit to the hard one at start. Services run by\n'
	printf '# systemd ignore this file and use LimitNOFILE instead.\n'
	printf '* soft nofile %s\n* hard nofile %s\n' "$nofile" "$nofile"
}

# The files apply installs; $(...) drops the final newline, so add it back.
sysctl_content=$(wanted_sysctl)$'\n'
limits_content=$(wanted_limits)$'\n'
readonly sysctl_content limits_content

# same reports whether file holds exactly content.
same() {
	[[ -f $1 ]] && cmp -s "$1" <(printf '%s' "$2")
}

changed=false

# install writes content to file unless it is already there, through a
# temporary file in the same directory so readers never see half a file.
install() {
	local file=$1 content=$2 tmp
	if same "$file" "$content"; then
		printf 'unchanged   %s\n' "$file"
		return
	fi
	if $dry_run; then
		printf 'would write %s:\n' "$file"
		diff -u "$([[ -f $file ]] && printf '%s' "$file" || printf /dev/null)" <(printf '%s' "$content") | sed 's/^/    /' || true
		return
	fi
	mkdir -p "$(dirname "$file")"
	tmp=$(mktemp "$file.XXXXXX")
	printf '%s' "$content" >"$tmp"
	chmod 0644 "$tmp"
	mv -f "$tmp" "$file"
	printf 'wrote       %s\n' "$file"
	changed=true
}

check() {
	local differ=0 i now want state f file content
	printf '%-38s %-26s %-26s %s\n' KEY CURRENT WANTED STATE
	for i in "${!keys[@]}"; do
		now=$(current "${keys[i]}")
		want=${values[i]}
		if [[ ${keys[i]} == "$skip" ]]; then
			state="skipped (not available)"
		elif [[ $now == "$want" ]]; then
			state=ok
		else
			state=differs
			differ=1
		fi
		printf '%-38s %-26s %-26s %s\n' "${keys[i]}" "$now" "$want" "$state"
	done
	for f in sysctl limits; do
		file=${f}_file content=${f}_content
		if same "${!file}" "${!content}"; then
			state=installed
		else
			state="missing or out of date"
			differ=1
		fi
		printf '%-38s %s\n' "${!file}" "$state"
	done
	return "$differ"
}

apply() {
	install "$sysctl_file" "$sysctl_content"
	install "$limits_file" "$limits_content"
	if $load_bbr; then
		install "$modules_file" $'tcp_bbr\n'
		if ! $dry_run; then
			modprobe tcp_bbr
		fi
	fi
	if ! $real; then
		$changed || $dry_run || printf 'nothing to change\n'
		return
	fi
	if $dry_run; then
		printf 'would run   sysctl --system\n'
		return
	fi
	# Loads every drop-in in order, so a later file still wins as usual.
	sysctl --system >/dev/null
	printf 'loaded      sysctl --system\n'
	check || warn "some values still differ: a later file in /etc/sysctl.d or /run/sysctl.d may override them"
}

case $cmd in
check) check ;;
apply) apply ;;
esac
