/**
 * `drbdadm dump` and `drbdadm dump-xml` printers, byte-for-byte as drbdadm 9.22.
 *
 * @module
 */

import type {
  Address,
  Config,
  Connection,
  HostAddress,
  HostSection,
  OptionList,
  OptionSections,
  ProxyInfo,
  Resource,
  Volume,
} from "./types.ts";

/** Options for {@link dumpConfig} and {@link dumpXml}. */
export interface DumpOptions {
  /**
   * Print the file header, `global` and `common` (drbdadm does for `dump`/`dump all`, not when
   * resources are named). Default true.
   */
  header?: boolean;
  /** `-v`: print implicit sections as drbdadm's verbose dump. */
  verbose?: boolean;
}

/**
 * drbdadm's esc(): quotes a value for drbd.conf when it is empty, longer than 80 characters or
 * contains characters outside `[a-zA-Z0-9/._-]`, escaping `"` and `\`.
 */
export function escConf(s: string | undefined): string {
  if (!s) return '""';
  if (s.length > 80 || !isWord(s)) return `"${s.replace(/["\\]/g, (c) => "\\" + c)}"`;
  return s;
}

/** True when every character is one of `[a-zA-Z0-9/._-]` (a regex costs more, cold). */
function isWord(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (
      !((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 47 ||
        c === 46 || c === 95 || c === 45)
    ) return false;
  }
  return true;
}

/** drbdadm's esc_xml(): entity-encodes `' " < > &`. */
export function escXml(s: string | undefined): string {
  if (!s) return "";
  return s.replace(
    /['"<>&]/g,
    (c) => ({ "'": "&apos;", '"': "&quot;", "<": "&lt;", ">": "&gt;", "&": "&amp;" })[c]!,
  );
}

/** Strings of n blanks (indentation and padding; a dump prints thousands of lines). */
const BLANKS: string[] = [];

function blanks(n: number): string {
  return n <= 0 ? "" : BLANKS[n] ??= " ".repeat(n);
}

/**
 * The text being printed, as a list of pieces joined once at the end: appending to one string
 * would build two rope nodes per line, and the garbage costs young-generation collections.
 */
class Out {
  #parts: string[] = [];
  indent = 0;

  get text(): string {
    return this.#parts.join("");
  }

  /** printI */
  i(s: string): void {
    this.#parts.push(blanks(4 * this.indent), s);
  }

  /** printA: name left-justified to 24 - 4*indent, value right-justified to 3. */
  a(name: string, value: string): void {
    const w = 24 - 4 * this.indent;
    this.#parts.push(
      blanks(4 * this.indent),
      name,
      blanks(Math.max(w - name.length, 0) + 1),
      blanks(3 - value.length),
      value,
      ";\n",
    );
  }

  raw(s: string): void {
    this.#parts.push(s);
  }
}

function startupList(s: OptionSections): OptionList {
  const list = s.startupOptions;
  // drbdadm appends the flag to a list head copied by value: lost when that list is empty
  if (!s.stackedTimeouts || (s.startupFromSection && list.length === 0)) return list;
  return [...list, {
    name: "stacked-timeouts",
    value: undefined,
    quoted: false,
    inherited: false,
    pos: { file: "", line: 0 },
  }];
}

// --- text dump ---------------------------------------------------------------------------------

function opts(o: Out, list: OptionList): void {
  for (let optIdx = 0; optIdx < list.length; optIdx++) {
    const opt = list[optIdx];
    if (opt.value !== undefined) o.a(opt.name, escConf(opt.value));
    else o.i(`${opt.name};\n`);
  }
}

function section(o: Out, name: string, list: OptionList, extra?: OptionList, plugins = false) {
  if (list.length === 0 && (!extra || extra.length === 0)) return;
  o.i(`${name} {\n`);
  o.indent++;
  opts(o, list);
  if (extra) {
    if (plugins) section(o, "plugin", extra);
    else opts(o, extra);
  }
  o.indent--;
  o.i("}\n");
}

