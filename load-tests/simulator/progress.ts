/**
 * The live progress line (rate, errors, p99, elapsed/remaining) and the result table. On a terminal the line is
 * redrawn in place; in CI logs a line is printed every few seconds instead.
 */
import type { Progress, RunResult } from './runner.ts';

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export function progressLine(p: Progress): string {
  const t = p.totals;
  const time = p.remainingSeconds !== undefined ? `${fmt(p.elapsedSeconds, 0)}s / ${fmt(p.remainingSeconds, 0)}s left` : `${fmt(p.elapsedSeconds, 1)}s`;
  const conns = `conns ${fmt(t.open)}/${fmt(p.devices)}`;
  const errors = `errors ${fmt(t.errorCount)}`;
  if (p.phase === 'connecting' || p.phase === 'holding') {
    return `[${p.target}] ${p.phase} ${time}  ${conns}  failed ${fmt(t.connectFailures)}  ${errors}`;
  }
  return `[${p.target}] ${p.phase} ${time}  ${fmt(p.rate)} msg/s  p99 ${fmt(p.recentP99, 2)} ms  acked ${fmt(t.acked)}  in-flight ${fmt(t.inFlight)}  ${errors}  ${conns}`;
}

/** Returns the onProgress callback and a function that clears the line before normal output resumes. */
export function progressPrinter(stream: NodeJS.WriteStream = process.stderr): { onProgress: (p: Progress) => void; clear: () => void } {
  const tty = stream.isTTY === true;
  let last = 0;
  return {
    onProgress(p) {
      const line = progressLine(p);
      if (tty) {
        stream.write(`\r\x1b[K${line.slice(0, (stream.columns || 200) - 1)}`);
      } else if (performance.now() - last >= 5000) {
        last = performance.now();
        stream.write(`${line}\n`);
      }
    },
    clear() {
      if (tty) stream.write('\r\x1b[K');
    },
  };
}

export function resultLines(r: RunResult): string[] {
  const l = r.latency;
  const lines = [
    `${r.target}${r.interrupted ? ' (interrupted: partial figures)' : ''}`,
    `  connections  ${fmt(r.connected)} connects, ${fmt(r.connectFailures)} failed, ${fmt(r.drops)} dropped; connect p50 ${fmt(r.connectLatency.p50, 1)} ms, p99 ${fmt(r.connectLatency.p99, 1)} ms`,
  ];
  if (r.scenario.mode === 'telemetry') {
    lines.push(
      `  throughput   ${fmt(r.rate)} msg/s (${fmt(r.acked)} acked in ${fmt(r.seconds, 1)} s; ${fmt(r.sent)} sent, ${fmt(r.failed)} failed, ${fmt(r.unacked)} unacked at stop)`,
      `  PUBACK ms    p50 ${fmt(l.p50, 2)}  p90 ${fmt(l.p90, 2)}  p99 ${fmt(l.p99, 2)}  p99.9 ${fmt(l.p999, 2)}  max ${fmt(l.max, 2)}`,
    );
  }
  const errors = Object.entries(r.errors).sort((a, b) => b[1] - a[1]);
  if (errors.length > 0) lines.push(`  errors       ${errors.slice(0, 8).map(([k, n]) => `${k} ×${fmt(n)}`).join(', ')}`);
  return lines;
}
