#!/usr/bin/env bash
# summary.sh DIR: the issue-6/issue-5 bars from one `scripts/bench.sh` mode
# directory (cribench.json, floor.json, floor-after.json): pod start-up as a
# ratio to the floor measured in the same run, List/Status/stats medians at
# the largest N, and dockerlet's and dockerd's CPU and RSS idle and polled.
set -euo pipefail
dir=$1
cj=$dir/cribench.json
floors=("$dir/floor.json")
[[ -f $dir/floor-after.json ]] && floors+=("$dir/floor-after.json")
# The floor: median of every floor sample of the run (before and after).
floor=$(jq -s '[.[].samples_ms[]] | sort | .[length/2|floor]' "${floors[@]}")
maxn=$(jq '[.latency[] | select(.call == "ListPodSandbox") | .n_pods] | max' "$cj")
echo "mode: $(jq -r .mode "${floors[0]}")   floor median: ${floor} ms ($(jq -s '[.[].samples_ms[]] | length' "${floors[@]}") samples, before+after)   largest N: $maxn"
echo
printf '%-34s %6s %10s %10s\n' "pod start-up (cribench rows)" "N" "p50_ms" "x floor"
jq -r --argjson f "$floor" '.latency[] | select(.call == "PodStartup(total)") |
	"\(.call) \(.n_pods) \(.p50_ms) \(.p50_ms / $f)"' "$cj" |
	while read -r c n p r; do printf '%-34s %6s %10.1f %10.3f\n' "$c" "$n" "$p" "$r"; done
jq -r --argjson f "$floor" '[.latency[] | select(.call == "PodStartup(total)")] as $rows |
	($rows | map(.samples) | add) as $n | ($rows | map(.p50_ms * .samples) | add / $n) as $w | "\($w) \($w / $f)"' "$cj" |
	while read -r p r; do printf '%-34s %6s %10.1f %10.3f   (bar <= 1.15)\n' "all rows (sample-weighted p50)" "" "$p" "$r"; done
echo
printf '%-34s %6s %10s %10s\n' "call at N=$maxn" "bar" "p50_ms" "verdict"
for cb in ListPodSandbox:1 ListContainers:1 PodSandboxStatus:0.5 ContainerStatus:0.5 ListContainerStats:20 ContainerStats:2 \
	Status:- ImageFsInfo:- ListPodSandboxStats:- PodSandboxStats:-; do
	c=${cb%%:*} bar=${cb#*:}
	p=$(jq -r --arg c "$c" --argjson n "$maxn" '[.latency[] | select(.call == $c and .n_pods == $n and .errors == 0)][0].p50_ms // "n/a"' "$cj")
	v=-
	[[ $bar != - && $p != n/a && $p != '"n/a"' ]] && v=$(awk -v p="$p" -v b="$bar" 'BEGIN { print (p <= b) ? "ok" : "MISSED" }')
	printf '%-34s %6s %10s %10s\n' "$c" "$bar" "$p" "$v"
done
echo
printf '%-24s %-10s %8s %9s\n' "phase" "proc" "cpu%" "rssMaxMi"
jq -r '.resources[] | select(.phase | test("^(idle|kubelet-poll)")) | "\(.phase)|\(.proc)|\(.cpu_pct)|\(.rss_max_mib)"' "$cj" |
	while IFS='|' read -r ph pr cpu rss; do printf '%-24s %-10s %8.2f %9.1f\n' "$ph" "$pr" "$cpu" "$rss"; done
echo "bars: dockerlet RSS <= 30 MiB at N=110; dockerlet CPU polled <= 0.5 %; dockerd CPU polled ~ idle"
