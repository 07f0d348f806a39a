/**
 * Line charts as inline SVG strings, for a report that must open with no network and no scripts: axes with "nice"
 * ticks, one polyline per series, a legend. Plain string building; every text goes through `esc`.
 */

export interface Series {
  name: string;
  color: string;
  points: Array<[number, number]>;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  width?: number;
  height?: number;
  /** Custom x tick positions and labels (e.g. percentiles on a log axis); nice linear ticks otherwise. */
  xTicks?: Array<{ at: number; label: string }>;
  /** y starts at 0 unless false. */
  yFromZero?: boolean;
}

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#17becf'];

export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Ticks at 1, 2 or 5 × 10^k covering [min, max], about `count` of them (count + 1 fenceposts, or one more). */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0];
  if (max <= min) return [min];
  const raw = (max - min) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude;
  const ticks: number[] = [];
  // From the last tick at or below min to the first at or above max, so the axis covers every point.
  const first = Math.floor(min / step + 1e-9) * step;
  const last = Math.ceil(max / step - 1e-9) * step;
  for (let v = first; v <= last + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

export function formatTick(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (a >= 1e4) return `${Number((v / 1e3).toPrecision(3))}k`;
  return String(Number(v.toPrecision(4)));
}

export function lineChart(o: ChartOptions): string {
  const width = o.width ?? 760;
  const height = o.height ?? 300;
  const m = { left: 64, right: 16, top: 32, bottom: 44 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const all = o.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const title = `<text x="${m.left}" y="20" class="title">${esc(o.title)}</text>`;
  if (all.length === 0) {
    return `<svg class="chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img">${title}` +
      `<text x="${width / 2}" y="${height / 2}" text-anchor="middle" class="empty">no data</text></svg>`;
  }
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => y);
  const xTicks = o.xTicks ?? niceTicks(Math.min(...xs), Math.max(...xs)).map((at) => ({ at, label: formatTick(at) }));
  const xMin = Math.min(...xs, ...xTicks.map((t) => t.at));
  const xMax = Math.max(...xs, ...xTicks.map((t) => t.at));
  const yTicks = niceTicks(o.yFromZero === false ? Math.min(...ys) : Math.min(0, ...ys), Math.max(...ys) || 1);
  const yMin = Math.min(...yTicks);
  const yMax = Math.max(...yTicks, Math.max(...ys));
  const px = (x: number) => m.left + (xMax === xMin ? plotW / 2 : ((x - xMin) / (xMax - xMin)) * plotW);
  const py = (y: number) => m.top + plotH - (yMax === yMin ? plotH / 2 : ((y - yMin) / (yMax - yMin)) * plotH);
  const f = (n: number) => n.toFixed(1);

  const parts: string[] = [title];
  for (const t of yTicks) {
    parts.push(`<line x1="${m.left}" x2="${m.left + plotW}" y1="${f(py(t))}" y2="${f(py(t))}" class="grid"/>`,
      `<text x="${m.left - 6}" y="${f(py(t) + 4)}" text-anchor="end" class="tick">${esc(formatTick(t))}</text>`);
  }
  for (const t of xTicks) {
    parts.push(`<line x1="${f(px(t.at))}" x2="${f(px(t.at))}" y1="${m.top + plotH}" y2="${m.top + plotH + 4}" class="axis"/>`,
      `<text x="${f(px(t.at))}" y="${m.top + plotH + 16}" text-anchor="middle" class="tick">${esc(t.label)}</text>`);
  }
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${plotW}" height="${plotH}" class="frame"/>`,
    `<text x="${m.left + plotW / 2}" y="${height - 6}" text-anchor="middle" class="label">${esc(o.xLabel)}</text>`,
    `<text transform="translate(14 ${m.top + plotH / 2}) rotate(-90)" text-anchor="middle" class="label">${esc(o.yLabel)}</text>`);
  o.series.forEach((s, i) => {
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (pts.length === 0) return;
    const d = pts.map(([x, y]) => `${f(px(x))},${f(py(y))}`).join(' ');
    parts.push(pts.length === 1
      ? `<circle cx="${f(px(pts[0]![0]))}" cy="${f(py(pts[0]![1]))}" r="3" fill="${esc(s.color)}"><title>${esc(s.name)}</title></circle>`
      : `<polyline points="${d}" fill="none" stroke="${esc(s.color)}" stroke-width="1.8"><title>${esc(s.name)}</title></polyline>`);
    const lx = m.left + 8 + i * 170;
    parts.push(`<rect x="${lx}" y="${m.top + 6}" width="12" height="4" fill="${esc(s.color)}"/>`,
      `<text x="${lx + 16}" y="${m.top + 12}" class="legend">${esc(s.name)}</text>`);
  });
  return `<svg class="chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img">${parts.join('')}</svg>`;
}
