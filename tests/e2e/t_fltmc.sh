#!/bin/bash
# t_fltmc: fltmc and libfltlib's management calls against a running fltmgrd.
# The tables in Windows' column layout; attach (by \Device\ name, short name
# or directory, at another altitude, colliding), detach (refused by the
# filter, unknown instance), unload refused, install/load/unload/uninstall of
# a service, volume add/remove, errors printed as "<Verb> failed with error:
# 0x..." plus the meaning with exit status 1, usage errors with 2, an
# unprivileged caller, no daemon at all, shell completion, and a C program
# using FilterFindFirst & co. on the real daemon.
. "$(dirname "$0")/lib.sh"

FLTMC=$BUILD/src/fltmc/fltmc
FLTLIB_DIR=$BUILD/src/fltlib
COMPLETION=$E2E_DIR/../../completions/fltmc.bash
INC=$E2E_DIR/../../include
RUN=$T/run
SVC=$T/services
mkdir -m 755 "$RUN" "$SVC"
export ALTITUDE_RUNTIME_DIR=$RUN
# What the daemon reports as the volume's file system.
FSTYPE=$(findmnt -n -o FSTYPE --target "$T")

# fm ARG...: run fltmc; OUT gets stdout and stderr, RC the exit status.
fm() {
	OUT=$("$FLTMC" "$@" 2>&1)
	RC=$?
}

# check_rc DESC WANT: fltmc's last exit status was WANT (its output shown if
# not).
check_rc() {
	if [[ $RC == "$2" ]]; then
		pass "$1"
	else
		fail "$1" "exit status $RC, wanted $2" "$OUT"
	fi
}

# check_line DESC LINE TEXT: TEXT has LINE as one of its lines, exactly.
check_line() {
	if grep -Fxq -- "$2" <<<"$3"; then
		pass "$1"
	else
		fail "$1" "no line: $2" "in: $(head -c 3000 <<<"$3")"
	fi
}

# expect_error DESC VERB HRESULT MESSAGE ARG...: fltmc ARG... fails the
# way fltmc does: status 1, "VERB failed with error: HRESULT", MESSAGE.
expect_error() {
	local desc=$1 verb=$2 hr=$3 msg=$4
	shift 4
	fm "$@"
	check_rc "$desc: exit status 1" 1
	check_line "$desc: $verb failed with $hr" "$verb failed with error: $hr" "$OUT"
	check_line "$desc: the meaning" "$msg" "$OUT"
}

# Table rows: the lines after the blank line, the titles and the dashes.
rows() { tail -n +4 <<<"$1"; }

NOT_RUNNING="The system cannot find the file specified."

# ---- no daemon --------------------------------------------------------------
expect_error "no daemon: filters" "Filter listing" 0x80070002 "$NOT_RUNNING" filters
expect_error "no daemon: load" "Load" 0x80070002 "$NOT_RUNNING" load x

# ---- usage ------------------------------------------------------------------------
fm
check_rc "fltmc alone: exit status 0" 0
check_match "fltmc alone lists the commands" '^    attach +Creates a Filter Instance to a Volume$' "$OUT"
fm help
check_match "fltmc help lists the commands" '^    unload +Unloads a Filter driver$' "$OUT"
fm help attach
check_match "fltmc help attach shows the syntax" 'fltmc attach <filterName> <volumeName>' "$OUT"
fm attach onlyone
check_rc "attach without a volume: exit status 2" 2
check_match "... with the command's help" 'fltmc attach <filterName>' "$OUT"
fm nosuchcommand
check_rc "an unknown command: exit status 2" 2
fm filters extra
check_rc "filters takes no argument: exit status 2" 2

# ---- a daemon with two filters ----------------------------------------------------
add_filter A 370030
# B refuses a manual detach and a non-mandatory unload.
add_filter B 380000 QueryTeardownStatus=dword:0xC01C0010 UnloadStatus=dword:0xC01C0010
start_daemon -v "$VOL=data" "${FARGS[@]}" --runtime-dir "$RUN" --services-dir "$SVC"

fm filters
check_rc "fltmc filters: exit status 0" 0
expected=$(printf '\n%s\n%s\n' \
	"Filter Name                     Num Instances    Altitude    Frame" \
	"------------------------------  -------------  ------------  -----"
	printf '%-30s  %9u%13s%-5s%5u\n' B 1 380000 "" 0 A 1 370030 "" 0)
check_eq "fltmc filters: Windows' columns, highest altitude first" "$expected" "$OUT"