function sections(o: Out, s: OptionSections): void {
  section(o, "options", s.resOptions);
  section(o, "net", s.netOptions);
  section(o, "disk", s.diskOptions, s.pdOptions);
  section(o, "startup", startupList(s));
  section(o, "proxy", s.proxyOptions, s.proxyPlugins, true);
  section(o, "handlers", s.handlers);
}

function address(o: Out, name: string, a: Address, postfix: string): void {
  const addr = a.af === "ipv6" ? `[${a.addr}]` : a.addr;
  o.i(`${name.padEnd(16)} ${a.af} ${addr}:${a.port}${postfix}`);
}

function proxyInfo(o: Out, prefix: string, p: ProxyInfo): void {
  o.i(`${prefix}proxy on ${p.onHosts.join(" ")} {\n`);
  o.indent++;
  if (p.inside) address(o, "inside", p.inside, ";\n");
  if (p.outside) address(o, "outside", p.outside, ";\n");
  section(o, "options", p.options, p.plugins, true);
  o.indent--;
  o.i("}\n");
}

function volume(o: Out, hasLower: boolean, vol: Volume, verbose: boolean): void {
  if (!vol.implicit) {
    o.i(`volume ${vol.vnr} {\n`);
    o.indent++;
  }
  const remote = vol.minor === -1 && !vol.device && vol.disk === undefined && !vol.metaDisk &&
    !vol.metaIndex;
  if (!remote) {
    section(o, "disk", vol.diskOptions, vol.pdOptions);
    if (vol.parsedDevice || verbose) {
      o.i("device" + " ".repeat(Math.max(0, 19 - 4 * o.indent)));
      if (vol.device) o.raw(`${escConf(vol.device)} `);
      o.raw(`minor ${vol.minor};\n`);
    }
    if (!hasLower && (vol.parsedDisk || verbose)) o.a("disk", escConf(vol.disk ?? "none"));
    if (!hasLower && (vol.parsedMetaDisk || verbose) && vol.metaDisk) {
      if (vol.metaIndex === "flexible") {
        o.i(`${"meta-disk".padEnd(16)} ${escConf(vol.metaDisk)};\n`);
      } else if (vol.metaIndex === "internal") o.a("meta-disk", "internal");
      else o.i(`${"meta-disk".padEnd(16)} ${escConf(vol.metaDisk)} [${vol.metaIndex}];\n`);
    }
  }
  // drbdadm jumps to the closing brace for a peer's empty volume even when it is implicit
  if (!vol.implicit || remote) {
    o.indent--;
    o.i("}\n");
  }
}

function hostInfo(o: Out, h: HostSection, verbose: boolean): void {
  if (h.implicit && !verbose) return;
  if (h.lower) {
    o.i(`stacked-on-top-of ${escConf(h.lower.name)} {\n`);
    o.indent++;
    o.i(`# on ${h.names.join(" ")} \n`);
  } else if (h.byAddress) {
    address(o, "floating", h.address!, " {\n");
    o.indent++;
  } else {
    o.i(`on ${h.names.join(" ")} {\n`);
    o.indent++;
  }
  o.i(`node-id ${h.nodeId ?? "(null)"};\n`);
  section(o, "options", h.options);
  for (let volIdx = 0; volIdx < h.volumes.length; volIdx++) {
    const vol = h.volumes[volIdx];
    if (vol.parsedDevice || vol.parsedDisk || vol.parsedMetaDisk || verbose) {
      volume(o, !!h.lower, vol, verbose);
    }
  }
  if (!h.byAddress && h.address?.addr) address(o, "address", h.address, ";\n");
  if (h.proxy && !verbose) proxyInfo(o, "", h.proxy);
  o.indent--;
  o.i("}\n");
}

