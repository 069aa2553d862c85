/**
 * drbdadm's engine: the command table, option scanning, step generation from a resolved
 * configuration, and the main flow that `cmd/drbdadm.ts` calls.
 *
 * @module
 */

export { type AdmCommand, COMMANDS, CONTEXTS, findCommand } from "./commands.ts";
export { scanOptions, type ScanResult } from "./getopt.ts";
export { Engine, formatAddress, type Sleeps, type StepOptions, type StepRunner } from "./engine.ts";
export {
  type AdmInvocation,
  defaultRunner,
  type DrbdmetaMain,
  runAdm,
  type RunOptions,
} from "./run.ts";
export { shellEscape } from "./shell.ts";
export { hiddenCommandsText, usageText, versionText } from "./usage.ts";
