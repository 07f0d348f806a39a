/**
 * The ingest role (DESIGN.md §2): the shared gateway core plus the MQTT adapter — MQTT 3.1.1 and 5 over TLS on
 * `ports.mqtts` and over WebSockets at `/$iothub/websocket` on the HTTPS server the service API listens on (443).
 * The HTTPS device adapter will attach to the same gateway.
 */
import type { Config } from '../core/config/index.ts';
import type { Log } from '../core/log/types.ts';
import { componentLogger, type Logger } from '../core/logging/logger.ts';
import type { AvroSerde } from '../core/serde/avro-serde.ts';
import type { Store } from '../core/store/types.ts';
import type { Server as HttpsServer } from 'node:https';
import type { VerifiedCaSource } from './gateway/authenticator.ts';
import { Gateway, type GatewayRegistry } from './gateway/gateway.ts';
import type { GatewayLimits, GatewayTopics } from './gateway/types.ts';
import { startMqttTlsServer } from './mqtt/tls-server.ts';
import { attachMqttWebSocket } from './mqtt/websocket.ts';

export { Gateway, type GatewayRegistry } from './gateway/gateway.ts';
export { MQTT_WEBSOCKET_PATH, attachMqttWebSocket } from './mqtt/websocket.ts';
export { DEFAULT_LIMITS, type GatewayLimits, type GatewayTopics } from './gateway/types.ts';

export interface StartIngestOptions {
  config: Pick<Config, 'hostNames' | 'ports'>;
  platform: { log: Log; store: Store; serde: AvroSerde };
  registry: GatewayRegistry;
  caStore?: VerifiedCaSource;
  tls: { certPem: string; keyPem: string };
  /** The service API's HTTPS server (port 443): MQTT over WebSockets attaches to its upgrade events. */
  httpsServer?: HttpsServer;
  /** Overrides `config.ports.mqtts` (tests pass 0). */
  mqttPort?: number;
  mqttHost?: string;
  nodeId?: string;
  limits?: Partial<GatewayLimits>;
  /** Physical topic names (tests on a shared Kafka use their own). */
  topics?: Partial<GatewayTopics>;
  logger?: Logger;
}

export interface RunningIngest {
  readonly mqttPort: number;
  readonly gateway: Gateway;
  /** Open MQTT connections on this node (TLS + WebSockets). */
  connectionCount(): number;
  close(): Promise<void>;
}

export async function startIngest(o: StartIngestOptions): Promise<RunningIngest> {
  const logger = o.logger ?? componentLogger('ingest');
  const gateway = new Gateway({
    hostNames: o.config.hostNames,
    log: o.platform.log,
    serde: o.platform.serde,
    store: o.platform.store,
    registry: o.registry,
    ...(o.caStore ? { caStore: o.caStore } : {}),
    ...(o.nodeId ? { nodeId: o.nodeId } : {}),
    ...(o.limits ? { limits: o.limits } : {}),
    ...(o.topics ? { topics: o.topics } : {}),
    logger: logger.child({ component: 'ingest-gateway' }),
  });
  await gateway.start();
  const mqttLogger = logger.child({ component: 'ingest-mqtt', node: gateway.nodeId });
  let mqtt;
  try {
    mqtt = await startMqttTlsServer({
      gateway, tls: o.tls, port: o.mqttPort ?? o.config.ports.mqtts, logger: mqttLogger, ...(o.mqttHost ? { host: o.mqttHost } : {}),
    });
  } catch (err) {
    await gateway.close();
    throw err;
  }
  const ws = o.httpsServer ? attachMqttWebSocket(o.httpsServer, { gateway, logger: mqttLogger }) : undefined;
  return {
    mqttPort: mqtt.port,
    gateway,
    connectionCount: () => mqtt.connections.size + (ws?.connections.size ?? 0),
    async close() {
      await ws?.close();
      await mqtt.close();
      await gateway.close();
    },
  };
}
