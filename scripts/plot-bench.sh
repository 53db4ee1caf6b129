#!/usr/bin/env bash
# Plot the JSON lines of build/ephemera-bench with gnuplot.
#
#   scripts/plot-bench.sh [JSON_FILE] [OUT_DIR]     (stdin when no file or "-")
#
# Writes OUT_DIR (default bench-plots) /mpps-vs-sessions.png (established_*
# cases: Mpps against sessions, log-x, one line per protocol and key
# distribution) and /cycles-per-packet.png (bar chart, one bar per case).
# Needs gnuplot (Debian: apt-get install -y gnuplot-nox) and python3.
set -euo pipefail

in="${1:--}"
out="${2:-bench-plots}"

command -v gnuplot >/dev/null || {
	echo "error: gnuplot not found; install it with: apt-get install -y gnuplot-nox" >&2
	exit 1
}
if [ "$in" != - ] && [ ! -r "$in" ]; then
	echo "error: cannot read $in" >&2
	exit 1
fi
mkdir -p "$out"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/split.py" <<'EOF'
"""JSON lines on stdin -> gnuplot data files in argv[1]."""
import json
import os
import re
import sys

outdir = sys.argv[1]
series = {}   # "udp uniform" -> [(sessions, mpps)]
bars = []     # (case, cycles_per_pkt)
for line in sys.stdin:
    line = line.strip()
    if not line.startswith("{"):
        continue          # the human-readable table, if stderr was merged
    try:
        r = json.loads(line)
    except ValueError:
        continue
    case = r.get("case")
    if case is None:
        continue
    # Table builds are milliseconds, not a packet's cycles: not on this chart.
    if "cycles_per_pkt" in r and "maglev_ms_10" not in r:
        bars.append((case, float(r["cycles_per_pkt"])))
    m = re.match(r"established_(udp|tcp)_.*_(uniform|zipf)$", case)
    if m and r.get("sessions") and "mpps" in r:
        key = "%s %s" % (m.group(1).upper(), m.group(2))
        series.setdefault(key, []).append((int(r["sessions"]), float(r["mpps"])))

with open(os.path.join(outdir, "bars.dat"), "w") as f:
    for case, cyc in bars:
        f.write('"%s" %.1f\n' % (case, cyc))
names = []
for i, key in enumerate(sorted(series)):
    with open(os.path.join(outdir, "series%d.dat" % i), "w") as f:
        for s, mpps in sorted(series[key]):
            f.write("%d %.3f\n" % (s, mpps))
    names.append(key)
with open(os.path.join(outdir, "series.names"), "w") as f:
    f.write("\n".join(names) + ("\n" if names else ""))
print(len(bars), len(names))
EOF

if [ "$in" = - ]; then
	read -r nbars nseries < <(python3 -I -S "$tmp/split.py" "$tmp")
else
	read -r nbars nseries < <(python3 -I -S "$tmp/split.py" "$tmp" <"$in")
fi
[ "$nbars" -gt 0 ] || {
	echo "error: no ephemera-bench JSON lines in ${in/#-/stdin}" >&2
	exit 1
}

common='set terminal pngcairo size 1200,700 enhanced font "sans,11"
set grid ytics lc rgb "#dddddd"
set key top right box opaque'

if [ "$nseries" -gt 0 ]; then
	plot="plot"
	i=0
	while IFS= read -r name; do
		dash=1
		case "$name" in *zipf) dash=2 ;; esac
		[ "$i" -eq 0 ] || plot+=","
		plot+=" '$tmp/series$i.dat' using 1:2 with linespoints lw 2 pt 7 dt $dash title '$name'"
		i=$((i + 1))
	done <"$tmp/series.names"
	gnuplot <<EOF
$common
set output '$out/mpps-vs-sessions.png'
set title 'Ephemera established flows: Mpps per core against session count'
set xlabel 'sessions (log scale)'
set ylabel 'Mpps (one core)'
set logscale x 2
set format x '%.0b%B'
set yrange [0:*]
$plot
EOF
	echo "wrote $out/mpps-vs-sessions.png ($nseries series)"
else
	echo "note: no established_udp_*/established_tcp_* cases; skipped mpps-vs-sessions.png" >&2
fi

gnuplot <<EOF
$common
set output '$out/cycles-per-packet.png'
set title 'Ephemera: TSC cycles per packet by case'
set ylabel 'cycles per packet'
set style fill solid 0.7 border -1
set boxwidth 0.7
set xtics rotate by -40 left noenhanced
set bmargin 10
stats '$tmp/bars.dat' using 2 nooutput
set yrange [0:STATS_max * 1.1]
unset key
plot '$tmp/bars.dat' using 0:2:xtic(1) with boxes lc rgb '#4477aa', \
     '' using 0:2:(sprintf('%.0f', \$2)) with labels offset 0,0.8 font ',9'
EOF
echo "wrote $out/cycles-per-packet.png ($nbars cases)"