function hostAddresses(o: Out, list: HostAddress[], verbose: boolean): void {
  for (let haIdx = 0; haIdx < list.length; haIdx++) {
    const ha = list[haIdx];
    if (ha.byAddress || ha.fakedHostname) {
      address(o, "address", ha.address!, `${ha.proxy ? " " : "; "}# on ${ha.name}\n`);
    } else {
      o.i(`host ${ha.name}`);
      if (ha.parsedAddress || (verbose && ha.address?.addr)) {
        const a = ha.address!;
        address(o, " address", a, "");
      } else if (ha.parsedPort) o.raw(` port ${ha.address!.port}`);
    }
    if (ha.proxy) proxyInfo(o, " via ", ha.proxy);
    else o.raw(";\n");
  }
}

function connection(o: Out, c: Connection, verbose: boolean): void {
  if (c.implicit && !verbose) return;
  o.i("connection");
  if (c.name) o.raw(` ${escConf(c.name)}`);
  o.raw(" {\n");
  o.indent++;
  const first = c.paths[0];
  if (first?.implicit && !verbose) hostAddresses(o, first.hosts, verbose);
  else {
    for (let pIdx = 0; pIdx < c.paths.length; pIdx++) {
      const p = c.paths[pIdx];
      o.i("path {\n");
      o.indent++;
      hostAddresses(o, p.hosts, verbose);
      o.indent--;
      o.i("}\n");
    }
  }
  section(o, "net", c.netOptions);
  section(o, "disk", c.pdOptions);
  for (let pdIdx = 0; pdIdx < c.peerDevices.length; pdIdx++) {
    const pd = c.peerDevices[pdIdx];
    if (pd.implicit && !verbose) continue;
    o.i(`volume ${pd.vnr} {\n`);
    o.indent++;
    section(o, "disk", pd.options);
    o.indent--;
    o.i("}\n");
  }
  o.indent--;
  o.i("}\n");
}

function resourceText(o: Out, config: Config, res: Resource, verbose: boolean): void {
  o.i(
    `# resource ${escConf(res.name)} on ${config.hostname}: ${
      res.ignore ? "ignored" : "not ignored"
    }, ${res.stacked ? "stacked" : "not stacked"}\n`,
  );
  o.i(`# defined at ${res.file}:${res.pos.line}\n`);
  o.i(`resource ${escConf(res.name)} {\n`);
  o.indent++;
  if (res.template) o.i(`template-file ${escConf(res.template.file)};\n`);
  for (let volIdx = 0; volIdx < res.volumes.length; volIdx++) {
    const vol = res.volumes[volIdx];
    if (!verbose && (vol.parsedDevice || vol.parsedDisk || vol.parsedMetaDisk)) {
      volume(o, res.stacked, vol, verbose);
    }
  }
  for (let hIdx = 0; hIdx < res.hosts.length; hIdx++) {
    const h = res.hosts[hIdx];
    hostInfo(o, h, verbose);
  }
  for (let cIdx = 0; cIdx < res.connections.length; cIdx++) {
    const c = res.connections[cIdx];
    connection(o, c, verbose);
  }
  if (!verbose) {
    for (let mIdx = 0; mIdx < res.meshes.length; mIdx++) {
      const m = res.meshes[mIdx];
      o.i("connection-mesh {\n");
      o.indent++;
      o.i("hosts" + m.hosts.map((h) => ` ${h}`).join("") + ";\n");
      section(o, "net", m.netOptions);
      o.indent--;
      o.i("}\n");
    }
  }
  sections(o, res);
  o.indent--;
  o.raw("}\n\n");
}

/**
 * The complete stdout of `drbdadm dump` for the given resources: with `header` (the default,
 * as for `dump` / `dump all`) the `# FILE` line, `global` and `common` sections first; then each
 * resource. Use the resources `loadConfig` selected.
 */
