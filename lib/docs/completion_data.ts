/**
 * The completion grammar ({@link CompletionTool}) flattened into key/value lines that every
 * shell script looks up the same way: `lead TOOL`, `gopts TOOL`, `cmds TOOL`,
 * `copts TOOL CMD`, `args TOOL CMD`, `opt TOOL --NAME`, `short TOOL -X`, `tools`.
 *
 * @module
 */

import type { CompletionOption, CompletionTool, Slot } from "./model.ts";

/**
 * A slot as one word: `none`, `file`, `w:a,b,c`, `admres`, `admresvol`, `setres`,
 * `setresall`, `minor`.
 */
export function slotCode(slot: Slot): string {
  switch (slot.kind) {
    case "words":
      return `w:${slot.words.join(",")}`;
    case "file":
    case "none":
      return slot.kind;
    case "adm-resource":
      return slot.volumes ? "admresvol" : "admres";
    case "setup-resource":
      return slot.all ? "setresall" : "setres";
    case "setup-minor":
      return "minor";
  }
}

function optionCode(o: CompletionOption): string {
  return `${o.mode} ${slotCode(o.value)}`;
}

/**
 * The lookup table of all tools, sorted by key. Throws when one tool gives the same option
 * name two meanings, since the scripts look options up per tool.
 */
export function completionData(tools: readonly CompletionTool[]): [string, string][] {
  const data = new Map<string, string>();
  const put = (key: string, value: string) => {
    const old = data.get(key);
    if (old !== undefined && old !== value) {
      throw new Error(`completion data: ${key} is both '${old}' and '${value}'`);
    }
    if (/['\\\n]/.test(key + value)) throw new Error(`completion data: unsafe text in ${key}`);
    data.set(key, value);
  };
  const putOption = (tool: string, o: CompletionOption) => {
    put(`opt ${tool} --${o.name}`, optionCode(o));
    if (o.short) put(`short ${tool} -${o.short}`, `--${o.name}`);
  };
  put("tools", tools.map((t) => t.name).join(" "));
  for (const t of tools) {
    if (t.leading.length) put(`lead ${t.name}`, t.leading.map(slotCode).join(" "));
    if (t.options.length) put(`gopts ${t.name}`, t.options.map((o) => `--${o.name}`).join(" "));
    for (const o of t.options) putOption(t.name, o);
    if (t.commands.length) put(`cmds ${t.name}`, t.commands.map((c) => c.name).join(" "));
    for (const c of t.commands) {
      if (c.options.length) {
        put(`copts ${t.name} ${c.name}`, c.options.map((o) => `--${o.name}`).join(" "));
      }
      for (const o of c.options) putOption(t.name, o);
      if (c.args.length) {
        const codes = c.args.map(slotCode);
        if (c.repeatLast) codes[codes.length - 1] += "+";
        put(`args ${t.name} ${c.name}`, codes.join(" "));
      }
    }
  }
  return [...data].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
