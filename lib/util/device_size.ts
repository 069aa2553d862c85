/**
 * The size of a backing device: a regular file's is in its stat, a block device's only at its
 * end (stat says 0), found by seeking.
 *
 * @module
 */

/** Bytes of the block device `path`: where a seek to its end lands. */
export function blockDeviceBytes(path: string): number {
  const f = Deno.openSync(path, { read: true });
  try {
    return f.seekSync(0, Deno.SeekMode.End);
  } finally {
    f.close();
  }
}

/** Bytes of a regular file or a block device. */
export function deviceBytes(path: string): number {
  const st = Deno.statSync(path);
  return st.isFile ? st.size : blockDeviceBytes(path);
}
