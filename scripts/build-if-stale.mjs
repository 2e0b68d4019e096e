// scripts/build-if-stale.mjs: `npm run prepare`. Runs `npm run build` unless dist/ was built from
// exactly the files that are here now. npm runs `prepare` after `npm ci` (which must build), and
// again when `npx layerwise` in this repository links the project into npm's npx cache: without
// this check that second, identical build cost a new clone's first `npx layerwise train` 15 s.
//
// The stamp dist/.build-inputs holds a SHA-256 of the build's inputs: every file under src/,
// bench/, examples/ and scripts/ (the generated src/kernels/wasm/build/ and assembly/jobs.ts and
// the bench's results excepted), package.json, package-lock.json and the tsconfig files. It is written only after
// a build succeeds, so a failed or interrupted build is redone.
import { createHash } from 'node:crypto';
import { execSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const STAMP = join(root, 'dist', '.build-inputs');
const DIRS = ['src', 'bench', 'examples', 'scripts'];
const FILES = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'];
const SKIPPED = ['src/kernels/wasm/build', 'src/kernels/wasm/assembly/jobs.ts', 'bench/results'];
const OUTPUTS = ['dist/src/index.js', 'dist/src/cli/main.js', 'src/kernels/wasm/build/modules.ts'];

/** Every input file's path relative to the root, sorted. */
function inputs() {
  const found = FILES.filter((f) => existsSync(join(root, f)));
  const walk = (dir) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (SKIPPED.includes(path)) continue;
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) found.push(path);
    }
  };
  for (const dir of DIRS) if (existsSync(join(root, dir))) walk(dir);
  return found.sort();
}

/** SHA-256 over each input's path and contents. */
function inputsHash() {
  const hash = createHash('sha256');
  for (const path of inputs()) {
    hash.update(`${path}\0`);
    hash.update(readFileSync(join(root, path)));
    hash.update('\0');
  }
  return hash.digest('hex');
}

const want = inputsHash();
const built = existsSync(STAMP) ? readFileSync(STAMP, 'utf8').trim() : '';
const complete = OUTPUTS.every((f) => existsSync(join(root, f)));
if (built === want && complete) {
  console.log(`build-if-stale: dist/ is up to date (${relative(root, STAMP)}), no build`);
} else {
  execSync('npm run build', { cwd: root, stdio: 'inherit' });
  writeFileSync(STAMP, `${want}\n`);
}
