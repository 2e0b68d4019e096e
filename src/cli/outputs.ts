// src/cli/outputs.ts: the output paths of the commands (--out folders, --checkpoint files),
// checked or created BEFORE any work starts, so that a bad path fails at once with one line
// naming the flag and the path instead of an errno after minutes of training.
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { FileError } from './data.js';

/** A node:fs error's code and message, e.g. "EEXIST: file already exists, mkdir 'x'". */
function errnoText(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  const message = e instanceof Error ? e.message : String(e);
  return typeof code === 'string' && !message.startsWith(code) ? `${code}: ${message}` : message;
}

/**
 * Creates folder `dir` and its missing parents, one level at a time. Node's own recursive
 * mkdirSync loops forever when the parent exists but refuses new entries with ENOENT (as /proc
 * does: `mkdir /proc/x` gives ENOENT although /proc exists, so mkdirp retries the parent, finds
 * it, and tries again); here every level is made once and any failure is a FileError.
 */
export function makeOutputFolder(command: string, flag: string, dir: string): void {
  const missing: string[] = [];
  let at = resolve(dir);
  while (!existsSync(at)) {
    missing.unshift(at);
    const parent = dirname(at);
    if (parent === at) break;
    at = parent;
  }
  if (existsSync(at) && !statSync(at).isDirectory()) {
    const what = at === resolve(dir) ? 'exists and is not a folder' : `${at} is not a folder`;
    throw new FileError(command, dir, `cannot create the ${flag} folder: ${what}`);
  }
  for (const level of missing) {
    try {
      mkdirSync(level);
    } catch (e) {
      const code = (e as { code?: unknown } | null)?.code;
      if (code === 'EEXIST' && statSync(level).isDirectory()) continue; // made meanwhile
      const why =
        code === 'ENOENT'
          ? `${dirname(level)} does not accept new folders (${errnoText(e)})`
          : errnoText(e);
      throw new FileError(command, dir, `cannot create the ${flag} folder: ${why}`, { cause: e });
    }
  }
  try {
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw new FileError(command, dir, `the ${flag} folder is not writable (${errnoText(e)})`);
  }
}

/**
 * Checks that a file can be written at `path` later: its folder exists and is writable, and the
 * path itself is not a folder (which would end a long run with EISDIR).
 */
export function checkOutputFile(command: string, flag: string, path: string): void {
  if (existsSync(path) && statSync(path).isDirectory())
    throw new FileError(command, path, `is a folder; ${flag} names a file to write`);
  const folder = dirname(resolve(path));
  if (!existsSync(folder) || !statSync(folder).isDirectory())
    throw new FileError(command, path, `cannot write ${flag}: ${folder} is not a folder`);
  try {
    accessSync(folder, constants.W_OK);
  } catch (e) {
    throw new FileError(
      command,
      path,
      `cannot write ${flag}: ${folder} is not writable (${errnoText(e)})`,
    );
  }
}
