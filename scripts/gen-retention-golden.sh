#!/usr/bin/env bash
# Regenerates examples/vcbmounter/testdata/restic-forget.tsv: which backups
# restic's own `forget` keeps for each policy, the reference for
# vcbmounter's -keep-* flags (TestRetentionMatchesRestic).
# Needs restic: GOFLAGS= go install github.com/restic/restic/cmd/restic@v0.18.1
set -euo pipefail
out="$(cd "$(dirname "$0")/.." && pwd)/examples/vcbmounter/testdata/restic-forget.tsv"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export RESTIC_PASSWORD=golden RESTIC_REPOSITORY="$tmp/repo" TZ=UTC
mkdir "$tmp/data" && echo x >"$tmp/data/f"
restic init -q
times=("2026-12-02 23:00:00" "2026-12-02 09:30:00" "2026-12-02 09:10:00" "2026-12-01 12:00:00"
	"2026-11-30 08:00:00" "2026-11-29 08:00:00" "2026-11-15 08:00:00" "2026-10-31 08:00:00"
	"2025-06-01 08:00:00" "2024-12-31 23:59:00" "2024-01-01 00:30:00")
for t in "${times[@]}"; do restic backup -q --host h --time "$t" "$tmp/data" >/dev/null; done
{
	echo "# $(restic version | head -1); made by scripts/gen-retention-golden.sh: restic forget --dry-run --json POLICY, TZ=UTC"
	printf 'snapshots\t%s\n' "$(restic snapshots --json | python3 -c 'import json,sys; print(",".join(s["time"] for s in sorted(json.load(sys.stdin), key=lambda s: s["time"], reverse=True)))')"
	while read -r policy; do
		# shellcheck disable=SC2086
		kept=$(restic forget --dry-run --json $policy | python3 -c 'import json,sys; d=json.load(sys.stdin); print(",".join(s["time"] for s in (d[0]["keep"] if d else [])))')
		printf '%s\t%s\n' "$policy" "$kept"
	done <<'P'
--keep-last 2
--keep-hourly 2
--keep-hourly 100
--keep-daily 3
--keep-weekly 3
--keep-monthly 3
--keep-yearly 5
--keep-within 36h
--keep-within 1y2m
--keep-last 1 --keep-monthly 2
--keep-daily 2 --keep-weekly 2 --keep-yearly 2
--keep-within 2d --keep-yearly 1
P
} >"$out"
echo "wrote $out"
