import { defineScenario } from './types.ts';

/**
 * The highest QoS 1 rate: no rate limit, each device keeps a window of unacknowledged publishes, so the acks set the
 * pace. The same generator then drives the pre-started Mosquitto, and the ratio is the figure that survives machine
 * noise (issue 9 item 5).
 */
export default defineScenario({
  name: 'throughput',
  description: '100 devices publish QoS 1 telemetry as fast as PUBACKs allow (in-flight window 10 per device) for 30 s; then the same generator against Mosquitto on 127.0.0.1:1883, and the ratio.',
  load: { devices: 100, workers: 2, durationSeconds: 30, inFlight: 10, qos: 1, payloadBytes: 100, connectRate: 500 },
  mosquittoBaseline: true,
});
