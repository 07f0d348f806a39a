/**
 * One timer for every connection's deadlines (CONNECT timeout, 1.5 × keep-alive, SAS token expiry) instead of one or
 * two `setTimeout`s per connection: each Timeout, its closure and its timer-list entry cost memory on every idle
 * connection (issue 5 item 7, ≤ 20 KB per idle TLS connection). The deadlines are coarse by nature (keep-alive is
 * seconds, IoT Hub's own checks are not to the millisecond), so a one-second sweep is precise enough.
 */

export interface Sweepable {
  /** Closes the connection if one of its deadlines passed. */
  sweep(now: number): void;
}

export const SWEEP_INTERVAL_MS = 1000;

const members = new Set<Sweepable>();
let timer: NodeJS.Timeout | undefined;

function sweepAll(): void {
  const now = Date.now();
  for (const m of members) m.sweep(now);
}

export function watch(m: Sweepable): void {
  members.add(m);
  if (timer === undefined) {
    timer = setInterval(sweepAll, SWEEP_INTERVAL_MS);
    timer.unref();
  }
}

export function unwatch(m: Sweepable): void {
  members.delete(m);
  if (members.size === 0 && timer !== undefined) {
    clearInterval(timer);
    timer = undefined;
  }
}
