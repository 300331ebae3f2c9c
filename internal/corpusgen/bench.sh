#!/usr/bin/env bash
# bench.sh: mailferry upload against mbsync and doveadm import, side by side.
#
# Usage (from anywhere in the repository):
#   internal/corpusgen/bench.sh                 # 5000 messages (~300 MB), the default setup
#   internal/corpusgen/bench.sh -n 500          # smaller and quicker
#   internal/corpusgen/bench.sh -size 50M -seed 7 -rtt 40ms -keep /tmp/bench
#   internal/corpusgen/bench.sh -n 600 -link home -link far -links-only
#   internal/corpusgen/bench.sh -n 2000 -mix text -link home -links-only
#
# Options:
#   -n N        messages in the corpus (default 5000)
#   -size S     stop the corpus at about S bytes instead (e.g. 300M)
#   -seed N     corpus seed (default 1; the same seed gives the same corpus)
#   -rtt D      round-trip time added by the delaying proxy (default 20ms)
#   -no-rtt     skip the runs through the delaying proxy
#   -no-fsync   Dovecot with mail_fsync = never (default: optimized, as real servers)
#   -keep DIR   work in DIR and keep it (corpus, logs, configs); default: a
#               temporary directory, removed at the end
#   -args "..." extra arguments for `mailferry upload` (e.g. "--connections 1")
#   -rounds R   run every contender R times, interleaved (default 3); the
#               report gives the median of each (the ratios too)
#   -mix M      kind of corpus: default (text, attachments, huge ones) or
#               text (plain and HTML mail, no attachments)
#   -link L     also run mailferry and mbsync over a shaped link (repeatable):
#               UP/DOWN/RTT, e.g. 20mbit/100mbit/30ms (rates as delayproxy
#               reads them), or a preset: home = 20mbit/100mbit/30ms (a home
#               uplink), far = 100mbit/100mbit/60ms (fast, far away). The
#               bandwidth is shared by all connections of a run. With a
#               link, Dovecot offers COMPRESS=DEFLATE (for every run, the
#               loopback ones too), which mailferry and mbsync both use.
#   -links-only skip the loopback contenders (scan, upload, bulk path,
#               mbsync, doveadm import, -rtt runs, convert): only the link
#               runs and mailferry over loopback with --no-compress, the
#               baseline of the CPU per message
#
# What it does, back to back on one private Dovecot (started through
# internal/dovecottest, TLS on 127.0.0.1, one user):
#   1. generates the corpus with gencorpus: DIR/corpus/Bench (a Thunderbird-
#      style mbox) and DIR/corpus/maildir (the same messages as a Maildir);
#   2. times `mailferry scan` of the page-cached mbox;
#   3. times, each into a fresh mailbox and over implicit TLS:
#        mailferry upload   of the mbox       -> mf/Bench (includes its verify pass)
#        mbsync             of the Maildir    -> mbsync   (Debian isync; Sync Push,
#                                                         CopyArrivalDate yes)
#        doveadm import     of the Maildir    -> ceiling  (no IMAP at all: the
#                                                         server's own ceiling)
#        bulkupload         of the mbox       -> bulk     (upload/bulk alone:
#                                  MULTIAPPEND 50 x 4 in flight, LITERAL+; no
#                                  resume or verify: the uploader's hot path)
#   4. mailferry upload, bulkupload and mbsync through a proxy adding -rtt;
#   5. repeats 2-4 -rounds times, one contender after the other in each
#      round, so that a slow minute of the machine hits all of them (after
#      one untimed doveadm import to warm up), each round starting one
#      contender later;
#   6. mailferry convert of the mbox to a Maildir, -rounds times (peak RSS
#      of convert);
#   7. checks that every target mailbox holds all messages, and prints for
#      each contender the median of its runs: wall seconds, messages/s, MB/s
#      (IMAP bytes, CRLF), peak RSS and CPU seconds (/usr/bin/time), then the
#      ratios of the medians. For a -link run it also prints the bytes that
#      crossed the link (the proxy's counters before and after the run):
#      sent, as % of the corpus's IMAP bytes, and received.
#
# Every timed run starts after `sync`: each run then pays for writing its own
# mail to disk, not for the writeback of the run before it (300 MB of fresh
# mailbox files are still being written out when the next run starts, which
# slows its fsyncs; without the sync the order of the runs decides the
# ratios by up to 40%).
#
# Needs: go, Dovecot (dovecot, doveadm), mbsync (isync), /usr/bin/time. Run as
# root or as a user who can start Dovecot the way internal/dovecottest does.
set -euo pipefail

