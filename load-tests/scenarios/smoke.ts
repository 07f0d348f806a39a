import { defineScenario } from './types.ts';

/** Seconds, end to end: proves the whole path (provisioning, TLS, SAS, Kafka or the embedded log, the report) works. */
export default defineScenario({
  name: 'smoke',
  description: '10 devices send 300 QoS 1 messages (100-byte JSON) over MQTT/TLS with SAS tokens; every message must be acknowledged and read back from iot.device.messages.',
  load: { devices: 10, workers: 1, messages: 300, inFlight: 5, qos: 1, payloadBytes: 100, connectRate: 100, drainTimeoutMs: 10_000 },
});
