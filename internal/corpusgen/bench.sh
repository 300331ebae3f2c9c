#!/usr/bin/env bash
# bench.sh: mailferry upload against mbsync and doveadm import, side by side.
#
# Usage (from anywhere in the repository):
#   internal/corpusgen/bench.sh                 # 5000 messages (~300 MB), the issue-6 setup
#   internal/corpusgen/bench.sh -n 500          # smaller and quicker
#   internal/corpusgen/bench.sh -size 50M -seed 7 -rtt 40ms -keep /tmp/bench
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
#   5. checks that every target mailbox holds all messages, and prints for
#      each run: wall seconds, messages/s, MB/s (IMAP bytes, CRLF), peak RSS
#      and CPU seconds (/usr/bin/time), then the ratios.
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
	-h|-help|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench.sh: unknown option $1 (see -help)" >&2; exit 2 ;;
	esac
done
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
cleanup() {
	if [ -n "$proxy_pid" ]; then kill "$proxy_pid" 2>/dev/null || true; wait "$proxy_pid" 2>/dev/null || true; fi
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
	facts=$("$work/gencorpus" -size "$SIZE" -seed "$SEED" -out "$work/corpus")
else
	facts=$("$work/gencorpus" -n "$N" -seed "$SEED" -out "$work/corpus")
fi
eval "$(echo "$facts" | tr ' ' '\n' | sed 's/^/corpus_/')"
say "corpus: $facts"
chmod -R a+rX "$work/corpus"

say "starting Dovecot"
mkdir -p "$work/server"
fsync_env=""
[ "$FSYNC" = no ] && fsync_env=no
(cd "$work" && MAILFERRY_BENCH_SERVER="$work/server" MAILFERRY_BENCH_FSYNC="$fsync_env" \
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

# run NAME MAILBOX COMMAND...: times COMMAND, checks MAILBOX then holds every
# message, and records one result line.
run() {
	local name=$1 mailbox=$2
	shift 2
	say "running $name"
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
	read -r wall rss user sys <"$work/time.$name"
	echo "$name $wall $rss $user $sys" >>"$results"
}

# scan: the page-cached mbox
cat "$work/corpus/Bench" >/dev/null
run scan - "$work/mailferry" scan "$work/corpus/Bench"

url="imaps://$IMAP_USER@$TLS_ADDR"
# shellcheck disable=SC2086
run mailferry mf/Bench "$work/mailferry" upload "$work/corpus/Bench" --to "$url" \
	--tls-ca "$CA_FILE" --password-file "$PASSWORD_FILE" --prefix mf --quiet $MF_ARGS

# The bulk path alone (upload/bulk: MULTIAPPEND, LITERAL+), on the same
# corpus, into a mailbox made beforehand: what the uploader's hot path does
# without resume, verify and folder logic.
bulk() { # NAME MAILBOX ADDR
	env -i PATH="$PATH" USER="$IMAP_USER" HOME="$MAIL_HOME" doveadm -c "$DOVECOT_CONF" mailbox create "$2"
	run "$1" "$2" "$work/bulkupload" -to "$3" -user "$IMAP_USER" -password-file "$PASSWORD_FILE" \
		-tls-ca "$CA_FILE" -mailbox "$2" "$work/corpus/Bench"
}
bulk bulk-path bulk "$TLS_ADDR"

mbsync_conf() { # HOST PORT FARBOX
	cat <<EOF
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
EOF
}
fresh_maildir() { # mbsync writes its UIDs into the Maildir: give it a copy
	rm -rf "$work/mbsync-maildir" "$work/mbsync-state"
	cp -a "$work/corpus/maildir" "$work/mbsync-maildir"
	mkdir -p "$work/mbsync-state"
}
mbsync_conf localhost "$tls_port" mbsync >"$work/mbsyncrc"
fresh_maildir
run mbsync mbsync mbsync -q -c "$work/mbsyncrc" push

mkdir -p "$work/doveadm-control" && chmod 777 "$work/doveadm-control"
run doveadm ceiling/INBOX env -i PATH="$PATH" USER="$IMAP_USER" HOME="$MAIL_HOME" doveadm -c "$DOVECOT_CONF" import \
	"maildir:$work/corpus/maildir:INDEX=MEMORY:CONTROL=$work/doveadm-control" ceiling all

if [ "$DO_RTT" = yes ]; then
	"$work/delayproxy" -rtt "$RTT" -to "$TLS_ADDR" >"$work/proxy.addr" &
	proxy_pid=$!
	for _ in $(seq 1 50); do [ -s "$work/proxy.addr" ] && break; sleep 0.1; done
	proxy=$(head -1 "$work/proxy.addr")
	# shellcheck disable=SC2086
	run "mailferry+$RTT" mf-rtt/Bench "$work/mailferry" upload "$work/corpus/Bench" \
		--to "imaps://$IMAP_USER@$proxy" --tls-ca "$CA_FILE" --password-file "$PASSWORD_FILE" \
		--prefix mf-rtt --quiet $MF_ARGS
	bulk "bulk-path+$RTT" bulk-rtt "$proxy"
	mbsync_conf localhost "${proxy##*:}" mbsync-rtt >"$work/mbsyncrc-rtt"
	fresh_maildir
	run "mbsync+$RTT" mbsync-rtt mbsync -q -c "$work/mbsyncrc-rtt" push
fi

# Report.
cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
echo "mailferry benchmark: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($cpu), $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo)"
echo "Dovecot $DOVECOT_VERSION, mail_fsync=$([ "$FSYNC" = yes ] && echo optimized || echo never), TLS on loopback; $(mbsync --version); $(go version | cut -d' ' -f3)"
echo "corpus: $corpus_messages messages, $(awk "BEGIN {printf \"%.1f\", $corpus_imap_bytes/1e6}") MB as IMAP sends them (mbox $(awk "BEGIN {printf \"%.1f\", $corpus_mbox_bytes/1e6}") MB), $corpus_attachments with attachments, $corpus_huge of ~10 MB, seed $SEED"
echo
awk -v n="$corpus_messages" -v bytes="$corpus_imap_bytes" -v mbox="$corpus_mbox_bytes" '
	{ name[NR] = $1; wall[NR] = $2; rss[NR] = $3; cpu[NR] = $4 + $5; idx[$1] = NR }
	END {
		printf "%-18s %8s %10s %8s %9s %8s\n", "run", "wall s", "msgs/s", "MB/s", "peak RSS", "CPU s"
		for (i = 1; i <= NR; i++) {
			if (name[i] == "scan") {
				printf "%-18s %8.2f %10s %8.0f %6.0f MB %8.2f  (mbox MB/s: wall; %.0f MB/s per CPU second)\n", name[i], wall[i], "-", mbox/1e6/wall[i], rss[i]/1024, cpu[i], mbox/1e6/cpu[i]
				continue
			}
			printf "%-18s %8.2f %10.0f %8.1f %6.0f MB %8.2f\n", name[i], wall[i], n/wall[i], bytes/1e6/wall[i], rss[i]/1024, cpu[i]
		}
		print ""
		if (("mailferry" in idx) && ("mbsync" in idx))
			printf "mailferry / mbsync            %.2fx  (target >= 2.0x)\n", wall[idx["mbsync"]] / wall[idx["mailferry"]]
		if (("mailferry" in idx) && ("doveadm" in idx))
			printf "mailferry / doveadm import    %.0f%%   (target >= 80%%)\n", 100 * wall[idx["doveadm"]] / wall[idx["mailferry"]]
		for (k in idx) if (k ~ /^mailferry\+/)
			printf "%s / mailferry      %.0f%%   (target >= 50%%)\n", k, 100 * wall[idx["mailferry"]] / wall[idx[k]]
		for (k in idx) if (k ~ /^mbsync\+/)
			printf "%s / mbsync         %.0f%%\n", k, 100 * wall[idx["mbsync"]] / wall[idx[k]]
		if (("bulk-path" in idx) && ("mbsync" in idx))
			printf "bulk-path / mbsync            %.2fx\n", wall[idx["mbsync"]] / wall[idx["bulk-path"]]
		if (("bulk-path" in idx) && ("doveadm" in idx))
			printf "bulk-path / doveadm import    %.0f%%\n", 100 * wall[idx["doveadm"]] / wall[idx["bulk-path"]]
		for (k in idx) if (k ~ /^bulk-path\+/)
			printf "%s / bulk-path      %.0f%%\n", k, 100 * wall[idx["bulk-path"]] / wall[idx[k]]
	}' "$results"
