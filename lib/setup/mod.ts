/**
 * drbdsetup's command-line grammar, its help texts and its `show` printer, as drbdsetup 9.22
 * has them. The runner parses with {@link parseDrbdsetup}, prints a {@link SetupUsage} as it is,
 * and sends a {@link SetupInvocation} to the daemon.
 *
 * @module
 */

export {
  isInvocation,
  parseDrbdsetup,
  type ParseOptions,
  type SetupInvocation,
  type SetupUsage,
} from "./parse.ts";
export { type AddressFamily, type Endpoint, formatAddress, parseAddress } from "./address.ts";
export { COMMANDS, findCommand, type SetupCommand } from "./commands.ts";
export { commandUsage, globalUsage, type UsageOptions } from "./usage.ts";
export {
  formatShow,
  type ShowConnection,
  type ShowOptions,
  type ShowResource,
  type ShowVolume,
} from "./show.ts";
export { mStrtoll, SetupError, strtoull } from "./fields.ts";
