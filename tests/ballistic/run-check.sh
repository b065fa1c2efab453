# Shared by ballistic.sh and partitions.sh (sourced): wait for the coordinator to end the grid, then check the run
# folder is whole — every trial of the grid in trials.csv exactly once, and the report written.
# Uses: $began, $timeout_s, $out, $expected, ${pid[coordinator]}.

# Sets rc_coord (124 when the grid did not finish in time) and wall (seconds since $began). $1: the script's name.
wait_for_grid() {
  local deadline=$(( began + timeout_s ))
  while kill -0 "${pid[coordinator]}" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 1; done
  if kill -0 "${pid[coordinator]}" 2>/dev/null; then echo "$1: grid not finished within ${timeout_s}s" >&2; rc_coord=124
  else wait "${pid[coordinator]}"; rc_coord=$?; fi
  wall=$(( $(date +%s) - began ))
}

# Sets unique (distinct trials in trials.csv) and duplicates (rows beyond one per trial).
count_trials() {
  local rows=0
  unique=0
  if [ -f "$out/trials.csv" ]; then
    rows=$(tail -n +2 "$out/trials.csv" | grep -c .)
    unique=$(tail -n +2 "$out/trials.csv" | cut -d, -f1-4 | sort -u | grep -c .)
  fi
  duplicates=$(( rows - unique ))
}

# Prints each failure as "$1: FAIL …"; sets ok to 1 when the run is whole, else 0.
check_run() {
  ok=1
  [ "$rc_coord" -eq 0 ] || { echo "$1: FAIL coordinator exit code $rc_coord (log: $work/coordinator.log)"; ok=0; }
  [ "$unique" -eq "$expected" ] || { echo "$1: FAIL $unique of $expected trials in trials.csv"; ok=0; }
  [ "$duplicates" -eq 0 ] || { echo "$1: FAIL $duplicates duplicate rows in trials.csv"; ok=0; }
  for f in report.md report.json report.csv; do [ -f "$out/$f" ] || { echo "$1: FAIL no $f"; ok=0; }; done
}
