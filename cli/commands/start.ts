/**
 * `tributary start` / `npm start`: every role in one process on the configured (by default embedded) platform.
 * Today that is the platform itself — log with the hub's topics, migrated store, registered schemas — and the
 * Prometheus endpoint; the protocol adapters, service API, processors and connectors join here as they land.
 */
import { createServer, type Server } from 'node:http';
import { loadConfig } from '../../core/config/index.ts';
import { rootLogger } from '../../core/logging/logger.ts';
import { collectProcessMetrics, metricsRegistry } from '../../core/metrics/registry.ts';
import { openPlatform } from '../../core/platform/open-platform.ts';

export async function startHub(options: { configFile?: string | undefined }): Promise<void> {
  const config = loadConfig({ file: options.configFile });
  rootLogger.level = config.log.level;
  console.log(`tributary: starting hub "${config.hubName}" (data dir ${config.dataDir}) …`);

  const platform = await openPlatform(config);
  collectProcessMetrics();
  const metrics = await serveMetrics(config.metrics.port);

  console.log(
    [
      `tributary: hub "${config.hubName}" is running`,
      `  log       ${platform.describe.log}`,
      `  store     ${platform.describe.store}`,
      `  registry  ${platform.describe.registry}`,
      `  metrics   http://127.0.0.1:${(metrics.address() as { port: number }).port}/metrics`,
      `  roles     ${config.roles.join(', ')} (protocol adapters and the service API are not built yet)`,
      'Press Ctrl-C to stop.',
    ].join('\n'),
  );

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      console.log(`tributary: ${signal} received, stopping …`);
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  await new Promise<void>((resolve) => metrics.close(() => resolve()));
  await platform.close();
  console.log('tributary: stopped');
}

function serveMetrics(port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end('not found; metrics are at /metrics\n');
      return;
    }
    metricsRegistry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': metricsRegistry.contentType }).end(body),
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
