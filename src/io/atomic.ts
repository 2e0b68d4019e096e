// src/io/atomic.ts: crash-safe file writes. A reader sees either the old file or the complete
// new one, never a half-written checkpoint, even if the process dies mid-write.
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
