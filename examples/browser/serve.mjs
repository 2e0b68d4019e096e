// examples/browser/serve.mjs: a tiny static file server for the browser demos (no dependencies).
// Serves the repository root on 127.0.0.1 with cross-origin isolation headers (COOP/COEP), so
// that the page has SharedArrayBuffer and the WASM kernels use shared memory and threads as in
// Node; --no-isolation leaves the headers out (the page then trains on one thread). It also
// serves the digits that ship with layerwise (data.loadEmbeddedMnist, read from dist/) as IDX
// files, in the order train | val | test:
//   /digits/images.idx (10000, 28, 28) ubyte, /digits/labels.idx (10000) ubyte,
//   /digits/split.json { train, val, test } (the row counts)
//   npm run build && node examples/browser/serve.mjs [port] [--no-isolation]
// then open http://127.0.0.1:<port>/examples/browser/ (tests and the bench call startServer).
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.ts': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css',
  '.png': 'image/png',
  '.idx': 'application/octet-stream',
};

/** An IDX file of unsigned bytes: magic 0 0 0x08 ndim, big-endian dims, the bytes. */
function idxBytes(dims, bytes) {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(0x0800 + dims.length, 0);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, bytes]);
}

let digits = null;
/** The embedded digits as IDX files (built once, from dist/src/index.js). */
async function digitFiles() {
  if (digits) return digits;
  const { data } = await import(pathToFileURL(join(root, 'dist/src/index.js')).href);
  const d = data.loadEmbeddedMnist();
  const parts = [
    [d.XTrain, d.yTrain],
    [d.XVal, d.yVal],
    [d.XTest, d.yTest],
  ];
  const N = parts.reduce((n, [X]) => n + X.shape[0], 0);
  const pixels = Buffer.alloc(N * 784),
    labels = Buffer.alloc(N);
  let row = 0;
  for (const [X, y] of parts) {
    // the loader stores k/255 in float32; round(x * 255) recovers k exactly
    for (let i = 0; i < X.data.length; i++) pixels[row * 784 + i] = Math.round(X.data[i] * 255);
    for (let n = 0; n < y.length; n++) labels[row + n] = y[n];
    row += X.shape[0];
  }
  digits = {
    '/digits/images.idx': idxBytes([N, 28, 28], pixels),
    '/digits/labels.idx': idxBytes([N], labels),
    '/digits/split.json': Buffer.from(
      JSON.stringify({ train: d.XTrain.shape[0], val: d.XVal.shape[0], test: d.XTest.shape[0] }),
    ),
  };
  return digits;
}

/**
 * Starts the server on 127.0.0.1 (port 0: any free one); `isolated` (default true) sends
 * COOP/COEP. Resolves with { server, url } once it listens.
 */
export function startServer({ port = 0, isolated = true } = {}) {
  const headers = {
    'Cache-Control': 'no-store',
    ...(isolated
      ? {
          'Cross-Origin-Opener-Policy': 'same-origin',
          'Cross-Origin-Embedder-Policy': 'require-corp',
        }
      : {}),
  };
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    try {
      if (path.startsWith('/digits/')) {
        const body = (await digitFiles())[path];
        if (body === undefined) throw new Error('no such file');
        res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(path)] }).end(body);
        return;
      }
      const file = normalize(join(root, path));
      if (!file.startsWith(root) && file + sep !== root) {
        res.writeHead(403, headers).end('forbidden');
        return;
      }
      const target = (await stat(file)).isDirectory() ? join(file, 'index.html') : file;
      const body = await readFile(target);
      res
        .writeHead(200, {
          ...headers,
          'Content-Type': TYPES[extname(target)] ?? 'application/octet-stream',
        })
        .end(body);
    } catch {
      res.writeHead(404, headers).end('not found');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      resolve({ server, url: `http://127.0.0.1:${address.port}` });
    });
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const isolated = !args.includes('--no-isolation');
  const port = Number(args.find((a) => /^\d+$/.test(a)) ?? 8080);
  const { url } = await startServer({ port, isolated });
  console.log(
    `serving ${root} at ${url}/examples/browser/ (${isolated ? 'cross-origin isolated' : 'no isolation headers'})`,
  );
}