N=5000
SIZE=""
SEED=1
RTT=20ms
DO_RTT=yes
FSYNC=yes
KEEP=""
MF_ARGS=""
ROUNDS=3
MIX=default
LINKS=()
LINKS_ONLY=no
while [ $# -gt 0 ]; do
	case "$1" in
	-n) N=$2; shift 2 ;;
	-size) SIZE=$2; shift 2 ;;
	-seed) SEED=$2; shift 2 ;;
	-rtt) RTT=$2; shift 2 ;;
	-no-rtt) DO_RTT=no; shift ;;
	-no-fsync) FSYNC=no; shift ;;
	-keep) KEEP=$2; shift 2 ;;
	-args) MF_ARGS=$2; shift 2 ;;
	-rounds) ROUNDS=$2; shift 2 ;;
	-mix) MIX=$2; shift 2 ;;
	-link) LINKS+=("$2"); shift 2 ;;
	-links-only) LINKS_ONLY=yes; shift ;;
	-h|-help|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench.sh: unknown option $1 (see -help)" >&2; exit 2 ;;
	esac
done
if [ "$LINKS_ONLY" = yes ] && [ ${#LINKS[@]} -eq 0 ]; then
	echo "bench.sh: -links-only needs at least one -link" >&2
	exit 2
fi
# link_spec NAME|UP/DOWN/RTT: prints "UP DOWN RTT".
link_spec() {
	case "$1" in
	home) echo "20mbit 100mbit 30ms" ;;
	far) echo "100mbit 100mbit 60ms" ;;
	*/*/*) echo "$1" | tr '/' ' ' ;;
	*) echo "bench.sh: -link $1: want home, far or UP/DOWN/RTT (e.g. 20mbit/100mbit/30ms)" >&2; return 2 ;;
	esac
}
for l in "${LINKS[@]}"; do link_spec "$l" >/dev/null || exit 2; done
for tool in go mbsync /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "bench.sh: $tool not found" >&2; exit 1; }
done

root=$(cd "$(dirname "$0")/../.." && pwd)
if [ -n "$KEEP" ]; then
	work=$KEEP
	mkdir -p "$work"
	[ -z "$(ls -A "$work")" ] || { echo "bench.sh: $work is not empty" >&2; exit 2; }
else
	work=$(mktemp -d /tmp/mailferry-bench.XXXXXX)
fi
chmod 755 "$work"
server_pid=""
proxy_pid=""
link_pids=()
cleanup() {
	if [ -n "$proxy_pid" ]; then kill "$proxy_pid" 2>/dev/null || true; wait "$proxy_pid" 2>/dev/null || true; fi
	for p in "${link_pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	if [ -n "$server_pid" ]; then
		touch "$work/server/stop"
		wait "$server_pid" 2>/dev/null || true
	fi
	if [ -z "$KEEP" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT

say() { printf '%s\n' "$*" >&2; }

say "building into $work"
(cd "$root" && go build -o "$work/mailferry" ./cmd/mailferry \
	&& go build -o "$work/gencorpus" ./internal/corpusgen/cmd/gencorpus \
	&& go build -o "$work/delayproxy" ./internal/corpusgen/cmd/delayproxy \
	&& go build -o "$work/bulkupload" ./internal/corpusgen/cmd/bulkupload \
	&& go test -c -o "$work/corpusgen.test" ./internal/corpusgen)

say "generating the corpus"
if [ -n "$SIZE" ]; then
	facts=$("$work/gencorpus" -size "$SIZE" -seed "$SEED" -mix "$MIX" -out "$work/corpus")
else
	facts=$("$work/gencorpus" -n "$N" -seed "$SEED" -mix "$MIX" -out "$work/corpus")
fi
eval "$(echo "$facts" | tr ' ' '\n' | sed 's/^/corpus_/')"
say "corpus: $facts"
chmod -R a+rX "$work/corpus"

say "starting Dovecot"
mkdir -p "$work/server"
fsync_env=""
[ "$FSYNC" = no ] && fsync_env=no
compress_env=no
[ ${#LINKS[@]} -gt 0 ] && compress_env=yes
(cd "$work" && MAILFERRY_BENCH_SERVER="$work/server" MAILFERRY_BENCH_FSYNC="$fsync_env" MAILFERRY_BENCH_COMPRESS="$compress_env" \
	"$work/corpusgen.test" -test.run '^TestBenchServer$' -test.timeout 0 -test.v >"$work/server.log" 2>&1) &
server_pid=$!
for _ in $(seq 1 300); do
	[ -f "$work/server/server.env" ] && break
	kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
	sleep 0.2
done
[ -f "$work/server/server.env" ] || { say "Dovecot did not start"; cat "$work/server.log" >&2; exit 1; }
# shellcheck disable=SC1091
. "$work/server/server.env"
tls_port=${TLS_ADDR##*:}
doveadm_() { env -i PATH="$PATH" USER="$IMAP_USER" HOME="$MAIL_HOME" doveadm -c "$DOVECOT_CONF" "$@"; }

results="$work/results.txt"
: >"$results"

# link_count I: asks link I's proxy for its counters (SIGUSR1) and prints
# "UP DOWN", the bytes that crossed it so far.
link_count() {
	local out="$work/link$1.out" n
	n=$(wc -l <"$out")
	kill -USR1 "${link_pids[$1]}"
	for _ in $(seq 1 200); do
		[ "$(wc -l <"$out")" -gt "$n" ] && break
		sleep 0.05
	done
	tail -1 "$out" | sed -n 's/^up=\([0-9]*\) down=\([0-9]*\) .*/\1 \2/p'
}