export function dumpConfig(
  config: Config,
  resources: Resource[],
  options: DumpOptions = {},
): string {
  const o = new Out();
  const verbose = !!options.verbose;
  if (options.header ?? true) {
    o.raw(`# ${config.file}\n`);
    const g = config.global;
    if (
      g.minorCount || g.disableIpVerification || g.dialogRefresh !== 1 ||
      g.usageCount !== "ask" || verbose
    ) {
      o.i("global {\n");
      o.indent++;
      if (g.disableIpVerification) o.i("disable-ip-verification;\n");
      if (g.minorCount) o.i(`minor-count ${g.minorCount};\n`);
      if (g.dialogRefresh !== 1) o.i(`dialog-refresh ${g.dialogRefresh};\n`);
      if (g.usageCount !== "ask") o.i(`usage-count ${g.usageCount};\n`);
      o.indent--;
      o.i("}\n\n");
    }
    if (config.common) {
      o.i("common {\n");
      o.indent++;
      sections(o, config.common);
      o.indent--;
      o.raw("}\n\n");
    }
  }
  for (let resIdx = 0; resIdx < resources.length; resIdx++) {
    const res = resources[resIdx];
    resourceText(o, config, res, verbose);
  }
  return o.text;
}

// --- XML dump ----------------------------------------------------------------------------------

function xopts(o: Out, list: OptionList): void {
  for (let optIdx = 0; optIdx < list.length; optIdx++) {
    const opt = list[optIdx];
    if (opt.value !== undefined) {
      o.i(`<option name="${opt.name}" value="${escXml(opt.value)}"/>\n`);
    } else o.i(`<option name="${opt.name}"/>\n`);
  }
}

function xsection(
  o: Out,
  name: string,
  list: OptionList,
  extra?: OptionList,
  plugins: "xml" | "text" | false = false,
) {
  if (list.length === 0 && (!extra || extra.length === 0)) return;
  o.i(`<section name="${name}">\n`);
  o.indent++;
  xopts(o, list);
  if (extra) {
    if (plugins === "xml") xsection(o, "plugin", extra);
    else if (plugins === "text") section(o, "plugin", extra);
    else xopts(o, extra);
  }
  o.indent--;
  o.i("</section>\n");
}

function xsections(o: Out, s: OptionSections, proxyPlugins: "xml" | "text"): void {
  xsection(o, "options", s.resOptions);
  xsection(o, "net", s.netOptions);
  xsection(o, "disk", s.diskOptions, s.pdOptions);
  xsection(o, "startup", startupList(s));
  xsection(o, "proxy", s.proxyOptions, s.proxyPlugins, proxyPlugins);
  xsection(o, "handlers", s.handlers);
}

function xaddr(a: Address | undefined): string {
  return `<address family="${a?.af ?? "(null)"}" port="${a?.port ?? "(null)"}">${
    a?.addr ?? "(null)"
  }</address>`;
}

function xproxy(o: Out, p: ProxyInfo): void {
  o.i(`<proxy hostname="${p.onHosts.join(" ")}">\n`);
  o.indent++;
  o.i(`<inside family="${p.inside?.af}" port="${p.inside?.port}">${p.inside?.addr}</inside>\n`);
  o.i(
    `<outside family="${p.outside?.af}" port="${p.outside?.port}">${p.outside?.addr}</outside>\n`,
  );
  xsection(o, "options", p.options, p.plugins, "xml");
  o.indent--;
  o.i("</proxy>\n");
}

function xvolume(o: Out, vol: Volume): void {
  o.i(`<volume vnr="${vol.vnr}">\n`);
  o.indent++;
  xsection(o, "disk", vol.diskOptions, vol.pdOptions);
  o.i(`<device minor="${vol.minor}">${escXml(vol.device)}</device>\n`);
  o.i(`<disk>${escXml(vol.disk)}</disk>\n`);
  if (vol.metaIndex) {
    if (vol.metaIndex === "flexible") o.i(`<meta-disk>${escXml(vol.metaDisk)}</meta-disk>\n`);
    else if (vol.metaIndex === "internal") o.i("<meta-disk>internal</meta-disk>\n");
    else {
      o.i(`<meta-disk index="${vol.metaIndex}">${escXml(vol.metaDisk)}</meta-disk>\n`);
    }
  }
  o.indent--;
  o.i("</volume>\n");
}

