// examples/browser/serve.mjs: a tiny static file server for the browser demo (no dependencies).
// Serves the repository root on 127.0.0.1 with cross-origin isolation headers (COOP/COEP), so
// that the page has SharedArrayBuffer and the WASM kernels use shared memory as in Node.
//   npm run build && node examples/browser/serve.mjs [port]
// then open http://127.0.0.1:<port>/examples/browser/index.html
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const port = Number(process.argv[2] ?? 8080);
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
};

const server = createServer(async (req, res) => {
  const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
  const file = normalize(join(root, path));
  const headers = {
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
    'Cache-Control': 'no-store',
  };
  if (!file.startsWith(root) && file + sep !== root) {
    res.writeHead(403, headers).end('forbidden');
    return;
  }
  try {
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
server.listen(port, '127.0.0.1', () => {
  console.log(`serving ${root} at http://127.0.0.1:${port}/examples/browser/index.html`);
});
