/**
 * `drbdsetup xml-help CMD`: a command's arguments and options as XML, the form drbdadm reads to
 * learn which options drbdsetup accepts.
 *
 * @module
 */

import type { SetupCommand } from "./commands.ts";
import { fieldDef, fieldDefault } from "./fields.ts";
import type { OptionDef } from "../options/types.ts";

function fieldXml(def: OptionDef): string {
  const head = (type: string) => `\t<option name="${def.name}" type="${type}">\n`;
  switch (def.type) {
    case "boolean":
    case "flag":
      return head("boolean") + `\t\t<default>${fieldDefault(def)}</default>\n\t</option>\n`;
    case "numeric":
      return head("numeric") +
        `\t\t<min>${def.min}</min>\n\t\t<max>${def.max}</max>\n` +
        `\t\t<default>${fieldDefault(def)}</default>\n` +
        `\t\t<unit_prefix>${def.unitPrefix ?? "1"}</unit_prefix>\n` +
        (def.unit ? `\t\t<unit>${def.unit}</unit>\n` : "") + "\t</option>\n";
    case "enum":
      return head("handler") + def.values!.map((v) => `\t\t<handler>${v}</handler>\n`).join("") +
        "\t</option>\n";
    case "numeric-or-enum":
      return head("numeric-or-symbol") +
        `\t\t<min>${def.min}</min>\n\t\t<max>${def.max}</max>\n` +
        `\t\t<default>${fieldDefault(def)}</default>\n` +
        def.values!.map((v) => `\t\t<symbol>${v}</symbol>\n`).join("") + "\t</option>\n";
    case "string":
      return head("string") + "\t</option>\n";
  }
}

/** The XML description drbdsetup 9.22 prints for `xml-help CMD`. */
export function commandXml(c: SetupCommand): string {
  let out = `<command name="${c.name}">\n\t<summary>${c.summary}</summary>\n`;
  const ctx = c.context;
  if (ctx.kind === "single" && ctx.all) {
    out += "\t<group>\n" + ctx.args.map((a) => `\t\t<argument>${a}</argument>\n`).join("") +
      "\t\t<argument>all</argument>\n\t</group>\n";
  } else {
    out += ctx.args.map((a) => `\t<argument>${a}</argument>\n`).join("");
  }
  out += c.args.map((a) => `\t<argument>${a.name}</argument>\n`).join("");
  for (const o of c.options) {
    out += `\t<option name="${o.name}" type="${o.arg === "none" ? "flag" : "string"}">\n` +
      "\t</option>\n";
  }
  if (c.setDefaults) out += '\t<option name="set-defaults" type="flag">\n\t</option>\n';
  for (const f of c.fields) out += fieldXml(fieldDef(f));
  return out + "</command>\n";
}
