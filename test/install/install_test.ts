/**
 * `udrbd install` as an administrator meets it: into a temporary prefix, running what it
 * installed as real processes, and uninstalling exactly what it put there.
 */
import assert from "node:assert/strict";
import {
  formatManifest,
  install,
  type InstallSource,
  manifestPath,
  parseManifest,
  uninstall,
} from "../../lib/install/mod.ts";
import { compileV8Flags } from "../../lib/cli/v8_flags.ts";

const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname).replace(/\/$/, "");

/** Every path under `dir`, relative, sorted; links as `path -> target`, folders with `/`. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of Deno.readDirSync(rel ? `${dir}/${rel}` : dir)) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isSymlink) out.push(`${p} -> ${Deno.readLinkSync(`${dir}/${p}`)}`);
      else if (e.isDirectory) {
        out.push(`${p}/`);
        walk(p);
      } else out.push(p);
    }
  };
  walk("");
  return out.sort();
}

async function run(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  const o = await new Deno.Command(cmd, { args, cwd: "/", env, stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  return { code: o.code, out: dec.decode(o.stdout), err: dec.decode(o.stderr) };
}

/** A source that runs this checkout through deno, with its own completions and man pages. */
function sourceWithData(dataDir: string): InstallSource {
  return {
    kind: "source",
    deno: Deno.execPath(),
    modTs: `${ROOT}/mod.ts`,
    denoConfig: `${ROOT}/deno.json`,
    dataDir,
  };
}

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "udrbd-install-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("udrbd install from source puts drbdadm, drbdsetup, drbdmeta and drbd-overview in sbin, and they run from anywhere", async () => {
  await withTemp(async (dir) => {
    const prefix = `${dir}/usr`;
    const done = await run(Deno.execPath(), [
      "run",
      "-A",
      `${ROOT}/mod.ts`,
      "install",
      "--prefix",
      prefix,
    ]);
    assert.equal(done.code, 0, done.err);
    assert.match(done.out, new RegExp(`^write ${prefix}/sbin/drbdadm$`, "m"));
    for (const tool of ["udrbd", "drbdadm", "drbdsetup", "drbdmeta", "drbd-overview"]) {
      const st = Deno.statSync(`${prefix}/sbin/${tool}`);
      assert.equal(st.mode! & 0o777, 0o755, tool);
    }
    const env = { UDRBD_RUN_DIR: `${dir}/run`, PATH: "/usr/bin:/bin" };
    const meta = await run(`${prefix}/sbin/drbdmeta`, [], env);
    assert.match(meta.out + meta.err, /USAGE: drbdmeta /);
    const overview = await run(`${prefix}/sbin/drbd-overview`, ["--help"], env);
    assert.equal(overview.code, 0, overview.err);
    assert.match(overview.out, /^USAGE: drbd-overview/);
    const setup = await run(`${prefix}/sbin/drbdsetup`, ["status"], env);
    assert.equal(setup.code, 0, setup.err);
    assert.equal(setup.out, "# No currently configured DRBD found.\n");
    const udrbd = await run(`${prefix}/sbin/udrbd`, ["--version"], env);
    assert.match(udrbd.out, /^udrbd \d/);
    // The wrappers start deno with the V8 flags the compiled binary gets.
    const flags = compileV8Flags(Deno.readTextFileSync(`${ROOT}/deno.json`));
    assert.ok(flags.length > 0, "deno.json's compile task sets no V8 flags");
    const wrapper = Deno.readTextFileSync(`${prefix}/sbin/drbdadm`);
    for (const f of flags) assert.ok(wrapper.includes(f), `${f} missing from:\n${wrapper}`);

    const gone = await run(Deno.execPath(), [
      "run",
      "-A",
      `${ROOT}/mod.ts`,
      "install",
      "--uninstall",
      `--prefix=${prefix}`,
    ]);
    assert.equal(gone.code, 0, gone.err);
    assert.deepEqual(tree(dir), []);
  });
});

