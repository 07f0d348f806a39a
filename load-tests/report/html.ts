/**
 * The self-contained HTML report: one file, inline CSS and inline SVG, no scripts and no external references, so it
 * opens from a CI artifact or a mail attachment on a machine with no network. docs/load-testing.md explains how to
 * read each part.
 */
import { PALETTE, esc, lineChart, type Series } from './svg.ts';
import { percentileAxis, type LatencyFigures } from './percentiles.ts';
import type { Scenario } from '../simulator/scenario.ts';
import type { BenchReport, ProcessFigures, RunFigures } from './types.ts';

const n0 = (v: number | undefined) => (v === undefined ? '–' : Math.round(v).toLocaleString('en-US'));
const n2 = (v: number | undefined) => (v === undefined ? '–' : v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }));
const mib = (kib: number | undefined) => (kib === undefined ? '–' : (kib / 1024).toFixed(1));

/** One line saying what load ran, overrides included (the description is the built-in scenario's). */
export function describeLoad(l: Scenario): string {
  const bound = l.mode === 'idle' ? 'idle' : l.messages !== undefined ? `${n0(l.messages)} messages` : `${n0(l.durationSeconds ?? 0)} s`;
  const rate = l.mode === 'idle' ? '' : l.messageRate !== undefined ? `, ${n0(l.messageRate)} msg/s${l.rampSeconds > 0 ? ` after a ${n0(l.rampSeconds)} s ramp` : ''}` : ', as fast as acks allow';
  const x509 = l.authMix.x509 > 0 ? `, X.509 share ${n0((100 * l.authMix.x509) / (l.authMix.sas + l.authMix.x509))} %` : ', SAS';
  return `${n0(l.devices)} devices, ${bound}${rate}, QoS ${l.qos}, ${l.payloadBytes} B, ${l.protocol}${x509}, in-flight ${l.inFlight}, ${l.workers} workers, connect ${n0(l.connectRate)}/s`;
}

function table(header: string[], rows: Array<Array<string | number>>): string {
  const th = header.map((h) => `<th>${esc(h)}</th>`).join('');
  const tr = rows.map((r) => `<tr>${r.map((c) => `<td>${esc(String(c))}</td>`).join('')}</tr>`).join('');
  return `<table><thead><tr>${th}</tr></thead><tbody>${tr}</tbody></table>`;
}

// 99.999 % is plotted but not labelled: its label would run into `max`, one tenth of a decade further right.
const PERCENTILE_TICKS = [0, 90, 99, 99.9, 99.99, 100].map((p) => ({ at: percentileAxis(p), label: p === 100 ? 'max' : `${p}%` }));

function spectrumSeries(name: string, f: LatencyFigures | undefined, color: string): Series[] {
  if (!f || f.spectrum.length === 0) return [];
  return [{ name, color, points: f.spectrum.map((p) => [percentileAxis(p.percentile), p.ms]) }];
}

function latencyRows(label: string, f: LatencyFigures | undefined): Array<Array<string | number>> {
  if (!f || f.summary.count === 0) return [];
  return [[label, n0(f.summary.count), ...f.table.map((p) => n2(p.ms)), n2(f.summary.mean)]];
}

function processRows(processes: ProcessFigures[]): Array<Array<string | number>> {
  return processes.map((p) => [p.name, p.pid, n2(p.publishingCores), n2(p.averageCores), n2(p.cpuSeconds), mib(p.rssKiB.start), mib(p.rssKiB.peak), mib(p.rssKiB.end)]);
}

function runRows(r: RunFigures): Array<Array<string | number>> {
  return [
    ['target', r.target],
    ['messages acked / sent', `${n0(r.acked)} / ${n0(r.sent)}`],
    ['failed / unacked at stop', `${n0(r.failed)} / ${n0(r.unacked)}`],
    ['throughput (acks/s over the publishing phase)', n0(r.rate)],
    ['publishing phase', `${n2(r.seconds)} s`],
    ['connections (connected / failed / dropped)', `${n0(r.connected)} / ${n0(r.connectFailures)} / ${n0(r.drops)}`],
    ['connect→CONNACK p50 / p99 ms', `${n2(r.connectLatency.p50)} / ${n2(r.connectLatency.p99)}`],
  ];
}

/** The hub's processes (one, or one per role group with `--split`) and their logs. */
function hubProcessesLine(r: BenchReport): string {
  const procs = r.environment.hubProcesses;
  if (!procs || procs.length <= 1) return `Hub log: ${esc(r.environment.log)}.`;
  return `Hub processes: ${procs.map((p) => `<code>${esc(p.name)}</code> (pid ${p.pid}, roles ${esc(p.roles)}, log ${esc(p.log)})`).join('; ')}.`;
}