# run NAME MAILBOX COMMAND...: times COMMAND, checks MAILBOX then holds every
# message, and records one result line. With meter=I set, it also records
# the bytes that crossed link I during the run.
meter=""
run() {
	local name=$1 mailbox=$2
	shift 2
	say "running $name"
	sync
	local up0=0 down0=0 up1=0 down1=0
	if [ -n "$meter" ]; then read -r up0 down0 < <(link_count "$meter"); fi
	if ! /usr/bin/time -f '%e %M %U %S' -o "$work/time.$name" "$@" >"$work/out.$name" 2>&1; then
		say "$name failed:"
		tail -20 "$work/out.$name" >&2
		return 1
	fi
	local got=""
	if [ "$mailbox" != "-" ]; then
		got=$(doveadm_ mailbox status -t messages "$mailbox" 2>/dev/null | sed 's/^messages=//')
		if [ "$got" != "$corpus_messages" ]; then
			say "$name: $mailbox holds ${got:-no} messages, want $corpus_messages"
			return 1
		fi
	fi
	if [ -n "$meter" ]; then read -r up1 down1 < <(link_count "$meter"); fi
	read -r wall rss user sys <"$work/time.$name"
	echo "${name%%#*} $wall $rss $user $sys $((up1 - up0)) $((down1 - down0))" >>"$results"
}

url="imaps://$IMAP_USER@$TLS_ADDR"