fm volumes
check_rc "fltmc volumes: exit status 0" 0
check_line "fltmc volumes: titles" \
	"Dos Name                        Volume Name                              FileSystem   Status" "$OUT"
check_eq "fltmc volumes: the directory, \\Device\\data, the file system" \
	"$(printf '%-30s  %-39s  %s' "$VOL" '\Device\data' "$FSTYPE")" "$(rows "$OUT")"

fm instances
check_rc "fltmc instances: exit status 0" 0
check_line "fltmc instances: titles" \
	"Filter                Volume Name                              Altitude        Instance Name       Frame   SprtFtrs  VlStatus" "$OUT"
check_line "fltmc instances: A's automatic instance" \
	"$(printf '%-20s  %-37s  %9s%-4s %-22s  %3u     %08x' A "$VOL" 370030 "" A 0 0)" "$OUT"
check_eq "fltmc instances: one row per instance" 2 "$(rows "$OUT" | grep -c .)"

# ---- attach / detach ----------------------------------------------------------------
fm attach A data -a 370031 -i A2
check_rc "attach a second instance of A at 370031 (short name)" 0
check_match "... InstanceSetupCallback with the manual flag" '^A setup 0x2$' "$(cat "$FLOG")"
fm filters
check_match "... A has 2 instances" '^A +2 +370030 +0$' "$OUT"
fm instances -f A
check_eq "... fltmc instances -f A: A2 above A" "A2 A" \
	"$(rows "$OUT" | awk '{ print $4 }' | xargs)"
echo data >"$VOL/f1.txt"
check_eq "... both instances of A see I/O" 2 \
	"$(grep -c '^A pre IRP_MJ_CREATE \\f1\.txt$' "$FLOG")"

expect_error "attach at a taken altitude" Attach 0x801f0011 \
	"An instance already exists at this altitude on the volume specified." \
	attach A data -a 370031 -i A3
expect_error "attach under a taken instance name" Attach 0x801f0012 \
	"An instance already exists with this name on the volume specified." \
	attach A data -a 370032 -i A2
expect_error "attach a filter that is not loaded" Attach 0x801f0013 \
	"The system could not find the filter specified." attach nosuch data
expect_error "attach to a volume that does not exist" Attach 0x801f0014 \
	"The system could not find the volume specified." attach A nosuch
expect_error "detach an instance that does not exist" Detach 0x801f0015 \
	"The system could not find the instance specified." detach A data -i nosuch

fm detach A "$VOL" -i A2
check_rc "detach A2, the volume named by its directory" 0
check_match "... teardown ran" '^A teardown-complete ' "$(cat "$FLOG")"
fm instances -f A
check_eq "... A has one instance left" 1 "$(rows "$OUT" | grep -c .)"
fm attach A '\Device\data' A2 -a 370031
check_rc "attach again, \\Device\\ name, instance name without -i" 0
fm detach A data A2
check_rc "... and detach it" 0

expect_error "B's InstanceQueryTeardownCallback refuses the detach" Detach 0x801f0010 \
	"Do not detach the filter from the volume at this time." detach B data
fm instances -v data -f B
check_eq "... B is still attached" 1 "$(rows "$OUT" | grep -c '^B ')"
expect_error "B's FilterUnloadCallback refuses the unload" Unload 0x801f0010 \
	"Do not detach the filter from the volume at this time." unload B
fm filters
check_match "... B is still loaded" '^B +1 +380000 +0$' "$OUT"

expect_error "instances of an unknown filter" "Instance listing" 0x801f0013 \
	"The system could not find the filter specified." instances -f nosuch
fm instances -v "$VOL"
check_eq "fltmc instances -v DIR: the volume's instances" "B A" \
	"$(rows "$OUT" | awk '{ print $1 }' | xargs)"

# ---- services --------------------------------------------------------------------------
cat >"$T/pt.service" <<EOF
[Service]
ImagePath = $TESTFILTER
Start = demand
Group = FSFilter Activity Monitor

[Instances]
DefaultInstance = P Instance

[Instance P Instance]
Altitude = 360000
Flags = 0

[Parameters]
Tag = P
LogFile = $FLOG
EOF
fm services
check_eq "fltmc services with none installed" "" "$(rows "$OUT")"
fm install "$T/pt.service"
check_rc "fltmc install pt.service" 0
fm services
check_eq "fltmc services lists it" \
	"$(printf '%-30s  %-8s  %-12s  %-28s  %s' pt demand 360000 'FSFilter Activity Monitor' "$TESTFILTER")" \
	"$(rows "$OUT")"
