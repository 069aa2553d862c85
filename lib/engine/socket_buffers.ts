/**
 * A connection's `sndbuf-size` and `rcvbuf-size` net options as the transport takes them.
 *
 * @module
 */

import type { BufferSizes } from "../wire/mod.ts";
import { parseNumeric } from "../options/lookup.ts";

/** The socket buffer sizes in bytes that `net` names (0, the default: Linux's autotuning). */
export function bufferSizesOf(net: Record<string, string>): BufferSizes {
  const bytes = (value: string | undefined) => Number(parseNumeric(value ?? "0") ?? 0n);
  return { sndbuf: bytes(net["sndbuf-size"]), rcvbuf: bytes(net["rcvbuf-size"]) };
}
