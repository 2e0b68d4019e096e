// examples/browser/serve.d.mts: the types of serve.mjs for the TypeScript tests and the bench.
import type { Server } from 'node:http';

export function startServer(opts?: {
  port?: number;
  isolated?: boolean;
}): Promise<{ server: Server; url: string }>;