# The bulk path alone (upload/bulk: MULTIAPPEND, LITERAL+), on the same
# corpus, into a mailbox made beforehand: what the uploader's hot path does
# without resume, verify and folder logic.
bulk() { # NAME MAILBOX ADDR
	env -i PATH="$PATH" USER="$IMAP_USER" HOME="$MAIL_HOME" doveadm -c "$DOVECOT_CONF" mailbox create "$2"
	run "$1" "$2" "$work/bulkupload" -to "$3" -user "$IMAP_USER" -password-file "$PASSWORD_FILE" \
		-tls-ca "$CA_FILE" -mailbox "$2" "$work/corpus/Bench"
}

mbsync_conf() { # HOST PORT FARBOX
	cat <<EOC
IMAPAccount bench
Host $1
Port $2
User $IMAP_USER
PassCmd "cat $PASSWORD_FILE"
SSLType IMAPS
CertificateFile $CA_FILE

IMAPStore far
Account bench

MaildirStore near
Inbox $work/mbsync-maildir

Channel push
Far :far:$3
Near :near:INBOX
Sync Push
Create Far
Expunge None
CopyArrivalDate yes
SyncState $work/mbsync-state/
EOC
}
fresh_maildir() { # mbsync writes its UIDs into the Maildir: give it a copy
	rm -rf "$work/mbsync-maildir" "$work/mbsync-state"
	cp -a "$work/corpus/maildir" "$work/mbsync-maildir"
	mkdir -p "$work/mbsync-state"
}
mkdir -p "$work/doveadm-control" && chmod 777 "$work/doveadm-control"

if [ "$DO_RTT" = yes ]; then
	"$work/delayproxy" -rtt "$RTT" -to "$TLS_ADDR" >"$work/proxy.addr" &
	proxy_pid=$!
	for _ in $(seq 1 50); do [ -s "$work/proxy.addr" ] && break; sleep 0.1; done
	proxy=$(head -1 "$work/proxy.addr")
fi

# One proxy per -link: link I listens on the first line of link$I.out;
# the counters follow on the lines after it.
link_names=()
link_ports=()
for i in "${!LINKS[@]}"; do
	read -r l_up l_down l_rtt < <(link_spec "${LINKS[$i]}")
	"$work/delayproxy" -rtt "$l_rtt" -up "$l_up" -down "$l_down" -to "$TLS_ADDR" >"$work/link$i.out" &
	link_pids+=($!)
	for _ in $(seq 1 50); do [ -s "$work/link$i.out" ] && break; sleep 0.1; done
	a=$(head -1 "$work/link$i.out")
	link_ports+=("${a##*:}")
	link_names+=("${LINKS[$i]//\//-}") # names file names: no slash
	say "link ${LINKS[$i]}: $l_up up, $l_down down, $l_rtt round trip, at $a"
done

# Warm-up, untimed: in the first minute after the corpus was written every
# contender ran up to 2x slower (the VM's disk still settling, Dovecot's
# first mailboxes), which is noise, not a property of any of them.
say "warming up (one doveadm import, not timed)"
sync
env -i PATH="$PATH" USER="$IMAP_USER" HOME="$MAIL_HOME" doveadm -c "$DOVECOT_CONF" import \
	"maildir:$work/corpus/maildir:INDEX=MEMORY:CONTROL=$work/doveadm-control" warmup all