Deno.test("the systemd units start the daemon in the foreground and bring each resource up and down after it", async () => {
  await withTemp(async (dir) => {
    const prefix = `${dir}/opt`;
    const r = await install({ prefix, source: sourceWithData(`${dir}/none`) });
    assert.ok(r.ok, r.problems.join("\n"));
    const units = `${prefix}/lib/systemd/system`;
    const daemon = Deno.readTextFileSync(`${units}/udrbd.service`);
    assert.match(daemon, new RegExp(`^ExecStart=${prefix}/sbin/udrbd daemon --foreground$`, "m"));
    assert.match(daemon, /^\[Install\]\nWantedBy=multi-user.target$/m);
    const res = Deno.readTextFileSync(`${units}/drbd@.service`);
    for (
      const line of [
        "Requires=udrbd.service",
        "After=udrbd.service",
        "PartOf=drbd@%i.target",
        "Type=oneshot",
        "RemainAfterExit=yes",
        `ExecStart=${prefix}/sbin/drbdadm adjust %I`,
        `ExecReload=${prefix}/sbin/drbdadm adjust %I`,
        `ExecStopPost=${prefix}/sbin/drbdsetup down %I`,
      ]
    ) assert.ok(res.split("\n").includes(line), `drbd@.service lacks ${line}:\n${res}`);
    const target = Deno.readTextFileSync(`${units}/drbd@.target`);
    assert.ok(target.split("\n").includes("Requires=drbd@%i.service"), target);
    assert.match(target, /^\[Install\]\nWantedBy=multi-user.target$/m);
    for (const name of ["udrbd.service", "drbd@.service", "drbd@.target"]) {
      assert.equal(Deno.statSync(`${units}/${name}`).mode! & 0o777, 0o644, name);
    }
  });
});

Deno.test("completions and man pages present in the checkout are installed where bash, zsh, fish and man look", async () => {
  await withTemp(async (dir) => {
    const data = `${dir}/src`;
    Deno.mkdirSync(`${data}/completions`, { recursive: true });
    Deno.mkdirSync(`${data}/man`);
    Deno.writeTextFileSync(`${data}/completions/README.md`, "about\n");
    Deno.writeTextFileSync(
      `${data}/completions/udrbd.bash`,
      "_udrbd() { :; }\ncomplete -F _udrbd drbdadm drbdsetup udrbd\n",
    );
    Deno.writeTextFileSync(`${data}/completions/_udrbd`, "#compdef drbdadm udrbd\n");
    Deno.writeTextFileSync(`${data}/completions/udrbd.fish`, "complete -c drbdmeta -f\n");
    Deno.writeTextFileSync(`${data}/man/drbdadm.8`, ".TH DRBDADM 8\n");
    Deno.writeTextFileSync(`${data}/man/drbd.conf.5`, ".TH DRBD.CONF 5\n");
    Deno.writeTextFileSync(`${data}/man/README.md`, "about\n");
    const prefix = `${dir}/p`;
    const r = await install({ prefix, source: sourceWithData(data) });
    assert.ok(r.ok, r.problems.join("\n"));
    const share = tree(`${prefix}/share`).filter((p) => !p.endsWith("/"));
    assert.deepEqual(share, [
      "bash-completion/completions/drbdadm -> udrbd",
      "bash-completion/completions/drbdsetup -> udrbd",
      "bash-completion/completions/udrbd",
      "fish/vendor_completions.d/drbdmeta.fish -> udrbd.fish",
      "fish/vendor_completions.d/udrbd.fish",
      "man/man5/drbd.conf.5",
      "man/man8/drbdadm.8",
      "udrbd/manifest",
      "zsh/site-functions/_udrbd",
    ]);
    assert.equal(
      Deno.readTextFileSync(`${prefix}/share/man/man8/drbdadm.8`),
      ".TH DRBDADM 8\n",
    );
  });
});

