// src/io/node.ts: Node builtins looked up when a file function runs, not when io is imported,
// so that browser bundles of the Solver and the byte-level codecs need no node: import.
type GetBuiltin = (id: string) => unknown;

function builtin<T>(fn: string, id: string): T {
  const get = (globalThis as { process?: { getBuiltinModule?: GetBuiltin } }).process
    ?.getBuiltinModule;
  if (typeof get !== 'function')
    throw new Error(`${fn}: file access needs Node (>= 20.16); this runtime has no ${id}`);
  return get(id) as T;
}
export const nodeFs = (fn: string): typeof import('node:fs') => builtin(fn, 'node:fs');
export const nodePath = (fn: string): typeof import('node:path') => builtin(fn, 'node:path');