rm -rf "$work/doveadm-control"/*

# One function per contender; $1 is the round.
c_mailferry() {
	# shellcheck disable=SC2086
	run "mailferry#$1" "mf$1/Bench" "$work/mailferry" upload "$work/corpus/Bench" --to "$url" \
		--tls-ca "$CA_FILE" --password-file "$PASSWORD_FILE" --prefix "mf$1" --quiet $MF_ARGS
}
c_bulk() { bulk "bulk-path#$1" "bulk$1" "$TLS_ADDR"; }
c_mbsync() {
	mbsync_conf localhost "$tls_port" "mbsync$1" >"$work/mbsyncrc"
	fresh_maildir
	run "mbsync#$1" "mbsync$1" mbsync -q -c "$work/mbsyncrc" push
}
c_doveadm() {
	rm -rf "$work/doveadm-control"/*
	run "doveadm#$1" "ceiling$1/INBOX" env -i PATH="$PATH" USER="$IMAP_USER" HOME="$MAIL_HOME" doveadm -c "$DOVECOT_CONF" import \
		"maildir:$work/corpus/maildir:INDEX=MEMORY:CONTROL=$work/doveadm-control" "ceiling$1" all
}
c_mailferry_rtt() {
	# shellcheck disable=SC2086
	run "mailferry+$RTT#$1" "mf-rtt$1/Bench" "$work/mailferry" upload "$work/corpus/Bench" \
		--to "imaps://$IMAP_USER@$proxy" --tls-ca "$CA_FILE" --password-file "$PASSWORD_FILE" \
		--prefix "mf-rtt$1" --quiet $MF_ARGS
}
c_bulk_rtt() { bulk "bulk-path+$RTT#$1" "bulk-rtt$1" "$proxy"; }
c_mbsync_rtt() {
	mbsync_conf localhost "${proxy##*:}" "mbsync-rtt$1" >"$work/mbsyncrc-rtt"
	fresh_maildir
	run "mbsync+$RTT#$1" "mbsync-rtt$1" mbsync -q -c "$work/mbsyncrc-rtt" push
}
# Over link $1 (an index into LINKS), round $2.
c_link_mailferry() {
	local name=${link_names[$1]} box="mf-link$1-$2"
	# shellcheck disable=SC2086
	meter=$1 run "mailferry@$name#$2" "$box/Bench" "$work/mailferry" upload "$work/corpus/Bench" \
		--to "imaps://$IMAP_USER@127.0.0.1:${link_ports[$1]}" --tls-ca "$CA_FILE" --password-file "$PASSWORD_FILE" \
		--prefix "$box" --quiet $MF_ARGS
}
c_link_mbsync() {
	local name=${link_names[$1]} box="mbsync-link$1-$2"
	mbsync_conf localhost "${link_ports[$1]}" "$box" >"$work/mbsyncrc-link"
	fresh_maildir
	meter=$1 run "mbsync@$name#$2" "$box" mbsync -q -c "$work/mbsyncrc-link" push
}
# The CPU baseline of the link runs: mailferry over loopback without
# compression, on the same corpus.
c_mailferry_plain() {
	# shellcheck disable=SC2086
	run "mailferry-plain#$1" "mf-plain$1/Bench" "$work/mailferry" upload "$work/corpus/Bench" --to "$url" \
		--tls-ca "$CA_FILE" --password-file "$PASSWORD_FILE" --prefix "mf-plain$1" --quiet --no-compress $MF_ARGS
}
contenders=()
if [ "$LINKS_ONLY" = no ]; then
	contenders+=(c_mailferry c_bulk c_mbsync c_doveadm)
	if [ "$DO_RTT" = yes ]; then
		contenders+=(c_mailferry_rtt c_bulk_rtt c_mbsync_rtt)
	fi
fi
if [ ${#LINKS[@]} -gt 0 ]; then
	contenders+=(c_mailferry_plain)
	for i in "${!LINKS[@]}"; do
		contenders+=("c_link_mailferry $i" "c_link_mbsync $i")
	done
fi

# Each round starts one contender later (round 2: bulk, mbsync, ...,
# mailferry): a run is slowed by what the run before it left to the disk
# (deleted files, writeback), and the rotation spreads that over all of
# them instead of always charging the same one.
for round in $(seq 1 "$ROUNDS"); do
	r=$round
	say "round $r of $ROUNDS"
	if [ "$LINKS_ONLY" = no ]; then
		# scan: the page-cached mbox
		cat "$work/corpus/Bench" >/dev/null
		run "scan#$r" - "$work/mailferry" scan "$work/corpus/Bench"
	fi
	k=${#contenders[@]}
	for i in $(seq 0 $((k - 1))); do
		read -r -a contender <<<"${contenders[$(((i + r - 1) % k))]}"
		"${contender[@]}" "$r"
	done
done

# convert last: it writes and deletes a Maildir as large as the corpus.
[ "$LINKS_ONLY" = yes ] || for r in $(seq 1 "$ROUNDS"); do
	rm -rf "$work/convert-out"
	run "convert#$r" - "$work/mailferry" convert "$work/corpus/Bench" --format maildir --out "$work/convert-out"
done
rm -rf "$work/convert-out"


# Report.
cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
echo "mailferry benchmark: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($cpu), $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo)"
echo "Dovecot $DOVECOT_VERSION, mail_fsync=$([ "$FSYNC" = yes ] && echo optimized || echo never), TLS on loopback$([ "$compress_env" = yes ] && echo ", COMPRESS=DEFLATE offered"); $(mbsync --version); $(go version | cut -d' ' -f3)"
for i in "${!LINKS[@]}"; do
	read -r l_up l_down l_rtt < <(link_spec "${LINKS[$i]}")
	echo "link ${LINKS[$i]}: $l_up up, $l_down down (shared by all connections of a run), $l_rtt round trip"
done
echo "corpus ($MIX mix): $corpus_messages messages, $(awk "BEGIN {printf \"%.1f\", $corpus_imap_bytes/1e6}") MB as IMAP sends them (mbox $(awk "BEGIN {printf \"%.1f\", $corpus_mbox_bytes/1e6}") MB), $corpus_attachments with attachments, $corpus_huge of ~10 MB, seed $SEED"
echo
awk -v n="$corpus_messages" -v bytes="$corpus_imap_bytes" -v mbox="$corpus_mbox_bytes" \
	-v list="scan mailferry bulk-path mbsync doveadm mailferry+$RTT bulk-path+$RTT mbsync+$RTT mailferry-plain convert" \
	-v links="${link_names[*]}" -v mix="$MIX" '
	function median(list,    a, k, t, i, j) {
		k = split(list, a, " ")
		for (i = 2; i <= k; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
		return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
	}
	BEGIN { names = split(list, order, " ") }
	{
		walls[$1] = walls[$1] " " $2; cpus[$1] = cpus[$1] " " ($4 + $5)
		ups[$1] = ups[$1] " " $6; downs[$1] = downs[$1] " " $7
		if ($3 > rss[$1]) rss[$1] = $3
	}
	END {
		for (i = 1; i <= names; i++) { k = order[i]; if (k in walls) { wall[k] = median(walls[k]); cpu[k] = median(cpus[k]) } }
		printf "%-18s %8s %10s %8s %9s %8s   %s\n", "run (median)", "wall s", "msgs/s", "MB/s", "peak RSS", "CPU s", "wall s of each run"
		for (i = 1; i <= names; i++) {
			k = order[i]
			if (!(k in wall)) continue
			if (k == "scan" || k == "convert") {
				printf "%-18s %8.2f %10.0f %8.0f %6.0f MB %8.2f  %s  (mbox MB/s)\n", k, wall[k], n/wall[k], mbox/1e6/wall[k], rss[k]/1024, cpu[k], walls[k]
				continue
			}
			printf "%-18s %8.2f %10.0f %8.1f %6.0f MB %8.2f  %s\n", k, wall[k], n/wall[k], bytes/1e6/wall[k], rss[k]/1024, cpu[k], walls[k]
		}
		print ""
		if (("mailferry" in wall) && ("mbsync" in wall))
			printf "mailferry / mbsync            %.2fx  (target >= 2.0x)\n", wall["mbsync"] / wall["mailferry"]
		if (("mailferry" in wall) && ("doveadm" in wall))
			printf "mailferry / doveadm import    %.0f%%   (target >= 80%%)\n", 100 * wall["doveadm"] / wall["mailferry"]
		for (k in wall) if (k ~ /^mailferry\+/)
			printf "%s / mailferry      %.0f%%   (target >= 50%%)\n", k, 100 * wall["mailferry"] / wall[k]
		for (k in wall) if (k ~ /^mbsync\+/)
			printf "%s / mbsync         %.0f%%\n", k, 100 * wall["mbsync"] / wall[k]
		if (("bulk-path" in wall) && ("mbsync" in wall))
			printf "bulk-path / mbsync            %.2fx\n", wall["mbsync"] / wall["bulk-path"]
		if (("bulk-path" in wall) && ("doveadm" in wall))
			printf "bulk-path / doveadm import    %.0f%%\n", 100 * wall["doveadm"] / wall["bulk-path"]
		for (k in wall) if (k ~ /^bulk-path\+/)
			printf "%s / bulk-path      %.0f%%\n", k, 100 * wall["bulk-path"] / wall[k]
		if ("scan" in wall)
			printf "scan                          %.2f GB/s (target >= 1 GB/s)\n", mbox / 1e9 / wall["scan"]
		if (("mailferry" in wall) || ("convert" in wall))
			printf "peak RSS upload / convert     %.0f MB / %.0f MB (target <= 64 MB)\n", rss["mailferry"] / 1024, rss["convert"] / 1024
		nl = split(links, link, " ")
		if (nl == 0) exit
		print ""
		printf "%-28s %8s %8s %8s %9s %8s %10s %8s %9s   %s\n", "over a link (median)", "wall s", "msgs/s", "MB/s", "peak RSS", "CPU s", "CPU ms/msg", "sent", "received", "wall s of each run"
		for (i = 1; i <= nl; i++) {
			for (j = 1; j <= 2; j++) {
				k = (j == 1 ? "mailferry@" : "mbsync@") link[i]
				if (!(k in walls)) continue
				wall[k] = median(walls[k]); cpu[k] = median(cpus[k]); up[k] = median(ups[k]); down[k] = median(downs[k])
				printf "%-28s %8.2f %8.0f %8.1f %6.0f MB %8.2f %10.3f %7.0f%% %6.1f MB  %s\n", k, wall[k], n/wall[k], bytes/1e6/wall[k], rss[k]/1024, cpu[k], 1000*cpu[k]/n, 100*up[k]/bytes, down[k]/1e6, walls[k]
			}
		}
		print "(sent: bytes from the client over the link, as % of the corpus as IMAP sends it; received: bytes to the client)"
		print ""
		for (i = 1; i <= nl; i++) {
			m = "mailferry@" link[i]; s = "mbsync@" link[i]
			target = ""
			if (link[i] == "home") target = "  (target <= 0.80x)"
			if (link[i] == "far") target = "  (target <= 0.60x)"
			if ((m in wall) && (s in wall))
				printf "%-28s %.2fx of mbsync%s\n", "mailferry wall @" link[i], wall[m] / wall[s], target
			if ((m in wall) && mix == "default")
				printf "%-28s %.0f%% of the corpus%s\n", "mailferry sent @" link[i], 100*up[m]/bytes, "  (target <= 75%)"
			if ((m in wall) && ("mailferry-plain" in wall))
				printf "%-28s %.2fx of mailferry over loopback without compression (%.3f ms/msg)%s\n", "mailferry CPU @" link[i], cpu[m] / cpu["mailferry-plain"], 1000*cpu["mailferry-plain"]/n, "  (target <= 2x)"
			if (m in wall)
				printf "%-28s %.0f MB  (target <= 64 MB)\n", "mailferry peak RSS @" link[i], rss[m] / 1024
		}
	}' "$results"
