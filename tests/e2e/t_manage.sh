#!/bin/bash
# t_manage: the lifecycle of seed 001 through the control socket: manual
# attach, a second instance at another altitude, detach with and without
# the filter's consent, unload with and without it, volume removal, daemon
# shutdown; each callback exactly once, in order, with the right flags.
# Services: install, a corrupt definition, a missing image, demand load,
# auto start in group order.  Under load: programs writing and reading
# while filters attach, detach, load and unload over and over.
. "$(dirname "$0")/lib.sh"

CTL=$(cd "$(dirname "$0")" && pwd)/helpers/ctl.py
RUN=$T/run
SVC=$T/services
mkdir -p "$RUN" "$SVC"
ctl() { /usr/bin/python3 "$CTL" "$RUN" "$@"; }
st() { ctl "$@" | head -1; }

# Tags log to one file; events of tag X in order, one word each.
events() { awk -v t="$1" '$1 == t && $2 !~ /^(pre|post)$/ { e = $2; if ($3 != "") e = e " " $3; printf "%s%s", s, e; s = ", " } END { print "" }' "$FLOG"; }

# A demand service (loaded by name) and an auto one in a group.
cat >"$T/svc-m.service" <<SVCEOF
[Service]
ImagePath = $TESTFILTER
Start = demand
Group = FSFilter Activity Monitor

[Instance M Instance]
Altitude = 365000

[Parameters]
LogFile = $FLOG
Tag = M
Operations = IRP_MJ_CREATE
SVCEOF
sed -e 's/^Start = demand/Start = auto/' -e 's/M Instance/S Instance/' \
	-e 's/^Altitude = 365000/Altitude = 366000/' -e 's/^Tag = M/Tag = S/' \
	"$T/svc-m.service" >"$SVC/svc-s.service"
sed -e 's/^Start = demand/Start = auto/' -e 's/M Instance/U Instance/' \
	-e 's/^Altitude = 365000/Altitude = 367000/' -e 's/^Tag = M/Tag = U/' \
	-e 's/^Group = .*/Group = FSFilter Top/' \
	"$T/svc-m.service" >"$SVC/svc-u.service"

cp "$T/svc-m.service" "$SVC/svc-m.service"

add_filter A 385100 QueryTeardownStatus=dword:0xC01C0010 UnloadStatus=dword:0xC0000022
add_filter B 370000
start_daemon "${FARGS[@]}" --runtime-dir "$RUN" --services-dir "$SVC"

# ---- auto-start services, in group order -----------------------------------
check_eq "auto services loaded: FSFilter Top before Activity Monitor" "U S" \
	"$(grep -oE '^(U|S) setup' "$FLOG" | cut -d' ' -f1 | xargs)"
check_eq "auto attachment flag" "setup 0x1" "$(events S)"

# ---- manual attach, a second instance ---------------------------------------
check_eq "B is attached automatically" "setup 0x1" "$(events B)"
out=$(ctl attach B "$VOL" "" 371000)
check_eq "manual attach of a second B instance at 371000" "0x00000000" "$(head -1 <<<"$out")"
check_eq "... it is named after filter and altitude" "B 371000" "$(sed -n 2p <<<"$out")"
check_eq "... InstanceSetupCallback saw FLTFL_INSTANCE_SETUP_MANUAL_ATTACHMENT" \
	"setup 0x1, setup 0x2" "$(events B)"
check_match "both B instances are listed" 'B \\Device\\.* B 371000 371000' \
	"$(ctl instances B)"
check_eq "attach at a taken altitude: STATUS_FLT_INSTANCE_ALTITUDE_COLLISION" \
	0xC01C0011 "$(st attach B "$VOL" "" 385100)"
check_eq "attach of an unknown filter: STATUS_FLT_FILTER_NOT_FOUND" \
	0xC01C0013 "$(st attach nosuch "$VOL")"
check_eq "attach to an unknown volume: STATUS_FLT_VOLUME_NOT_FOUND" \
	0xC01C0014 "$(st attach B /nonexistent)"

