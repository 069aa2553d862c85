/**
 * drbdadm's usage and help texts.
 *
 * @module
 */

import { type AdmCommand, COMMANDS, CONTEXTS, GENERAL_OPTIONS } from "./commands.ts";
import type { LongOption } from "./getopt.ts";

/** The version drbdadm reports, and the build tag line that follows it. */
export const ADM_VERSION = "9.22.0";
const API_VERSION = 2;
const BUILDTAG =
  "GIT-hash: 409097fe02187f83790b88ac3e0d94f3c167adab reproducible build, 2023-01-09 14:51:18";

function optionLine(o: LongOption, short: boolean): string {
  const s = short ? o.key : "";
  switch (o.arg) {
    case "required":
      return `  --${o.name}=...${s ? `, -${s} ...` : ""}\n`;
    case "optional":
      return `  --${o.name}[=...]${s ? `, -${s}...` : ""}\n`;
    default:
      return `  --${o.name}${s ? `, -${s}` : ""}\n`;
  }
}

/** The commands shown at `level`, sorted by name, in two columns. */
export function commandColumns(level: number): string {
  const names = COMMANDS.filter((c) => c.showInUsage === level).map((c) => c.name).sort((a, b) =>
    a < b ? -1 : a > b ? 1 : 0
  );
  const half = Math.floor((names.length + 1) / 2);
  let out = "";
  for (let i = 0; i < half; i++) {
    out += i + half < names.length
      ? ` ${names[i].padEnd(35)} ${names[i + half].padEnd(35)}\n`
      : ` ${names[i].padEnd(35)}\n`;
  }
  return out;
}

/** drbdadm's usage text (stdout) for `cmd` or for drbdadm as a whole, with an optional note. */
export function usageText(progname: string, cmd: AdmCommand | undefined, addinfo?: string): string {
  let out = `\nUSAGE: ${progname} ${cmd ? cmd.name : "COMMAND"} [OPTION...] {all|RESOURCE...}\n\n` +
    "GENERAL OPTIONS:\n";
  for (const o of GENERAL_OPTIONS) out += optionLine(o, true);
  if (cmd?.context) {
    out += `\nOPTIONS FOR ${cmd.name}:\n`;
    for (const f of CONTEXTS[cmd.context]) {
      out += optionLine({ name: f.name, arg: f.arg, key: "" }, false);
    }
  }
  if (!cmd) out += "\nCOMMANDS:\n" + commandColumns(1);
  out += `\nVersion: ${ADM_VERSION} (api:${API_VERSION})\n${BUILDTAG}\n`;
  if (addinfo) out += `\n${addinfo}\n`;
  return out;
}

/** The text of `drbdadm hidden-commands`. */
export function hiddenCommandsText(): string {
  return "\nThese additional commands might be useful for writing\n" +
    "nifty shell scripts around drbdadm:\n\n" + commandColumns(2) +
    "\nThese commands are used by the kernel part of DRBD to\n" +
    "invoke user mode helper programs:\n\n" + commandColumns(3) +
    "\nThese commands ought to be used by experts and developers:\n\n" + commandColumns(4) + "\n";
}

/** The text of `drbdadm --version` (shell variable assignments). */
export function versionText(): string {
  return "DRBDADM_BUILDTAG=GIT-hash:\\ 409097fe02187f83790b88ac3e0d94f3c167adab\\ reproducible\\ build\\,\\ 2023-01-09\\ 14:51:18\n" +
    `DRBDADM_API_VERSION=${API_VERSION}\n` +
    "DRBD_KERNEL_VERSION_CODE=0x000000\n" +
    "DRBD_KERNEL_VERSION=0\n" +
    "DRBDADM_VERSION_CODE=0x091600\n" +
    `DRBDADM_VERSION=${ADM_VERSION}\n`;
}
