/**
 * Starts a worker thread on a TypeScript module. The project runs through tsx, and the loader that cli/bin.js
 * registers with `register()` does not reach worker threads, so the worker registers tsx itself before importing.
 */
import { Worker, type ResourceLimits } from 'node:worker_threads';

export function startTsWorker(entry: URL, workerData: unknown, resourceLimits?: ResourceLimits): Worker {
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(code, { eval: true, workerData, ...(resourceLimits ? { resourceLimits } : {}) });
}
