/**
 * A built-in load-test scenario: named, described, and the load itself as the simulator's typed scenario
 * (simulator/scenario.ts: devices, connect rate, message rate and size, QoS, protocol, auth mix, duration, ramp,
 * validated by its TypeBox schema before a connection opens), plus what the harness does around it.
 */
import type { ScenarioInput } from '../simulator/scenario.ts';

export interface BenchScenario {
  name: string;
  /** One paragraph for the report and `--help`: what the scenario measures. */
  description: string;
  /** The load; any field may be overridden on the command line (`--devices 50 --duration 10` …). */
  load: ScenarioInput;
  /** Also drive the pre-started Mosquitto (plain MQTT, no auth) with the same generator and report the ratio. */
  mosquittoBaseline?: boolean;
  /** Idle scenarios: seconds to keep every connection open before the memory reading (default 10). */
  holdSeconds?: number;
  /** Idle scenarios: cap the device count at what the open-file limits allow instead of refusing (`connections`). */
  fitToFileLimit?: boolean;
  /** On Kafka + PostgreSQL, run the hub's roles as separate processes unless `--no-split` (harness/split.ts). */
  split?: boolean;
}

/** Identity function that checks the shape at compile time (the load is validated at run time). */
export function defineScenario(s: BenchScenario): BenchScenario {
  return s;
}