# ---- detach --------------------------------------------------------------------
check_eq "detach of the second B instance" 0x00000000 "$(st detach B "$VOL" "B 371000")"
check_eq "... query, teardown start, teardown complete, MANUAL (0x1)" \
	"setup 0x1, setup 0x2, query-teardown 0x0, teardown-start 0x1, teardown-complete 0x1" \
	"$(events B)"
check_eq "detach refused by A's InstanceQueryTeardownCallback" 0xC01C0010 \
	"$(st detach A "$VOL")"
check_eq "... A is still attached and filtering" "1" \
	"$(ctl filters | awk '$1 == "A" { print $3 }')"
check_eq "... and got no teardown" "setup 0x1, query-teardown 0x0" "$(events A)"
check_eq "detach of an instance that does not exist" 0xC01C0015 \
	"$(st detach B "$VOL" "no such instance")"

# ---- unload ----------------------------------------------------------------------
check_eq "unload refused by A's FilterUnloadCallback" 0xC0000022 "$(st unload A)"
check_match "... A is still loaded" '^A 385100 1' "$(ctl filters)"
check_eq "load of a demand service" 0x00000000 "$(st load svc-m)"
check_eq "... its default instance attached automatically" "setup 0x1" "$(events M)"
check_eq "loading it twice: STATUS_IMAGE_ALREADY_LOADED" 0xC000010E "$(st load svc-m)"
check_eq "unload of the service" 0x00000000 "$(st unload svc-m)"
check_eq "... unload callback, then teardown with FILTER_UNLOAD (0x2), then unload" \
	"setup 0x1, unload-start 0x0, teardown-start 0x2, teardown-complete 0x2, unload" \
	"$(events M)"
check_eq "unload of a filter that is not loaded" 0xC01C0013 "$(st unload svc-m)"

# ---- services ---------------------------------------------------------------------
printf '[Service]\nImagePath = %s\nStart = sometimes\n' "$TESTFILTER" >"$T/bad.service"
check_eq "a corrupt service definition is refused" 0xC000000D "$(st install bad "$T/bad.service")"
check_match "... with the reason in the log" 'Start must be boot, system, auto, demand or disabled' "$(cat "$LOG")"
check "... and nothing was written" test ! -e "$SVC/bad.service"
sed "s|^ImagePath = .*|ImagePath = $T/missing.so|" "$T/svc-m.service" >"$T/missing.service"
check_eq "a service whose image is missing is refused" 0xC0000034 \
	"$(st install missing "$T/missing.service")"
sed -e 's/M Instance/N Instance/' -e 's/^Altitude = 365000/Altitude = 364000/' \
	"$T/svc-m.service" >"$T/svc-n.service"
check_eq "install of a good service" 0x00000000 "$(st install svc-n "$T/svc-n.service")"
check_eq "... written to the services directory, as given" "" \
	"$(cmp "$T/svc-n.service" "$SVC/svc-n.service" 2>&1)"
check_match "... and listed" '^svc-n .* start=3 group=FSFilter Activity Monitor altitude=364000' \
	"$(ctl services)"
check_eq "uninstall" 0x00000000 "$(st uninstall svc-n)"
check "... the file is gone" test ! -e "$SVC/svc-n.service"
check_eq "load of a service that does not exist: STATUS_OBJECT_NAME_NOT_FOUND" \
	0xC0000034 "$(st load nothere)"

# ---- malformed requests -------------------------------------------------------------
check_eq "garbage on the control socket: STATUS_INVALID_PARAMETER" 0xC000000D \
	"$(ctl raw 00112233445566778899aabbccddeeff0011223344)"
check_eq "a future protocol version: STATUS_REVISION_MISMATCH" 0xC0000059 \
	"$(ctl raw 41544c4302000500140000000100000000000000)"
check_eq "an unknown request" 0xC000000D "$(ctl raw 41544c4301006300140000000100000000000000)"
check_eq "the daemon still answers" 0x00000000 "$(st filters)"
check_eq "an unprivileged user cannot use the control socket" "refused" \
	"$(setpriv --reuid=1001 --regid=1001 --clear-groups /usr/bin/python3 "$CTL" "$RUN" filters >/dev/null 2>&1 && echo accepted || echo refused)"

