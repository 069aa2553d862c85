/**
 * The systemd units `udrbd install` writes: `udrbd.service` runs the node daemon (the part
 * the kernel module plays for DRBD), and per resource `drbd@<res>.service` configures one
 * resource with drbdadm, grouped by `drbd@<res>.target` for enabling, as drbd-utils 9.22 ships
 * them for real DRBD.
 *
 * @module
 */

/** The unit of the node daemon, whose tools live in `sbin`. */
export function daemonUnit(sbin: string): string {
  return `[Unit]
Description=udrbd node daemon: this host's DRBD resources, in userspace
Documentation=man:udrbd(8) man:drbdsetup(8)
# peers replicate over the network; resources come up through drbd@<res>.service
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
ExecStart=${sbin}/udrbd daemon --foreground
# SIGTERM makes the daemon close its exports and mark the metadata clean, as a clean reboot
KillMode=mixed
TimeoutStopSec=90

[Install]
WantedBy=multi-user.target
`;
}

/**
 * The template that brings resource `%I` up with `drbdadm adjust` (which also applies a changed
 * drbd.conf on reload) and takes it down with `drbdsetup down` after stop, as drbd-utils
 * 9.22's drbd@.service does through its service shim; it needs the daemon's unit.
 */
export function resourceUnit(sbin: string): string {
  return `[Unit]
Description=Configure DRBD resource %I (udrbd)
Documentation=man:drbdadm(8) man:drbd.conf(5)
PartOf=drbd@%i.target
Requires=udrbd.service
After=udrbd.service
# the peers must be reachable by name and address before the resource connects
Wants=network-online.target
After=network-online.target nss-lookup.target
Before=pacemaker.service

[Service]
SyslogIdentifier=drbd-%I
Type=oneshot
RemainAfterExit=yes
ExecStart=${sbin}/drbdadm adjust %I
ExecReload=${sbin}/drbdadm adjust %I
# stopping only succeeds once nothing uses the device any more
ExecStopPost=${sbin}/drbdsetup down %I
`;
}

/** The target a user enables per resource: `systemctl enable --now drbd@r0.target`. */
export function resourceTarget(): string {
  return `[Unit]
Description=DRBD resource %I configured (udrbd)
Documentation=man:drbdadm(8)
Requires=drbd@%i.service
# reached once the resource is configured, so that mounts can wait for it
After=drbd@%i.service
After=network-online.target nss-lookup.target

[Install]
WantedBy=multi-user.target
`;
}