fm load pt
check_rc "fltmc load pt" 0
check_match "... its instance was set up automatically" '^P setup 0x1$' "$(cat "$FLOG")"
fm filters
check_match "... fltmc filters shows it" '^pt +1 +360000 +0$' "$OUT"
fm instances -f pt
check_match "... with its default instance" "^pt +.* 360000 +P Instance +0 " "$OUT"
fm unload pt
check_rc "fltmc unload pt" 0
check_match "... FilterUnloadCallback ran" '^P unload' "$(cat "$FLOG")"
fm filters
check_nomatch "... and it is gone" '^pt ' "$OUT"
fm uninstall pt
check_rc "fltmc uninstall pt" 0
fm services
check_eq "... no service left" "" "$(rows "$OUT")"
expect_error "load a service that is not installed" Load 0x80070002 \
	"The system cannot find the file specified." load pt
expect_error "install a file that does not exist" Install 0x80070002 \
	"The system cannot find the file specified." install "$T/none.service"
printf '[Service]\nStart = demand\n' >"$T/bad.service"
fm install "$T/bad.service"
check_rc "install a definition without ImagePath: exit status 1" 1
check_match "... reported as fltmc does" '^Install failed with error: 0x[0-9a-f]{8}$' "$OUT"
fm services
check_eq "... nothing installed" "" "$(rows "$OUT")"

# ---- volumes ------------------------------------------------------------------------------
V2=$(new_volume vol2)
fm volume add "$V2" second
check_rc "fltmc volume add DIR second" 0
check "... DIR is a FUSE mount now" is_fuse_mount "$V2"
fm volumes
check_line "... fltmc volumes lists it" \
	"$(printf '%-30s  %-39s  %s' "$V2" '\Device\second' "$FSTYPE")" "$OUT"
check "... files go through it" sh -c "echo two >'$V2/x' && test \"\$(cat '$V2/x')\" = two"
fm volume remove second
check_rc "fltmc volume remove second" 0
check_fails "... DIR is no longer mounted" is_fuse_mount "$V2"
check_eq "... the file is in the directory" two "$(cat "$V2/x" 2>&1)"
expect_error "remove a volume that does not exist" "Volume remove" 0x801f0014 \
	"The system could not find the volume specified." volume remove second

# ---- an unprivileged caller -------------------------------------------------------------------
mkdir -m 755 "$T/bin"
cp "$FLTMC" "$T/bin/fltmc"
cp -L "$FLTLIB_DIR/libfltlib.so.0" "$T/bin/"
OUT=$(as_user 65534 65534 env LD_LIBRARY_PATH="$T/bin" \
	ALTITUDE_RUNTIME_DIR="$RUN" "$T/bin/fltmc" load A 2>&1)
RC=$?
check_rc "uid 65534: fltmc load fails" 1
check_line "... with 0x80070005" "Load failed with error: 0x80070005" "$OUT"
check_line "... Access is denied." "Access is denied." "$OUT"
OUT=$(as_user 65534 65534 env LD_LIBRARY_PATH="$T/bin" \
	ALTITUDE_RUNTIME_DIR="$RUN" "$T/bin/fltmc" detach A data 2>&1)
check_line "uid 65534: fltmc detach is denied" "Access is denied." "$OUT"
fm instances -f A
check_eq "... A is still attached" 1 "$(rows "$OUT" | grep -c .)"

# ---- shell completion ------------------------------------------------------------------------
# complete WORD...: what _fltmc offers for the last word, sorted, one line.
complete_words() {
	(
		set +u
		. "$COMPLETION"
		COMP_WORDS=("$FLTMC" "$@")
		COMP_CWORD=$#
		_fltmc
		printf '%s\n' "${COMPREPLY[@]}" | sort | xargs
	)
}
check_eq "completion: commands" "uninstall unload" "$(complete_words un)"
check_eq "completion: filters to unload" "A B" "$(complete_words unload '')"
check_eq "completion: volumes to attach to" "$(printf '%s\n' data "$VOL" | sort | xargs)" \
	"$(complete_words attach A '')"
check_eq "completion: options of attach" "-a -i" "$(complete_words attach A data -)"
check_eq "completion: volume subcommands" "add remove" "$(complete_words volume '')"

# ---- the C API on the real daemon ----------------------------------------------------------------
cat >"$T/api.c" <<'EOF'
#include <fltUser.h>
#include <stdio.h>

