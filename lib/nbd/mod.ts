/**
 * NBD server core: exports a {@link BlockDevice} over the NBD protocol (fixed newstyle, simple
 * and structured replies, `base:allocation`) on a Unix socket and/or TCP. Knows nothing about
 * DRBD; the node daemon puts each volume behind it through the `BlockDevice` interface.
 *
 * ```ts
 * import { FileBlockDevice, NbdServer } from "./mod.ts";
 * const device = FileBlockDevice.open("/tmp/disk.img");
 * const server = NbdServer.listen({ device, name: "drbd0", path: "/tmp/drbd0.sock" });
 * // … later
 * await server.close();
 * device.close();
 * ```
 *
 * @module
 */
export {
  type BlockDevice,
  BlockDeviceError,
  type BlockSizeConstraints,
  type Extent,
  FileBlockDevice,
  type FileBlockDeviceOptions,
  type NbdClientInfo,
  nbdErrno,
  type WriteFlags,
  type ZeroFlags,
} from "./block_device.ts";
export { NbdServer, type NbdServerOptions } from "./server.ts";
export { Cmd, CmdFlag, Errno, TxFlag } from "./protocol.ts";
export {
  attach,
  type AttachOptions,
  type DrbdLinkOptions,
  drbdLinks,
  findFreeNbd,
  type FindFreeNbdOptions,
  KernelAttachment,
  type KernelLogger,
  type LinkOptions,
  makeLinks,
  nbdClientArgv,
  type NbdClientArgvOptions,
  nbdDisconnectArgv,
  nbdDriverPresent,
  relativeTarget,
  removeLinks,
  type SysfsOptions,
} from "./kernel.ts";
