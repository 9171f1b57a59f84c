#!/usr/bin/env bash
# Stops radosgw first (it needs the cluster to exit cleanly), then the OSD, then the mon, each by its pid file.
D=${RGW_DIR:?RGW_DIR must name the directory rgw-up.sh used}
for f in rgw osd mon; do
  [ -f "$D/run/$f.pid" ] || continue
  p=$(cat "$D/run/$f.pid"); kill "$p" 2>/dev/null || continue
  for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
  kill -0 "$p" 2>/dev/null && kill -9 "$p"
done
rm -rf "$D"
