/**
 * `drbdadm adjust-with-progress`: the step engine with drbdadm 9.22's stage report. Loaded only
 * for that command.
 *
 * @module
 */

import type { Resource } from "../config/types.ts";
import type { AdmCommand } from "./commands.ts";
import { type Ctx, Engine, type Sleeps, type Stage, STAGES } from "./engine.ts";

/** drbdadm's names of the configuration stages in adjust-with-progress's report. */
const STAGE_TITLES: Record<Stage, string> = {
  "prereq": "create res",
  "resource": "adjust res",
  "disk-prep-down": "prepare disk",
  "disk-prep-up": "prepare disk",
  "net-disconnect": "prepare net",
  "net-prep-down": "prepare net",
  "net-prep-up": "prepare net",
  "net-path": "prepare net",
  "net": "adjust net",
  "peer-device": "adjust peer_devices",
  "disk": "adjust disk",
  "net-connect": "attempt to connect",
};

/** Stages whose failure makes later stages skip the resource, as in drbdadm. */
const PREREQ_STAGES = new Set<Stage>([
  "prereq",
  "disk-prep-down",
  "disk-prep-up",
  "net-prep-down",
  "net-prep-up",
]);

/**
 * The engine of `drbdadm adjust-with-progress`: every step's stderr is hidden, and the
 * deferred stages report on stdout as drbdadm 9.22 does —
 *
 * ```
 * [
 *      create res: r0 r1
 *    prepare disk: r0 r1
 *     adjust disk: r0 r1:failed(attach:10)
 * attempt to connect: r0 r1
 * ]
 * ```
 *
 * — one line per stage that has work, the resources as each is reached, `:failed(cmd:code)`
 * after a failed step and ` [skipped:res]` for a resource an earlier failure ruled out. Unlike
 * plain adjust, a failed stage does not end the run: every stage is tried, and the exit code is
 * 1 if any failed.
 */
export class AdjustProgressEngine extends Engine {
  #deferred = new Map<Stage, Ctx[]>(STAGES.map((s) => [s, []]));

  override system(
    argv: string[],
    sleeps: Sleeps,
    resName: string | undefined,
    _quiet?: boolean,
    env?: Record<string, string>,
  ): Promise<number> {
    return super.system(argv, sleeps, resName, true, env);
  }

  override schedule(cmd: AdmCommand, ctx: Ctx, stage: Stage, once = false): void {
    const list = this.#deferred.get(stage)!;
    const same = (d: Ctx) =>
      d.cmd === cmd && d.res === ctx.res && d.conn === ctx.conn && d.vol?.vnr === ctx.vol?.vnr;
    if (once && list.some(same)) return;
    list.push({ ...ctx, cmd });
  }

  override async runDeferred(): Promise<number> {
    const { io } = this;
    const say = (text: string) => {
      io.out(text);
      io.flush();
    };
    const skip = new Set<Resource>();
    let failed = false;
    say("[");
    for (const stage of STAGES) {
      const list = this.#deferred.get(stage)!;
      this.#deferred.set(stage, []);
      if (list.length > 0) say(`\n${STAGE_TITLES[stage].padStart(15)}:`);
      let last: Resource | undefined;
      for (const ctx of list) {
        const res = ctx.res!;
        if (skip.has(res)) {
          if (res !== last) say(` [skipped:${res.name}]`);
        } else {
          if (res !== last) say(` ${res.name}`);
          const r = await this.callFn(ctx, false);
          if (r) {
            failed = true;
            if (PREREQ_STAGES.has(stage)) skip.add(res);
            say(`:failed(${ctx.cmd.name}:${r})`);
          }
        }
        last = res;
      }
    }
    say("\n]\n");
    return failed ? 1 : 0;
  }
}