function xhost(o: Out, h: HostSection): void {
  if (h.byAddress) o.i('<host floating="1">\n');
  else o.i(`<host name="${h.names.join(" ")}">\n`);
  o.indent++;
  xsection(o, "options", h.options);
  for (let vIdx = 0; vIdx < h.volumes.length; vIdx++) {
    const v = h.volumes[vIdx];
    xvolume(o, v);
  }
  o.i(`${xaddr(h.address)}\n`);
  o.indent--;
  o.i("</host>\n");
}

function xconnection(o: Out, c: Connection, verbose: boolean): void {
  if (c.name) o.i(`<connection name="${escXml(c.name)}">\n`);
  else o.i("<connection>\n");
  o.indent++;
  const pairs = (list: HostAddress[]) => {
    for (let haIdx = 0; haIdx < list.length; haIdx++) {
      const ha = list[haIdx];
      o.i(`<host name="${ha.name}">`);
      if (ha.proxy) {
        o.raw("\n");
        o.indent++;
        o.i("");
      }
      o.raw(xaddr(ha.address?.addr ? ha.address : ha.hostInfo?.address));
      if (ha.proxy) {
        o.raw("\n");
        xproxy(o, ha.proxy);
        o.indent--;
        o.i("</host>\n");
      } else o.raw("</host>\n");
    }
  };
  const first = c.paths[0];
  if (first?.implicit && !verbose) pairs(first.hosts);
  else {
    for (let pIdx = 0; pIdx < c.paths.length; pIdx++) {
      const p = c.paths[pIdx];
      o.i("<path>\n");
      o.indent++;
      pairs(p.hosts);
      o.indent--;
      o.i("</path>\n");
    }
  }
  xsection(o, "net", c.netOptions);
  xsection(o, "disk", c.pdOptions);
  for (let pdIdx = 0; pdIdx < c.peerDevices.length; pdIdx++) {
    const pd = c.peerDevices[pdIdx];
    if (pd.implicit && !verbose) continue;
    o.i(`<volume vnr="${pd.vnr}">\n`);
    o.indent++;
    xsection(o, "disk", pd.options);
    o.indent--;
    o.i("</volume>\n");
  }
  o.indent--;
  o.i("</connection>\n");
}

/**
 * The complete stdout of `drbdadm dump-xml` for the given resources; with `header` (default,
 * as for `dump-xml` / `dump-xml all`) wrapped in `<config file="...">` with `global` and
 * `common`.
 */
export function dumpXml(config: Config, resources: Resource[], options: DumpOptions = {}): string {
  const o = new Out();
  const verbose = !!options.verbose;
  const header = options.header ?? true;
  if (header) {
    o.raw(`<config file="${config.file}">\n`);
    o.indent++;
    const g = config.global;
    if (g.minorCount || g.disableIpVerification || g.dialogRefresh !== 1) {
      o.i("<global>\n");
      o.indent++;
      if (g.disableIpVerification) o.i("<disable-ip-verification/>\n");
      if (g.minorCount) o.i(`<minor-count count="${g.minorCount}"/>\n`);
      if (g.dialogRefresh !== 1) o.i(`<dialog-refresh refresh="${g.dialogRefresh}"/>\n`);
      o.indent--;
      o.i("</global>\n");
    }
    if (config.common) {
      o.i("<common>\n");
      o.indent++;
      xsections(o, config.common, "text");
      o.indent--;
      o.i("</common>\n");
    }
  }
  for (let resIdx = 0; resIdx < resources.length; resIdx++) {
    const res = resources[resIdx];
    o.i(
      `<resource name="${escXml(res.name)}" conf-file-line="${
        escXml(res.file)
      }:${res.pos.line}">\n`,
    );
    o.indent++;
    if (res.template) o.i(`<template file="${escXml(res.template.file)}">\n`);
    for (let hIdx = 0; hIdx < res.hosts.length; hIdx++) {
      const h = res.hosts[hIdx];
      xhost(o, h);
    }
    for (let cIdx = 0; cIdx < res.connections.length; cIdx++) {
      const c = res.connections[cIdx];
      xconnection(o, c, verbose);
    }
    xsections(o, res, "xml");
    o.indent--;
    o.i("</resource>\n");
  }
  if (header) o.raw("</config>\n");
  return o.text;
}
