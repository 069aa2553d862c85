/**
 * The real drbdsetup 9.22 as a test oracle. Help texts need nothing special; everything else
 * drbdsetup refuses to do without the drbd kernel module, so {@link runRealDrbdsetup} runs it in
 * a private mount namespace (see oracle/run_drbdsetup.sh) with a small LD_PRELOAD library
 * (oracle/genl_shim.c, compiled once per test run with the system's C compiler) that answers
 * the netlink family query. A command line drbdsetup accepts ends with exit code 99 and the
 * request it would have sent, decoded into {@link OracleResult.attrs}.
 *
 * @module
 */

const DRBDSETUP = "/usr/sbin/drbdsetup";
const HERE = new URL("./oracle/", import.meta.url).pathname;

function has(cmd: string, args: string[]): boolean {
  try {
    return new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
}

/** Whether the real drbdsetup is installed (help texts can be compared). */
export const HAVE_DRBDSETUP = (() => {
  try {
    return Deno.statSync(DRBDSETUP).isFile;
  } catch {
    return false;
  }
})();

/** Whether the full oracle can run: drbdsetup, root, unshare, a C compiler. */
export const HAVE_ORACLE = HAVE_DRBDSETUP && Deno.uid() === 0 &&
  has("unshare", ["-m", "--propagation", "private", "true"]) && has("cc", ["--version"]);

/** What the real drbdsetup did. */
export interface OracleResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** For accepted lines (exit 99): the request's attributes, `[nest, attr, hex bytes]`. */
  attrs: [number, number, string][];
}

/** Runs `drbdsetup help ...`-style commands that need no kernel module. */
export function runHelp(args: string[]): OracleResult {
  const out = new Deno.Command(DRBDSETUP, { args, env: { LC_ALL: "C" } }).outputSync();
  const dec = new TextDecoder();
  return {
    exitCode: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    attrs: [],
  };
}

/** A compiled shim in a temporary folder; call {@link Oracle.close} to remove it. */
export class Oracle {
  #dir: string;
  #shim: string;
  private constructor(dir: string) {
    this.#dir = dir;
    this.#shim = `${dir}/genl_shim.so`;
  }
  /** Compiles the shim. */
  static create(): Oracle {
    const dir = Deno.makeTempDirSync({ prefix: "udrbd-setup-oracle-" });
    const o = new Oracle(dir);
    const cc = new Deno.Command("cc", {
      args: ["-shared", "-fPIC", "-O1", "-o", o.#shim, `${HERE}genl_shim.c`, "-ldl"],
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
    if (!cc.success) {
      o.close();
      throw new Error(`cc failed: ${new TextDecoder().decode(cc.stderr)}`);
    }
    return o;
  }
  /** Runs the real drbdsetup with `args` (without program name) in its namespace. */
  run(args: string[]): OracleResult {
    const out = new Deno.Command("unshare", {
      args: [
        "-m",
        "--propagation",
        "private",
        "sh",
        `${HERE}run_drbdsetup.sh`,
        this.#shim,
        ...args,
      ],
      env: { LC_ALL: "C" },
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
    const dec = new TextDecoder();
    const stderrAll = dec.decode(out.stderr);
    const attrs: [number, number, string][] = [];
    const stderr = stderrAll.split("\n").filter((line) => {
      const m = /^@@attr (\d+) (\d+) ([0-9a-f]*)$/.exec(line);
      if (m) attrs.push([Number(m[1]), Number(m[2]), m[3]]);
      return !line.startsWith("@@");
    }).join("\n");
    return { exitCode: out.code, stdout: dec.decode(out.stdout), stderr, attrs };
  }
  /** Removes the compiled shim. */
  close(): void {
    Deno.removeSync(this.#dir, { recursive: true });
  }
}

/** Little-endian unsigned value of an attribute's bytes (1, 2, 4 or 8 of them). */
export function attrNumber(hex: string): bigint {
  let v = 0n;
  for (let i = hex.length - 2; i >= 0; i -= 2) {
    v = (v << 8n) | BigInt(parseInt(hex.slice(i, i + 2), 16));
  }
  return v;
}