Deno.test("uninstall removes exactly what install added and leaves the files that were there before", async () => {
  await withTemp(async (dir) => {
    const prefix = `${dir}/usr/local`;
    Deno.mkdirSync(`${prefix}/sbin`, { recursive: true });
    Deno.mkdirSync(`${prefix}/share/man/man8`, { recursive: true });
    Deno.writeTextFileSync(`${prefix}/sbin/other-tool`, "#!/bin/sh\n");
    Deno.writeTextFileSync(`${prefix}/share/man/man8/other.8`, ".TH OTHER 8\n");
    const before = tree(dir);
    const data = `${dir}/src`;
    Deno.mkdirSync(`${data}/man`, { recursive: true });
    Deno.writeTextFileSync(`${data}/man/drbdsetup.8`, ".TH DRBDSETUP 8\n");
    const r = await install({ prefix, source: sourceWithData(data) });
    assert.ok(r.ok, r.problems.join("\n"));
    Deno.removeSync(data, { recursive: true });

    const manifest = parseManifest(Deno.readTextFileSync(manifestPath(prefix)));
    const added = tree(dir).filter((p) => !before.includes(p)).map((p) => `${dir}/${p}`);
    const listed = manifest.map((e) => e.kind === "dir" ? `${e.path}/` : e.path);
    assert.deepEqual(
      added.filter((p) => p !== manifestPath(prefix)).sort(),
      listed.sort(),
      "the manifest lists everything install added, and nothing else",
    );

    const dry = await uninstall({ prefix, dryRun: true });
    assert.ok(dry.ok);
    assert.ok(dry.actions.includes(`remove ${prefix}/sbin/drbdadm`), dry.actions.join("\n"));
    assert.equal(tree(dir).length, before.length + added.length, "a dry run changes nothing");

    const u = await uninstall({ prefix });
    assert.ok(u.ok, u.problems.join("\n"));
    assert.deepEqual(tree(dir), before);
    const again = await uninstall({ prefix });
    assert.equal(again.ok, false);
    assert.match(again.problems[0], /udrbd is not installed under .*\/usr\/local \(no /);
  });
});

Deno.test("install refuses to overwrite a drbdadm it did not put there, and then changes nothing", async () => {
  await withTemp(async (dir) => {
    const prefix = `${dir}/p`;
    Deno.mkdirSync(`${prefix}/sbin`, { recursive: true });
    Deno.writeTextFileSync(`${prefix}/sbin/drbdadm`, "#!/bin/sh\necho the real drbdadm\n");
    const before = tree(dir);
    const r = await install({ prefix, source: sourceWithData(`${dir}/none`) });
    assert.equal(r.ok, false);
    assert.deepEqual(r.problems, [
      `${prefix}/sbin/drbdadm exists and was not installed by udrbd; not overwriting it`,
      "nothing installed: move those files away (or uninstall them) first",
    ]);
    assert.deepEqual(tree(dir), before);
    assert.equal(
      Deno.readTextFileSync(`${prefix}/sbin/drbdadm`),
      "#!/bin/sh\necho the real drbdadm\n",
    );
  });
});

Deno.test("uninstall keeps a unit file edited since install, says so, and finishes once it is dealt with", async () => {
  await withTemp(async (dir) => {
    const prefix = `${dir}/p`;
    assert.ok((await install({ prefix, source: sourceWithData(`${dir}/none`) })).ok);
    const unit = `${prefix}/lib/systemd/system/udrbd.service`;
    Deno.writeTextFileSync(unit, "\n# local tweak\n", { append: true });
    const u = await uninstall({ prefix });
    assert.equal(u.ok, false);
    assert.ok(
      u.problems.includes(`${unit} was changed since udrbd installed it; not removing it`),
      u.problems.join("\n"),
    );
    assert.deepEqual(tree(prefix), [
      "lib/",
      "lib/systemd/",
      "lib/systemd/system/",
      "lib/systemd/system/udrbd.service",
      "share/",
      "share/udrbd/",
      "share/udrbd/manifest",
    ]);
    // a second install will not overwrite the edited file either
    const re = await install({ prefix, source: sourceWithData(`${dir}/none`) });
    assert.equal(re.ok, false);
    assert.match(re.problems[0], /udrbd\.service was changed since udrbd installed it/);

    Deno.removeSync(unit);
    const done = await uninstall({ prefix });
    assert.ok(done.ok, done.problems.join("\n"));
    assert.deepEqual(tree(dir), []);
  });
});

Deno.test("installing again replaces udrbd's own files and removes what it no longer installs; --dry-run changes nothing", async () => {
  await withTemp(async (dir) => {
    const prefix = `${dir}/p`;
    const data = `${dir}/src`;
    Deno.mkdirSync(`${data}/man`, { recursive: true });
    Deno.writeTextFileSync(`${data}/man/drbdmeta.8`, ".TH DRBDMETA 8\n");
    assert.ok((await install({ prefix, source: sourceWithData(data) })).ok);
    Deno.removeSync(`${data}/man/drbdmeta.8`);
    const other = { ...sourceWithData(data), modTs: `${dir}/elsewhere/mod.ts` };

    const before = tree(dir);
    const dry = await install({ prefix, source: other, dryRun: true });
    assert.ok(dry.ok);
    assert.ok(dry.actions.includes(`write ${prefix}/sbin/drbdadm`), dry.actions.join("\n"));
    assert.ok(
      dry.actions.includes(`remove ${prefix}/share/man/man8/drbdmeta.8 (no longer installed)`),
      dry.actions.join("\n"),
    );
    assert.deepEqual(tree(dir), before);

    const r = await install({ prefix, source: other });
    assert.ok(r.ok, r.problems.join("\n"));
    assert.match(
      Deno.readTextFileSync(`${prefix}/sbin/drbdadm`),
      /elsewhere\/mod\.ts' drbdadm "\$@"/,
    );
    assert.throws(() => Deno.statSync(`${prefix}/share/man/man8/drbdmeta.8`), Deno.errors.NotFound);
    // installing the same again is no change at all but the manifest
    const same = await install({ prefix, source: other });
    assert.deepEqual(same.actions, [`write ${manifestPath(prefix)}`]);
    assert.ok((await uninstall({ prefix })).ok);
    assert.deepEqual(tree(dir), ["src/", "src/man/"]);
  });
});

Deno.test("a compiled udrbd is installed as links to itself that run under each tool's name", async () => {
  await withTemp(async (dir) => {
    const binary = `${dir}/dist/udrbd`;
    Deno.mkdirSync(`${dir}/dist`);
    // stands in for the compiled binary: says the name it was invoked as, as mod.ts reads it
    Deno.writeTextFileSync(binary, '#!/bin/sh\necho "invoked as ${0##*/}: $*"\n', { mode: 0o755 });
    Deno.chmodSync(binary, 0o755);
    const prefix = `${dir}/p`;
    const r = await install({ prefix, source: { kind: "binary", binary } });
    assert.ok(r.ok, r.problems.join("\n"));
    assert.ok(
      r.actions.includes(`link ${prefix}/sbin/drbdsetup -> ${binary}`),
      r.actions.join("\n"),
    );
    const out = await run(`${prefix}/sbin/drbdsetup`, ["status", "r0"]);
    assert.equal(out.out, "invoked as drbdsetup: status r0\n");
    assert.ok((await uninstall({ prefix })).ok);
    assert.deepEqual(tree(dir), ["dist/", "dist/udrbd"]);
  });
});

Deno.test("the install manifest reads back what it records and names a damaged line", () => {
  const entries = [
    { kind: "dir" as const, path: "/p/share/udrbd" },
    { kind: "file" as const, path: "/p/sbin/drbd adm", sha256: "ab".repeat(32) },
    { kind: "link" as const, path: "/p/sbin/drbdmeta", target: "/opt/udrbd/udrbd" },
  ];
  assert.deepEqual(parseManifest(formatManifest(entries)), entries);
  assert.throws(
    () => parseManifest("# head\nfile\tnot-a-digest\t/p/x\n"),
    /^SyntaxError: manifest line 2 is not an entry: file\tnot-a-digest\t\/p\/x$/,
  );
});
