#!/bin/sh
# containerd binary:// logger: the shim runs `logger.sh path FILE max BYTES` (pairs in any
# order) with only CONTAINER_ID/CONTAINER_NAMESPACE set; fd 3 = stdout, fd 4 = stderr,
# closing fd 5 tells the shim we are ready. Both streams are appended to FILE; when it
# reaches BYTES it is moved to FILE.1 (one rotation). Runs as long as the task's pipes
# are open, independent of kukeond.
PATH=/usr/bin:/bin
export PATH
log= max=10485760
while [ $# -ge 2 ]; do
  case $1 in
    path) log=$2 ;;
    max) max=$2 ;;
  esac
  shift 2
done
[ -n "$log" ] || exit 2
mkdir -p "${log%/*}"
exec 5>&-
{ cat <&3 & cat <&4 & exec 3<&- 4<&-; wait; } | {
  while :; do
    size=$(stat -c %s "$log" 2>/dev/null || echo 0)
    if [ "$size" -ge "$max" ]; then
      mv -f "$log" "$log.1"
      size=0
    fi
    room=$((max - size))
    # dd reads at most `room` bytes from the pipe (nothing is lost between chunks) and
    # writes each read at once (head -c would buffer until it exits)
    dd iflag=count_bytes count="$room" bs=65536 status=none >>"$log"
    after=$(stat -c %s "$log" 2>/dev/null || echo 0)
    [ $((after - size)) -lt "$room" ] && exit 0
  done
}
