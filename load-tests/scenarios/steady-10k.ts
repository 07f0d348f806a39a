import { defineScenario } from './types.ts';

/**
 * A sustained production-like rate: 10,000 msg/s for 5 minutes after a 30 s ramp, from 2,000 devices at 5 msg/s each.
 * The figures to read are the latency tails (PUBACK, device→log, device→ClickHouse) and "missing: 0".
 */
export default defineScenario({
  name: 'steady-10k',
  description: '2,000 devices, 10,000 QoS 1 msg/s in total (30 s linear ramp, then 5 minutes), 100-byte JSON; latency percentiles at a fixed rate and zero loss end to end.',
  load: { devices: 2000, workers: 2, messageRate: 10_000, rampSeconds: 30, durationSeconds: 330, inFlight: 20, qos: 1, payloadBytes: 100, connectRate: 500 },
  split: true,
});
