// scripts/check-assembly.mjs: the part of the formatting rules that applies to the AssemblyScript
// kernels, which Prettier cannot parse (top-level decorators such as @inline): lines of at most
// 100 columns, no tabs, no trailing spaces, a final newline. Run by `npm run lint`.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const folders = ['src/kernels/wasm/assembly', 'bench/assembly'];
const problems = [];
for (const folder of folders) {
  for (const name of readdirSync(join(root, folder)).filter((n) => n.endsWith('.ts'))) {
    const file = `${folder}/${name}`;
    const text = readFileSync(join(root, file), 'utf8');
    if (!text.endsWith('\n')) problems.push(`${file}: no final newline`);
    text.split('\n').forEach((line, i) => {
      if (line.length > 100)
        problems.push(`${file}:${i + 1}: ${line.length} columns (at most 100)`);
      if (/\t/.test(line)) problems.push(`${file}:${i + 1}: a tab`);
      if (/\s$/.test(line)) problems.push(`${file}:${i + 1}: trailing space`);
    });
  }
}
if (problems.length > 0) {
  console.error(problems.join('\n'));
  console.error(`check-assembly: ${problems.length} problem(s)`);
  process.exit(1);
}
console.log(`check-assembly: ${folders.join(', ')} ok`);
