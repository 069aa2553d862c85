/**
 * Shell completion scripts for drbdadm, drbdsetup, drbdmeta and udrbd, generated from the
 * command tables and the option table: commands, options per command, enum and yes/no values,
 * resources (and `res/vol`) from the configuration, minors of the node daemon.
 *
 * @module
 */

import { bashScript } from "./completion_bash.ts";
import { completionData } from "./completion_data.ts";
import { fishScript } from "./completion_fish.ts";
import { zshScript } from "./completion_zsh.ts";
import { completionTools, type Shell, SHELLS, UDRBD_TOOLS } from "./model.ts";

export { type Shell, SHELLS };

/** Where each shell's script is committed, relative to the repository root. */
export const COMPLETION_FILES: Readonly<Record<Shell, string>> = {
  bash: "completions/udrbd.bash",
  zsh: "completions/_udrbd",
  fish: "completions/udrbd.fish",
};

/** The completion script for `shell`, the same text on every run. */
export function completionScript(shell: Shell): string {
  const data = completionData(completionTools(UDRBD_TOOLS));
  switch (shell) {
    case "bash":
      return bashScript(data);
    case "zsh":
      return zshScript(data);
    case "fish":
      return fishScript(data);
  }
}
