#!/usr/bin/env bash
# Throwaway single-node Ceph for tests: 1 mon + 1 in-memory OSD (memstore) + radosgw (S3) on 127.0.0.1.
# No cephx, no mgr. Everything lives under $RGW_DIR; stop with rgw-down.sh (each daemon by its own pid file).
set -euo pipefail
trap 'echo "rgw-up.sh: \"$BASH_COMMAND\" failed with exit $? (line $LINENO)" >&2' ERR
D=${RGW_DIR:?RGW_DIR must name a scratch directory}
PORT=${RGW_PORT:-7480}
MON_PORT=${RGW_MON_PORT:-6789}   # another mon port made `ceph osd new` hang (../shared notes)
rm -rf "$D"; mkdir -p "$D"/{mon,osd,rgw,run,log}
FSID=$(cat /proc/sys/kernel/random/uuid)
cat > "$D/ceph.conf" <<CONF
[global]
fsid = $FSID
mon host = v1:127.0.0.1:$MON_PORT
public addr = 127.0.0.1
cluster addr = 127.0.0.1
public network = 127.0.0.0/8
cluster network = 127.0.0.0/8
auth cluster required = none
auth service required = none
auth client required = none
keyring = $D/keyring
run dir = $D/run
admin socket = $D/run/\$name.asok
log file = $D/log/\$name.log
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
osd crush chooseleaf type = 0
osd objectstore = memstore
# At boot, an OSD sends its device class and CRUSH location to the mon, and about half the time here it does so
# before it has the monmap: a zero fsid, "wrong fsid", exit 250. The script places the OSD in CRUSH itself.
osd class update on start = false
osd crush update on start = false
memstore device bytes = ${RGW_MEM_BYTES:-4294967296}
[mon.a]
mon data = $D/mon
[osd.0]
osd data = $D/osd
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$PORT
rgw data = $D/rgw
CONF
C=(-c "$D/ceph.conf")
ceph-authtool --create-keyring "$D/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
monmaptool --create --add a "127.0.0.1:$MON_PORT" --fsid "$FSID" "$D/monmap" >/dev/null
ceph-mon "${C[@]}" --mkfs -i a --monmap "$D/monmap" --keyring "$D/keyring"
ceph-mon "${C[@]}" -i a --pid-file "$D/run/mon.pid"
# The mon takes a moment to form a quorum of one; a client call before that fails (seen as exit 250).
for _ in $(seq 1 60); do timeout 10 ceph "${C[@]}" mon stat >/dev/null 2>&1 && break; sleep 0.5; done
OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
ID=""
for _ in 1 2 3 4 5; do
  ID=$(timeout 60 ceph "${C[@]}" osd new "$OSD_UUID" 2>>"$D/log/osd-new.log") && break
  sleep 1
done
[ -n "$ID" ] || { echo "ceph osd new failed: $(tail -1 "$D/log/osd-new.log")" >&2; exit 1; }
ceph "${C[@]}" osd crush add "osd.$ID" 1.0 root=default host=localhost >/dev/null 2>>"$D/log/osd-new.log"
ceph-osd "${C[@]}" -i "$ID" --mkfs --osd-uuid "$OSD_UUID" 2>>"$D/log/osd-mkfs.log"
for attempt in 1 2 3 4 5; do
  ceph-osd "${C[@]}" -i "$ID" --pid-file "$D/run/osd.pid" 2>>"$D/log/osd-stderr.log" && break
  [ "$attempt" = 5 ] && { echo "ceph-osd did not start: $(tail -1 "$D/log/osd-stderr.log")" >&2; exit 1; }
  sleep 1
done
radosgw "${C[@]}" -n client.rgw --pid-file "$D/run/rgw.pid"
for _ in $(seq 1 240); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.25; done
curl -sf -o /dev/null "http://127.0.0.1:$PORT/"   # fails the script if rgw never came up
radosgw-admin "${C[@]}" user create --uid=ci --display-name=ci \
  --access-key="${RGW_ACCESS_KEY:-test}" --secret-key="${RGW_SECRET_KEY:-testtest}" >/dev/null
echo "radosgw ready on http://127.0.0.1:$PORT"