static void put(const void *base, unsigned off, unsigned cb)
{
	const WCHAR *w = (const WCHAR *)((const char *)base + off);
	unsigned i;

	for (i = 0; i < cb / 2; i++)
		putchar((char)w[i]);
}

int main(void)
{
	union {
		FILTER_AGGREGATE_BASIC_INFORMATION f;
		FILTER_VOLUME_STANDARD_INFORMATION v;
		INSTANCE_FULL_INFORMATION i;
		BYTE raw[4096];
	} b;
	WCHAR dos[256];
	HANDLE h;
	HFILTER_INSTANCE hi = NULL;
	DWORD n;
	HRESULT hr;

	hr = FilterFindFirst(FilterAggregateBasicInformation, &b, sizeof(b), &n, &h);
	while (hr == S_OK) {
		printf("filter ");
		put(&b, b.f.Type.MiniFilter.FilterNameBufferOffset,
		    b.f.Type.MiniFilter.FilterNameLength);
		printf(" ");
		put(&b, b.f.Type.MiniFilter.FilterAltitudeBufferOffset,
		    b.f.Type.MiniFilter.FilterAltitudeLength);
		printf(" %u\n", (unsigned)b.f.Type.MiniFilter.NumberOfInstances);
		hr = FilterFindNext(h, FilterAggregateBasicInformation, &b, sizeof(b), &n);
	}
	printf("end 0x%08x\n", (unsigned)hr);
	FilterFindClose(h);

	hr = FilterVolumeFindFirst(FilterVolumeStandardInformation, &b, sizeof(b), &n, &h);
	if (hr == S_OK) {
		printf("volume ");
		put(b.v.FilterVolumeName, 0, b.v.FilterVolumeNameLength);
		printf(" 0x%x\n", (unsigned)b.v.FileSystemType);
		CloseHandle(h);
	}
	if (FilterGetDosName(L"\\Device\\data", dos, 256) == S_OK) {
		unsigned len = 0;

		while (dos[len])
			len++;
		printf("dos ");
		put(dos, 0, 2 * len);
		printf("\n");
	}
	hr = FilterInstanceCreate(L"A", L"data", NULL, &hi);
	if (hr == S_OK &&
	    FilterInstanceGetInformation(hi, InstanceFullInformation, &b, sizeof(b), &n) == S_OK) {
		printf("instance ");
		put(&b, b.i.InstanceNameBufferOffset, b.i.InstanceNameLength);
		printf(" ");
		put(&b, b.i.VolumeNameBufferOffset, b.i.VolumeNameLength);
		printf("\n");
	}
	printf("close 0x%08x\n", (unsigned)FilterInstanceClose(hi));
	printf("bogus 0x%08x\n", (unsigned)FilterFindClose((HANDLE)&n));
	return 0;
}
EOF
# A sanitized library needs its runtime in the program too.
SAN=()
readelf -d "$FLTLIB_DIR/libfltlib.so" | grep -q 'NEEDED.*libasan' &&
	SAN=(-fsanitize=address,undefined)
if cc -fshort-wchar "${SAN[@]}" -I"$INC" "$T/api.c" -o "$T/api" \
	-L"$FLTLIB_DIR" -lfltlib -Wl,-rpath,"$FLTLIB_DIR" 2>"$T/cc.err"; then
	api=$("$T/api" 2>&1)
	check_line "C API: FilterFindFirst/Next: B" "filter B 380000 1" "$api"
	check_line "C API: ... and A" "filter A 370030 1" "$api"
	check_line "C API: ... ERROR_NO_MORE_ITEMS at the end" "end 0x80070103" "$api"
	check_line "C API: FilterVolumeFindFirst, FLT_FSTYPE_LINUX" 'volume \Device\data 0x100' "$api"
	check_line "C API: FilterGetDosName" "dos $VOL" "$api"
	check_line "C API: FilterInstanceCreate by short name, InstanceFullInformation" \
		'instance A \Device\data' "$api"
	check_line "C API: FilterInstanceClose" "close 0x00000000" "$api"
	check_line "C API: a made-up handle is E_HANDLE" "bogus 0x80070006" "$api"
else
	fail "C API: compile a program against fltUser.h and libfltlib" "$(cat "$T/cc.err")"
fi

stop_daemon
expect_error "daemon stopped: filters" "Filter listing" 0x80070002 "$NOT_RUNNING" filters
