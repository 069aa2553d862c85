/**
 * THE option table: every drbd.conf keyword and drbdsetup option with its section, type, unit,
 * default and range, plus small helpers. Config validation, drbdadm's generated command lines,
 * drbdsetup's argument parser, completions and man pages derive from it.
 *
 * @module
 */

export type * from "./types.ts";
export { OPTIONS } from "./table.ts";
export {
  lookupOption,
  nearestKeyword,
  optionsForCommand,
  optionsInSection,
  parseNumeric,
  validateValue,
  type ValueProblem,
} from "./lookup.ts";
export { UNIT_SHIFT } from "./units.ts";
