import type { Static, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { TributaryError } from '../errors/index.ts';
import { pointerToPath } from '../config/load-config.ts';

/**
 * Validates a component's options against its TypeBox schema after filling in defaults. Every problem is reported at
 * once with its path (`routes[2].endpoint: Expected string`), so a bad configuration fails start-up with one message.
 */
export function validateOptions<S extends TSchema>(component: string, schema: S, input: unknown): Static<S> {
  const value = Value.Default(schema, Value.Clone(input ?? {}));
  const problems = [...Value.Errors(schema, value)].map((e) => `${pointerToPath(e.path) || '(root)'}: ${e.message}`);
  if (problems.length > 0) {
    throw new TributaryError('ConfigInvalid', `invalid configuration for ${component}:\n  ${problems.join('\n  ')}`, {
      details: { component, problems },
    });
  }
  return value as Static<S>;
}