# ---- under load -------------------------------------------------------------------------
CYCLES=${MANAGE_CYCLES:-1000}
mkdir -p "$VOL/load"
/usr/bin/python3 - "$VOL/load" "$T/load.status" <<'PYEOF' &
import os, sys, time, hashlib
d, status = sys.argv[1], sys.argv[2]
pids = []
for w in range(4):
    pid = os.fork()
    if pid == 0:
        bad = 0
        stop = time.time() + 3600
        i = 0
        while not os.path.exists(d + "/../stop-load") and time.time() < stop:
            p = "%s/w%d-%d" % (d, w, i % 50)
            data = (("%d:%d:" % (w, i)) * 200).encode()
            try:
                with open(p, "wb") as f:
                    f.write(data)
                with open(p, "rb") as f:
                    if f.read() != data:
                        bad += 1
                os.rename(p, p + ".r")
                os.unlink(p + ".r")
            except OSError as e:
                bad += 1
                print("worker %d: %s" % (w, e), file=sys.stderr)
            i += 1
        os._exit(min(bad, 100))
    pids.append(pid)
rc = [os.waitpid(p, 0)[1] >> 8 for p in pids]
open(status, "w").write(" ".join(map(str, rc)) + "\n")
PYEOF
LOADPID=$!
sleep 0.5
churn=$(timeout 900 /usr/bin/python3 "$CTL" "$RUN" churn "$CYCLES" B "$VOL" svc-m 2>&1)
churn_rc=$?
touch "$VOL/stop-load"
wait "$LOADPID"
check_eq "$CYCLES attach/detach/load/unload cycles under load succeed" \
	"churn: $CYCLES cycles, 0 failures" "$(tail -1 <<<"$churn")"
check_eq "... the churn finished in time" 0 "$churn_rc"
check_eq "the 4 programs saw no error and read back what they wrote" "0 0 0 0" \
	"$(cat "$T/load.status" 2>/dev/null)"
# One manual attach and detach of B happened before the churn.
check_eq "every churned instance got setup, query, teardown start and complete" \
	"$((CYCLES + 1)) $((CYCLES + 1)) $((CYCLES + 1)) $((CYCLES + 1))" \
	"$(awk '$1 == "B" { c[$2 " " $3]++ } END { print c["setup 0x2"]+0, c["query-teardown 0x0"]+0, c["teardown-start 0x1"]+0, c["teardown-complete 0x1"]+0 }' "$FLOG")"
check_eq "every loaded service instance was torn down by its unload" \
	"$((CYCLES + 1)) $((CYCLES + 1))" \
	"$(awk '$1 == "M" { c[$2]++ } END { print c["setup"]+0, c["unload"]+0 }' "$FLOG")"

# ---- volume removal and shutdown ------------------------------------------------------------
V2=$T/vol2
mkdir -p "$V2"
chmod 755 "$V2"
check_eq "volume add" 0x00000000 "$(st volume-add "$V2" second)"
check "... it is a FUSE mount" is_fuse_mount "$V2"
check_match "... and B attached to it automatically as a newly mounted volume" \
	'^B setup 0x5$' "$(cat "$FLOG")"
check_eq "volume add of a served directory: STATUS_FLT_VOLUME_ALREADY_MOUNTED" \
	0xC01C001A "$(st volume-add "$V2" third)"
check_eq "volume remove (A cannot refuse it)" 0x00000000 "$(st volume-remove second)"
check "... unmounted" sh -c "! findmnt -n --mountpoint '$V2' >/dev/null"
check_eq "... its instances were torn down with VOLUME_DISMOUNT (0x8), no query" \
	"2 0" "$(awk '$1 == "A" && $2 ~ /^teardown/ && $3 == "0x8" { n++ } $1 == "A" && $2 == "query-teardown" { q++ } END { print n+0, q+0 - 1 }' "$FLOG")"

stop_daemon
check_eq "shutdown: A's refusal does not count for a mandatory unload (0x1)" \
	"unload-refused 0x0, unload-start 0x1" \
	"$(events A | grep -oE 'unload-(refused|start) 0x[0-9]' | paste -sd, | sed 's/,/, /')"
check_match "shutdown: A's instance went with the volume (0x8), then the mandatory unload" \
	'teardown-start 0x8, teardown-complete 0x8, unload-start 0x1, unload$' \
	"$(events A)"

