/**
 * What the benches read about the server process from /proc (Linux only): resident memory and CPU time. The server
 * is another process (Mosquitto, a Tributary child), so these never include the load generator itself.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** VmRSS of a process in KiB. */
export function rssKiB(pid: number): number {
  return parseStatusKiB(readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmRSS');
}

export function parseStatusKiB(status: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB$`, 'm').exec(status);
  if (!m) throw new Error(`/proc status has no ${field} line`);
  return Number(m[1]);
}

/** User + system CPU seconds a process has used (fields 14 and 15 of /proc/<pid>/stat, in clock ticks). */
export function cpuSeconds(pid: number, ticksPerSecond = 100): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces and parentheses; fields are counted after its closing ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/** The pid of a process by exact name (`pgrep -x`), or undefined when none or several run. */
export function pidOf(name: string): number | undefined {
  try {
    const pids = execFileSync('pgrep', ['-x', name], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
    return pids.length === 1 ? Number(pids[0]) : undefined;
  } catch {
    return undefined;
  }
}

/** The soft limit on open files of this process (what `ulimit -n` set before node started). */
export function openFilesLimit(): { soft: number; hard: number } {
  const limits = readFileSync('/proc/self/limits', 'utf8');
  const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(limits);
  const n = (s: string | undefined) => (s === undefined || s === 'unlimited' ? Infinity : Number(s));
  return { soft: n(m?.[1]), hard: n(m?.[2]) };
}

export function openFilesLimitOf(pid: number): number {
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  return m?.[1] === undefined || m[1] === 'unlimited' ? Infinity : Number(m[1]);
}
