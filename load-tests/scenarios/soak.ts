import { defineScenario } from './types.ts';

/**
 * Hours at a moderate rate: what a soak finds is growth (RSS, lag, latency creeping up) and rare failures (drops,
 * reconnects, token renewals), so the plots over time matter more than the totals. Devices reconnect when dropped.
 */
export default defineScenario({
  name: 'soak',
  description: '1,000 devices at 2,000 QoS 1 msg/s in total for 2 hours (60 s ramp), reconnecting when dropped; watch memory, lag and latency over time.',
  load: { devices: 1000, workers: 2, messageRate: 2000, rampSeconds: 60, durationSeconds: 7200, inFlight: 10, qos: 1, payloadBytes: 200, connectRate: 200, reconnect: true },
  split: true,
});
