#!/bin/sh
# Runs the real drbdsetup with the arguments after the first inside the caller's private mount
# namespace (start it with `unshare -m --propagation private`): a tmpfs over /proc with an empty
# /proc/drbd passes drbdsetup's "is the module loaded" check, a tmpfs over /run takes its lock
# files, and the LD_PRELOAD library named by the first argument answers the netlink family query.
# Nothing outside the namespace is touched.
set -e
mount -t tmpfs -o size=64k,mode=0755 udrbd-oracle-proc /proc
: >/proc/drbd
mount -t tmpfs -o size=64k,mode=0755 udrbd-oracle-run /run
mkdir -p /run/lock
# a block device node for attach (an unbound loop device; drbdsetup only opens and stats it)
mknod /run/udrbd-blk b 7 7
shim=$1
shift
LD_PRELOAD=$shim exec /usr/sbin/drbdsetup "$@"
