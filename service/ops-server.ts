/**
 * The operations endpoint (plain HTTP, meant for a private interface or a sidecar): `/healthz` says the process is
 * alive, `/readyz` runs every readiness check (log, store, registry answer) and `/metrics` serves Prometheus text.
 */
import { createServer, type Server } from 'node:http';
import { metricsRegistry } from '../core/metrics/registry.ts';

export type ReadinessCheck = () => Promise<void>;

export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startOpsServer(options: { port: number; host?: string; checks: Record<string, ReadinessCheck> }): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (path === '/healthz') return json(200, { status: 'ok' });
    if (path === '/readyz') {
      void runChecks(options.checks).then((results) => json(Object.values(results).every((r) => r === 'ok') ? 200 : 503, results));
      return;
    }
    if (path === '/metrics') {
      metricsRegistry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': metricsRegistry.contentType }).end(body),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
      return;
    }
    json(404, { error: 'not found; try /healthz, /readyz or /metrics' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', resolve);
  });
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Each check gets 5 s; a check that throws or hangs reports its reason instead of failing the whole endpoint. */
async function runChecks(checks: Record<string, ReadinessCheck>): Promise<Record<string, string>> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no answer within 5 s')), 5000)));
      try {
        await Promise.race([check(), timeout]);
        return [name, 'ok'] as const;
      } catch (err) {
        return [name, err instanceof Error ? err.message : String(err)] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return Object.fromEntries(entries);
}
