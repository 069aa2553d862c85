/**
 * The local control channel between drbdsetup and the node daemon (the part the kernel's
 * netlink plays for real DRBD), and the daemon's lifecycle: the protocol, the server the
 * daemon runs, the client drbdsetup uses, the run directory, and starting and running the
 * daemon.
 *
 * @module
 */
export {
  CONTROL_VERSION,
  ControlError,
  type ControlErrorBody,
  type ControlEvent,
  type ControlFailure,
  type ControlHandler,
  type ControlMessage,
  type ControlOk,
  type ControlRequest,
  type ControlResponse,
  EXIT_GENERIC,
  type HandlerContext,
  type HelloResult,
} from "./protocol.ts";
export { ControlServer, type ControlServerOptions } from "./server.ts";
export {
  type CallOptions,
  connectDaemon,
  type ConnectDaemonOptions,
  ControlClient,
  tryHello,
} from "./client.ts";
export { DEFAULT_RUN_DIR, ensureRunDir, runDir, type RunFiles, runFiles } from "./paths.ts";
export { daemonCommand, startDaemon, type StartDaemonOptions } from "./spawn.ts";
export { DAEMON_EXIT_FAILED, DAEMON_EXIT_OK, runDaemon, type RunDaemonOptions } from "./daemon.ts";
