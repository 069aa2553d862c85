/**
 * Resync progress while someone waits for it (`drbdadm wait-sync`, `drbdsetup wait-sync-*`):
 * one line with /proc/drbd's bar for each awaited peer device, redrawn from the daemon's state
 * as the resync goes on. drbdsetup 9.22 waits silently; this line is udrbd's addition for a
 * person at a terminal, and the caller draws it only there.
 *
 * @module
 */
import { connectDaemon } from "../control/client.ts";
import { ProgressLine } from "../util/progress.ts";
import { connectionState84, progressLines } from "./proc.ts";
import { sortConnections, sortPeerDevices } from "./text.ts";
import type { ResourceStatus } from "./types.ts";
import { hasSyncDetails } from "./types.ts";

/** The peer devices a wait-sync waits for: a resource, or one connection, or one volume. */
export interface SyncSelection {
  resource: string;
  /** Only this peer (wait-sync-connection, wait-sync-volume). */
  peerNodeId?: number;
  /** Only this volume (wait-sync-volume). */
  volume?: number;
}

const SYNCING = new Set(["SyncSource", "SyncTarget", "VerifyS", "VerifyT"]);

/**
 * The progress line for `selection` in a snapshot: per peer device `res/vol peer:` followed by
 * the /proc/drbd bar and time to finish while it resyncs or verifies, else its state
 * (`Connecting`, `Established`, `PausedSyncT`…); several are separated by ` | `. Empty when
 * nothing is selected.
 */
export function syncProgressText(
  resources: readonly ResourceStatus[],
  selection: SyncSelection,
): string {
  const parts: string[] = [];
  for (const r of resources) {
    if (r.name !== selection.resource) continue;
    for (const c of sortConnections(r.connections)) {
      const peer = c["peer-node-id"];
      if (selection.peerNodeId !== undefined && peer !== selection.peerNodeId) continue;
      for (const pd of sortPeerDevices(c.peer_devices)) {
        if (selection.volume !== undefined && pd.volume !== selection.volume) continue;
        const who = `${r.name}/${pd.volume} ${c.name || `node-id:${peer}`}:`;
        const cs = connectionState84(c, pd);
        if (SYNCING.has(cs) && hasSyncDetails(pd)) {
          const [bar, finish] = progressLines(pd, cs);
          const left = /finish: \S+/.exec(finish)?.[0];
          parts.push(`${who} ${bar.trim()}${left ? ` ${left}` : ""}`);
        } else {
          const state = c["connection-state"] === "Connected"
            ? pd["replication-state"]
            : c["connection-state"];
          parts.push(`${who} ${state}`);
        }
      }
    }
  }
  return parts.join(" | ");
}

/** Options of {@link watchSyncProgress}. */
export interface WatchSyncProgressOptions {
  /** Stops watching and erases the line. */
  signal: AbortSignal;
  /** The daemon's run directory (default: `$UDRBD_RUN_DIR` or /run/udrbd). */
  runDir?: string;
  /** Where the line is drawn (default: a {@link ProgressLine} on stderr). */
  line?: ProgressLine;
}

/**
 * Draws {@link syncProgressText} for `selection` from the daemon's state (redrawn on each
 * change and every second) until `signal` aborts, then erases it. It never fails: without a
 * daemon, or when the daemon goes away, there is simply no line.
 */
export async function watchSyncProgress(
  selection: SyncSelection,
  options: WatchSyncProgressOptions,
): Promise<void> {
  const { signal } = options;
  const line = options.line ?? new ProgressLine();
  const client = await connectDaemon({ runDir: options.runDir, start: false }).catch(() =>
    undefined
  );
  try {
    if (!client || signal.aborted) return;
    await client.call("watch", { args: { resource: selection.resource } }, {
      signal,
      onEvent: (e) => {
        if (signal.aborted) return;
        const text = syncProgressText(e as ResourceStatus[], selection);
        if (text) line.update(text);
        else line.clear();
      },
    });
  } catch {
    // progress is a courtesy: it must never be the reason a wait fails
  } finally {
    line.clear();
    await client?.close().catch(() => {});
  }
}
