// scripts/eslint/layering.mjs: the ESLint rule that keeps src/'s imports pointing one way
// (DESIGN.md: data -> models/nn -> layers -> kernels -> tensor). A file in src/<A>/ may import
// src/<B>/ only when B sits lower than A in RANKS, and only through B's index.ts (its public
// namespace) or internal.ts (plumbing shared between folders, never re-exported by src/index.ts).
// Inside one folder anything goes. src/*.ts at the top (the entries) may import every index.ts,
// and browser.ts where a folder has one (its namespace without the Node-only file access, which
// the browser entry src/browser.ts exports; src/index.ts exports index.ts, browser.ts plus files).
import path from 'node:path';

/** Lower ranks are imported by higher ones, never the other way round. */
export const RANKS = {
  tensor: 0,
  kernels: 1,
  gradcheck: 1,
  layers: 2,
  optim: 2,
  nn: 3,
  models: 4,
  data: 5,
  io: 6,
  vis: 7,
  solver: 7,
  worker: 8,
  cli: 9,
};
const ENTRY_RANK = 10;
const DOORS = new Set(['index', 'internal']);
const ENTRY_DOORS = new Set(['index', 'browser']);

/** 'src/<folder>/...' -> folder, 'src/x.ts' -> '' (an entry), anything else -> null. */
function folderOf(srcRoot, file) {
  const rel = path.relative(srcRoot, file);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return null;
  const parts = rel.split(path.sep);
  return parts.length === 1 ? '' : parts[0];
}

export const layeringRule = {
  meta: {
    type: 'problem',
    docs: {
      description: 'imports in src/ point downward and enter a folder by index.ts or internal.ts',
    },
    schema: [],
  },
  create(context) {
    const file = context.filename;
    const srcRoot = path.resolve(context.cwd, 'src');
    const from = folderOf(srcRoot, file);
    if (from === null) return {};
    const check = (node, source) => {
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const target = path.resolve(path.dirname(file), source);
      const to = folderOf(srcRoot, target);
      if (to === null || to === from || to === '') return;
      const fromRank = from === '' ? ENTRY_RANK : RANKS[from];
      const toRank = RANKS[to];
      if (fromRank === undefined || toRank === undefined) {
        const unknown = fromRank === undefined ? from : to;
        context.report({
          node,
          message: `src/${unknown}/ has no rank in scripts/eslint/layering.mjs`,
        });
        return;
      }
      const here = from === '' ? 'an entry' : `src/${from}/`;
      if (toRank >= fromRank) {
        context.report({
          node,
          message: `${here} may not import src/${to}/ (imports point downward: see RANKS)`,
        });
        return;
      }
      const rel = path.relative(path.join(srcRoot, to), target).split(path.sep);
      const door = rel.length === 1 ? rel[0].replace(/\.(js|ts)$/, '') : '';
      if (from === '' ? !ENTRY_DOORS.has(door) : !DOORS.has(door)) {
        const doors = from === '' ? 'index.js or browser.js' : 'index.js or internal.js';
        context.report({
          node,
          message: `${here} reaches into src/${to}/${rel.join('/')}; import src/${to}/${doors}`,
        });
      }
    };
    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
    };
  },
};
