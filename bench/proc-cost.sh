#!/usr/bin/env bash
# CPU time per refresh of warroom's process sampler against htop, in the same run, with N idle
# processes alive.
#
# usage: bench/proc-cost.sh [SECONDS] [N ...]        defaults: 20 seconds, N = 1000 5000
#
# Needs tmux and htop (apt-get install -y tmux htop). Builds the release sampler example
# (examples/sampler_bench.rs), which runs exactly what the process pane runs each tick.
# Method: each viewer runs alone in a detached 200x50 tmux session, refreshing every 1.5 s;
# the CPU ticks (utime+stime in /proc/PID/stat) of the pane process are read before and after
# SECONDS, and ms/refresh = CPU ms per second x 1.5. Sleepers are `sleep` processes.
set -u
cd "$(dirname "$0")/.."
T=${1:-20}; shift || true
COUNTS=("$@"); [ ${#COUNTS[@]} -eq 0 ] && COUNTS=(1000 5000)
for tool in tmux htop; do
  command -v "$tool" >/dev/null || { echo "proc-cost: $tool is missing (apt-get install -y $tool)" >&2; exit 1; }
done
cargo build --release --example sampler_bench >/dev/null 2>&1 || { echo "proc-cost: release build failed (cargo build --release --example sampler_bench)" >&2; exit 1; }
BENCH=target/release/examples/sampler_bench
HZ=$(getconf CLK_TCK)
pids=()
cleanup() {
  [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null
  for s in $(tmux ls -F '#S' 2>/dev/null | grep '^proccost-'); do tmux kill-session -t "$s"; done
}
trap cleanup EXIT
ticks() { awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
measure() { # name command -> prints ms per refresh
  local name=$1 cmd=$2 pid a b
  tmux new-session -d -s "proccost-$name" -x 200 -y 50 "exec $cmd"
  sleep 3 # startup is not a refresh
  pid=$(tmux list-panes -t "proccost-$name" -F '#{pane_pid}')
  a=$(ticks "$pid"); sleep "$T"; b=$(ticks "$pid")
  tmux kill-session -t "proccost-$name"
  awk -v t="$b" -v f="$a" -v hz="$HZ" -v s="$T" 'BEGIN{printf "%.1f", (t-f)*1000/hz/s*1.5}'
}
printf '| processes | htop ms/refresh | warroom sampler ms/refresh | ratio |\n|---:|---:|---:|---:|\n'
for n in "${COUNTS[@]}"; do
  have=$(ls /proc | grep -c '^[0-9]')
  while [ "$have" -lt "$n" ]; do sleep 100000 & pids+=($!); have=$((have + 1)); done
  procs=$(ls /proc | grep -c '^[0-9]')
  h=$(measure htop "htop -d 15")
  w=$(measure warroom "$BENCH --interval 1.5")
  awk -v p="$procs" -v h="$h" -v w="$w" 'BEGIN{printf "| %d | %.1f | %.1f | %.2f |\n", p, h, w, (h>0 ? w/h : 0)}'
done
