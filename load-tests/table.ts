/**
 * The plain-text table every benchmark prints its figures in: columns sized to their widest cell, the columns listed
 * in `leftAligned` padded right (names, notes) and the rest right-aligned (numbers).
 */
export function formatTable(header: string[], rows: string[][], leftAligned: readonly number[] = [0]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (leftAligned.includes(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
