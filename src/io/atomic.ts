// src/io/atomic.ts: crash-safe file writes, the one way layerwise writes a file. A reader sees
// either the old file or the complete new one, never a half-written checkpoint, even if the
// process dies mid-write. A process killed mid-write leaves its temporary file behind
// (.<name>.<pid>.<time>.<n>.tmp); removeStaleTempFiles clears those of dead processes.
// node:fs and node:path are looked up when a write runs (io/node.ts), so browser bundles that
// reach this file through the Solver need no node: import.
import { nodeFs, nodePath as pathModule } from './node.js';

let counter = 0;

/**
 * Writes `data` to `path` atomically: into a temporary file in the same directory (so the
 * rename stays on one file system), fsync, rename over `path`, then fsync the directory so the
 * rename itself is durable. On any error the temporary file is removed and the error rethrown.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const fs = nodeFs('writeFileAtomic'),
    nodePath = pathModule('writeFileAtomic');
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const dir = nodePath.dirname(path);
  // Unique per process and call; opened with 'wx', so an existing file is never clobbered.
  const tag = `${process.pid}.${Date.now().toString(36)}.${(counter++).toString(36)}`;
  const tmp = nodePath.join(dir, `.${nodePath.basename(path)}.${tag}.tmp`);
  let fd: number | null = null;
  try {
    fd = fs.openSync(tmp, 'wx', 0o644);
    let off = 0;
    while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(tmp, path);
  } catch (e) {
    // Clean up as far as possible; the original error is the one worth reporting.
    if (fd !== null) ignoreErrors(() => fs.closeSync(fd as number));
    ignoreErrors(() => fs.unlinkSync(tmp)); // absent if open failed
    throw e;
  }
  syncDirectory(dir);
}

function ignoreErrors(f: () => void): void {
  try {
    f();
  } catch {
    // deliberately ignored (see callers)
  }
}

/** Best effort: some platforms (Windows) cannot open or fsync a directory. */
function syncDirectory(dir: string): void {
  const fs = nodeFs('writeFileAtomic');
  let fd: number | null = null;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // not supported here; the file itself is already synced
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

/** The temporary files writeFileAtomic names: .<name>.<pid>.<time36>.<counter36>.tmp */
const TEMP_FILE = /^\.(.+)\.([0-9]+)\.[0-9a-z]+\.[0-9a-z]+\.tmp$/;

/**
 * Removes the temporary files that writeFileAtomic left in `dir` when its process died
 * mid-write (a crash, SIGKILL, power loss), keeping those of processes still running (a
 * concurrent writer). Returns the names removed. Call it when a run starts in `dir`.
 */
export function removeStaleTempFiles(dir: string): string[] {
  const fs = nodeFs('removeStaleTempFiles'),
    nodePath = pathModule('removeStaleTempFiles');
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return []; // no folder yet: nothing left behind
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP_FILE.exec(name);
    if (m === null || processAlive(Number(m[2]))) continue;
    try {
      fs.unlinkSync(nodePath.join(dir, name));
      removed.push(name);
    } catch {
      // gone already, or not ours to remove: leave it
    }
  }
  return removed;
}

/** True when a process with this id runs (signal 0 tests without sending anything). */
function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: unknown }).code === 'EPERM'; // alive, owned by someone else
  }
}
