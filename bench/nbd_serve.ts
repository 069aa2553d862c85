/**
 * Exports a file (or block device) over NBD until interrupted; for tests, benchmarks and manual
 * poking with nbdinfo, qemu-io, nbdsh.
 *
 *     deno run -A bench/nbd_serve.ts FILE --socket PATH [--tcp PORT] [--name NAME] [--read-only]
 *       [--async-io] [--verbose]
 *
 * Prints "ready" on stdout once listening.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { FileBlockDevice, NbdServer } from "../lib/nbd/mod.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    socket: { type: "string" },
    tcp: { type: "string" },
    name: { type: "string", default: "" },
    "read-only": { type: "boolean", default: false },
    "async-io": { type: "boolean", default: false },
    verbose: { type: "boolean", default: false },
  },
});
if (positionals.length !== 1 || (!values.socket && !values.tcp)) {
  console.error("usage: nbd_serve.ts FILE --socket PATH [--tcp PORT] [--name N] [--read-only]");
  Deno.exit(2);
}
const device = FileBlockDevice.open(positionals[0], {
  readOnly: values["read-only"],
  asyncIo: values["async-io"],
});
const server = NbdServer.listen({
  device,
  name: values.name,
  path: values.socket,
  tcp: values.tcp ? { port: Number(values.tcp) } : undefined,
  log: values.verbose ? (m) => console.error(m) : undefined,
});
const stop = async () => {
  await server.close();
  device.close();
  Deno.exit(0);
};
Deno.addSignalListener("SIGTERM", stop);
Deno.addSignalListener("SIGINT", stop);
console.log("ready");
