import { defineScenario } from './types.ts';

/**
 * As many idle MQTT/TLS connections as the machine allows: the connections are spread over several loopback source
 * addresses (127.0.0.2, 127.0.0.3, …) because one source address has only ~28k ephemeral ports toward one server port.
 * The device count is capped at what `ulimit -n` allows (this process and the hub both hold one socket each).
 */
export default defineScenario({
  name: 'connections',
  description: 'Up to 100,000 idle MQTT/TLS connections (SAS, keep-alive 20 min) opened at 1,000/s from several loopback source addresses and held 30 s; the hub\'s RSS growth per connection.',
  load: { mode: 'idle', devices: 100_000, workers: 2, connectRate: 1000, keepaliveSeconds: 1200, reconnect: false, connectTimeoutMs: 60_000 },
  holdSeconds: 30,
  fitToFileLimit: true,
});