function lagTable(r: BenchReport): string {
  const start = r.lag.start;
  const groups = [...new Set([...Object.keys(start ?? {}), ...Object.keys(r.lag.max)])];
  if (!start) return table(['group', 'max', 'at the end'], groups.map((g) => [g, n0(r.lag.max[g]), n0(r.lag.end[g])]));
  const before = (g: string) => { const s = start[g]; return s === undefined ? '–' : `${n0(s.behind)} (${s.action === 'reset' ? 'skipped' : s.action === 'busy' ? `shared with ${s.members} other member(s)` : 'at the end'})`; };
  return table(['group', 'behind before the run', 'max', 'at the end'], groups.map((g) => [g, before(g), n0(r.lag.max[g]), n0(r.lag.end[g])]));
}

export function renderHtml(r: BenchReport): string {
  const tl = r.timeline;
  const t = r.tributary;
  const series = (name: string, i: number, pick: (p: (typeof tl)[number]) => number | undefined): Series => ({
    name, color: PALETTE[i % PALETTE.length]!, points: tl.flatMap((p) => { const v = pick(p); return v === undefined ? [] : [[p.t, v] as [number, number]]; }),
  });
  // One line for the hub, or one per role process of a --split run (colours 0, 1, 2, 4: 3 is the generator's).
  const hubNames = [...new Set(tl.flatMap((p) => Object.keys(p.hubs ?? {})))];
  const hubSeries = (whole: (p: (typeof tl)[number]) => number | undefined, part: (h: { rssKiB: number; cores: number }) => number, scale: number): Series[] =>
    hubNames.length === 0
      ? [series('hub', 0, (p) => { const v = whole(p); return v === undefined ? undefined : v * scale; })]
      : hubNames.map((name, i) => series(name, [0, 1, 2, 4, 5][i] ?? i + 5, (p) => { const h = p.hubs?.[name]; return h === undefined ? undefined : part(h) * scale; }));
  const charts = [
    lineChart({ title: 'Throughput over time', xLabel: 'seconds', yLabel: 'messages / s', series: [series('PUBACKs / s', 0, (p) => p.ackRate), series('arrivals on the log / s', 1, (p) => p.arrivalRate)] }),
    lineChart({
      title: 'Latency by percentile (whole run)', xLabel: 'percentile', yLabel: 'ms', xTicks: PERCENTILE_TICKS,
      series: [...spectrumSeries('publish→PUBACK', t.puback, PALETTE[0]!), ...spectrumSeries('device→log (consumer)', r.endToEnd.arrival, PALETTE[1]!),
        ...spectrumSeries('device→enqueued', r.endToEnd.enqueue, PALETTE[2]!), ...spectrumSeries('device→ClickHouse', r.clickhouse.latency, PALETTE[3]!)],
    }),
    lineChart({ title: 'PUBACK p99 over time', xLabel: 'seconds', yLabel: 'ms', series: [series('p99 per second', 0, (p) => (p.ackRate > 0 ? p.pubackP99 : undefined))] }),
    lineChart({ title: 'Memory over time (RSS)', xLabel: 'seconds', yLabel: 'MiB', series: [...hubSeries((p) => p.hubRssKiB, (h) => h.rssKiB, 1 / 1024), series('generator', 3, (p) => p.generatorRssKiB / 1024)] }),
    lineChart({ title: 'CPU over time', xLabel: 'seconds', yLabel: 'cores busy', series: [...hubSeries((p) => p.hubCores, (h) => h.cores, 1), series('generator', 3, (p) => p.generatorCores)] }),
    lineChart({ title: 'Open connections and consumer lag', xLabel: 'seconds', yLabel: 'count', series: [series('open connections', 2, (p) => p.open), series('consumer lag (records)', 1, (p) => p.lag)] }),
  ];
  const e = r.endToEnd;
  const latencyHeader = ['measure', 'count', 'p50', 'p75', 'p90', 'p95', 'p99', 'p99.9', 'p99.99', 'max', 'mean'];
  const latencyTable = table(latencyHeader, [
    ...latencyRows('publish→PUBACK', t.puback),
    ...latencyRows('device→enqueued (ingest stamp)', e.enqueue),
    ...latencyRows('device→log (consumer read)', e.arrival),
    ...latencyRows('device→ClickHouse', r.clickhouse.latency),
    ...(r.baseline ? latencyRows('Mosquitto publish→PUBACK', r.baseline.mosquitto.puback) : []),
  ]);
  const errors = Object.entries(t.errors).sort((a, b) => b[1] - a[1]);
  const banner = r.interrupted ? '<p class="warn">Interrupted (Ctrl-C): these are partial figures.</p>' : '';
  const lost = e.missing > 0 ? `<p class="warn">${n0(e.missing)} acknowledged messages were not seen on the log.</p>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(`Tributary load test: ${r.scenario.name} ${r.startedAt}`)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f4f4f4}
td:first-child,th:first-child{text-align:left}.warn{background:#fff3cd;border:1px solid #e0c060;padding:6px 10px}
.chart{display:block;margin:12px 0}.chart .title{font-weight:600;font-size:14px}.chart .tick,.chart .legend,.chart .label{font-size:11px;fill:#444}
.chart .grid{stroke:#eee}.chart .axis{stroke:#888}.chart .frame{fill:none;stroke:#bbb}.chart .empty{fill:#999}
pre{background:#f7f7f7;padding:8px;overflow:auto;font-size:12px}
</style></head><body>
<h1>Load test <code>${esc(r.scenario.name)}</code></h1>
<p>${esc(r.scenario.description)}</p>
<p>Load as run: ${esc(describeLoad(r.scenario.load))}.</p>
<p>Run <code>${esc(r.runId)}</code>, ${esc(r.startedAt)} → ${esc(r.finishedAt)}. Node ${esc(r.environment.node)}, ${r.environment.cpus} CPUs. ${hubProcessesLine(r)}</p>
${banner}${lost}
<h2>Summary</h2>
${table(['', 'Tributary'], runRows(t))}
${r.baseline ? `<p>Same generator against Mosquitto: <b>${n0(r.baseline.mosquitto.rate)}</b> msg/s. Ratio ${esc(r.baseline.ratioOf)}: <b>${n2(r.baseline.ratio)}×</b>.</p>${table(['', 'Mosquitto'], runRows(r.baseline.mosquitto))}` : ''}
<h2>End to end</h2>
${table(['acked', 'seen on the log (distinct)', 'duplicates', 'missing', 'by auth method'], [[n0(t.acked), n0(e.unique), n0(e.duplicates), n0(e.missing), Object.entries(e.byAuth).map(([k, v]) => `${k} ${n0(v)}`).join(', ') || '–']])}
<h2>Latency (ms)</h2>
${latencyTable}
<p>ClickHouse: ${esc(r.clickhouse.status)} — ${esc(r.clickhouse.note)}${r.clickhouse.rows !== undefined ? ` (${n0(r.clickhouse.rows)} rows of this run)` : ''}</p>
<h2>Plots</h2>
${charts.join('\n')}
<h2>Processes</h2>
${table(['process', 'pid', 'cores while publishing', 'cores over the run', 'CPU s', 'RSS start MiB', 'RSS peak MiB', 'RSS end MiB'], processRows([...t.processes, ...(r.baseline?.mosquitto.processes ?? [])]))}
<h2>Memory per connection</h2>
${table(['hub RSS idle MiB', 'with connections MiB', 'connections', 'KiB per connection'], [[mib(r.memory.idleRssKiB), mib(r.memory.connectedRssKiB), n0(r.memory.connections), n2(r.memory.perConnectionKiB)]])}
${r.baseline?.mosquitto.perConnectionKiB !== undefined ? `<p>Mosquitto (plain TCP): ${n2(r.baseline.mosquitto.perConnectionKiB)} KiB per connection.</p>` : ''}
<h2>Consumer lag (records)</h2>
${lagTable(r)}
<h2>Errors</h2>
${errors.length === 0 ? '<p>none</p>' : table(['error', 'count'], errors.map(([k, v]) => [k, n0(v)]))}
${r.notes.length > 0 ? `<h2>Notes</h2><ul>${r.notes.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>` : ''}
<h2>Scenario</h2>
<pre>${esc(JSON.stringify(r.scenario.load, null, 2))}</pre>
<p>Environment: ${esc(Object.entries(r.environment.hub).map(([k, v]) => `${k}: ${v}`).join('; '))}. Command: <code>${esc(r.environment.commandLine)}</code></p>
</body></html>
`;
}

/** Anything that would make a browser fetch: a URL scheme, a protocol-relative reference, scripts, stylesheets, images. */
export function externalReferences(html: string): string[] {
  return [...html.matchAll(/https?:\/\/|(?:src|href|xlink:href)\s*=\s*["']?\/\/|<script|<link|<iframe|<img|url\(|@import/gi)].map((m) => m[0]);
}
