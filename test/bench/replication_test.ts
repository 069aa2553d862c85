/**
 * Smoke test of bench/replication.ts: a `--quick` run on two namespaces finishes and prints
 * every row of its table (throughput, latency, full sync, resyncs), each with a number. No
 * figure is judged: the bench measures, the test only proves it still runs.
 */
import assert from "node:assert/strict";
import { netnsAvailable } from "../cluster/netns.ts";
import { have } from "../cluster/helpers.ts";

const BENCH = decodeURIComponent(new URL("../../bench/replication.ts", import.meta.url).pathname);
const CAN = have("fio") && have("nbdkit") && await netnsAvailable();

Deno.test({
  name: "deno task bench:replication --quick prints the throughput, sync and resync rows",
  ignore: !CAN,
  async fn() {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", BENCH, "--quick"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    const text = dec.decode(out.stdout);
    assert.equal(out.code, 0, `${text}\n${dec.decode(out.stderr)}`);
    const rows = [
      /1 MiB seq write QD32, MB\/s: replicated \(C\) vs StandAlone/,
      /1 MiB seq write QD32, MB\/s: StandAlone vs nbdkit file/,
      /1 MiB seq write QD32, MB\/s: replicated \(C\) vs the link's stream ceiling/,
      /4 KiB write QD1, mean µs: replicated \(C\) vs StandAlone/,
      /4 KiB write QD1, mean µs: replicated − StandAlone vs the link's round trip/,
      /full sync, MB\/s: primary --force to UpToDate vs raw copy/,
      /resync after the StandAlone fio jobs/,
      /resync 1% of the blocks dirty/,
      /resync 10% of the blocks dirty/,
      /resync 1% vs 10% of the blocks dirty/,
    ];
    for (const row of rows) {
      const line = text.split("\n").find((l) => row.test(l));
      assert.ok(line, `no row ${row} in:\n${text}`);
      // udrbd, anchor and ratio columns carry finite numbers
      const cells = line.split("|").map((c) => c.trim());
      for (const cell of cells.slice(2, 5)) {
        assert.ok(Number.isFinite(Number(cell)), `${cell} in ${line}`);
      }
    }
  },
});

Deno.test({
  name: "bench:replication --quick --json --reps 2 gives the medians of both repetitions",
  ignore: !CAN,
  async fn() {
    const out = await new Deno.Command(Deno.execPath(), {
      // two repetitions: the second starts from the first one's leftovers (metadata, nbdkit)
      args: ["run", "-A", "--quiet", BENCH, "--quick", "--json", "--size", "16M", "--reps", "2"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    assert.equal(out.code, 0, dec.decode(out.stderr));
    const j = JSON.parse(dec.decode(out.stdout));
    assert.equal(j.reps.length, 2);
    assert.ok(j.summary.seqWriteMBps.replicated > 0);
    assert.ok(j.summary.fullSync.MBps > 0);
    assert.deepEqual(
      j.summary.resync.map((r: { label: string }) => r.label),
      ["after the StandAlone fio jobs", "1% of the blocks dirty", "10% of the blocks dirty"],
    );
    // the 10% run dirtied ten times the blocks of the 1% run, as status counted them
    const [, one, ten] = j.summary.resync;
    assert.ok(Math.abs(ten.bytes / one.bytes - 10) < 0.5, `${one.bytes} vs ${ten.bytes}`);
  },
});
