import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The process-wide structured logger (pino, JSON lines on stdout). Components take a child with their name:
 * `rootLogger.child({ component: 'kafka-log' })`. Level from TRIBUTARY_LOG_LEVEL (default `info`; under the test runner: `error`).
 */
export const rootLogger: Logger = pino({
  name: 'tributary',
  level: process.env.TRIBUTARY_LOG_LEVEL ?? (process.env.TRIBUTARY_TEST ? 'error' : 'info'),
  base: { pid: process.pid },
});

export function componentLogger(component: string, bindings: Record<string, unknown> = {}): Logger {
  return rootLogger.child({ component, ...bindings });
}
