/**
 * `tributary start` / `npm start`: every role in one process on the configured (by default embedded) platform.
 * Prints what it runs on, the service connection string and the CA devices must trust once it is ready.
 */
import { loadConfig } from '../../core/config/index.ts';
import { rootLogger } from '../../core/logging/logger.ts';
import { startHub } from '../hub.ts';

export async function startHubCommand(options: { configFile?: string | undefined }): Promise<void> {
  const config = loadConfig({ file: options.configFile });
  rootLogger.level = config.log.level;
  console.log(`tributary: starting hub "${config.hubName}" (data dir ${config.dataDir}) …`);

  const hub = await startHub(config);
  const { describe } = hub.platform;
  console.log(
    [
      `tributary: hub "${config.hubName}" is ready`,
      `  log        ${describe.log}`,
      `  store      ${describe.store}`,
      `  registry   ${describe.registry}`,
      `  service    https://${config.hostNames[0]}:${hub.httpsPort} (REST API; OpenAPI at /openapi.json)`,
      `  devices    mqtts://${config.hostNames[0]}:${hub.mqttPort ?? '(ingest role not running)'} and wss://${config.hostNames[0]}:${hub.httpsPort}/$iothub/websocket`,
      `  ops        http://127.0.0.1:${hub.opsPort} (/healthz, /readyz, /metrics)`,
      `  CA         ${hub.tls.caPath}  (devices and SDKs must trust it, e.g. NODE_EXTRA_CA_CERTS=${hub.tls.caPath})`,
      '',
      'Service connection string (iothubowner):',
      `  ${hub.serviceConnectionString}`,
      '',
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
  await hub.close();
  console.log('tributary: stopped');
}
