/**
 * The functions IoT Hub's routing queries support (learn.microsoft.com/azure/iot-hub/iot-hub-devguide-query-language,
 * "Functions": math, type checking and casting, string functions "in routes conditions").
 *
 * Semantics follow the language's undefined rule: a function given an argument of the wrong type (or a missing one)
 * is undefined, never an error, and a comparison with undefined is false — so `LENGTH($body.name) > 3` is simply false
 * for a message without a string `name`. Type checks (IS_*) are always true or false. Results that are not finite
 * numbers (SQRT(-1), EXP(1000)) are undefined too: JSON has no NaN or Infinity.
 *
 * Strings are measured and indexed in UTF-16 code units (JavaScript's and .NET's string model), consistently across
 * LENGTH, SUBSTRING and INDEX_OF.
 */
export type ArgType = 'number' | 'string' | 'any';
export type ResultType = 'number' | 'string' | 'boolean';

export interface QueryFunction {
  /** Types of the required arguments, then of the optional ones. */
  params: ArgType[];
  /** How many of the trailing params may be left out. */
  optional?: number;
  /** The last param repeats: at least `params.length` arguments, any number more. */
  variadic?: boolean;
  returns: ResultType;
  apply(args: unknown[]): unknown;
}

const finite = (n: number): number | undefined => (Number.isFinite(n) ? n : undefined);
const num = (f: (x: number) => number) => (args: unknown[]) => (typeof args[0] === 'number' ? finite(f(args[0])) : undefined);
const str = <T>(f: (s: string) => T) => (args: unknown[]) => (typeof args[0] === 'string' ? f(args[0]) : undefined);
const str2 = <T>(f: (a: string, b: string) => T) => (args: unknown[]) => (typeof args[0] === 'string' && typeof args[1] === 'string' ? f(args[0], args[1]) : undefined);
const is = (test: (x: unknown) => boolean): QueryFunction => ({ params: ['any'], returns: 'boolean', apply: (args) => test(args[0]) });

/** Numeric strings become numbers, as AS_NUMBER does (also used when comparing MQTT's string properties to numbers). */
export function numeric(s: string): number | undefined {
  return s.trim() !== '' && Number.isFinite(Number(s)) ? Number(s) : undefined;
}

export const FUNCTIONS: Record<string, QueryFunction> = {
  // Math
  ABS: { params: ['number'], returns: 'number', apply: num(Math.abs) },
  EXP: { params: ['number'], returns: 'number', apply: num(Math.exp) },
  POWER: {
    params: ['number', 'number'], returns: 'number',
    apply: ([x, y]) => (typeof x === 'number' && typeof y === 'number' ? finite(x ** y) : undefined),
  },
  SQUARE: { params: ['number'], returns: 'number', apply: num((x) => x * x) },
  CEILING: { params: ['number'], returns: 'number', apply: num(Math.ceil) },
  FLOOR: { params: ['number'], returns: 'number', apply: num(Math.floor) },
  SIGN: { params: ['number'], returns: 'number', apply: num(Math.sign) },
  SQRT: { params: ['number'], returns: 'number', apply: num(Math.sqrt) },
  // Type checking and casting
  AS_NUMBER: { params: ['any'], returns: 'number', apply: ([x]) => (typeof x === 'number' ? x : typeof x === 'string' ? numeric(x) : undefined) },
  IS_ARRAY: is(Array.isArray),
  IS_BOOL: is((x) => typeof x === 'boolean'),
  IS_DEFINED: is((x) => x !== undefined),
  IS_NULL: is((x) => x === null),
  IS_NUMBER: is((x) => typeof x === 'number'),
  IS_OBJECT: is((x) => typeof x === 'object' && x !== null && !Array.isArray(x)),
  IS_PRIMITIVE: is((x) => x === null || typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean'),
  IS_STRING: is((x) => typeof x === 'string'),
  // Strings
  CONCAT: { params: ['string', 'string'], variadic: true, returns: 'string', apply: (args) => (args.every((a) => typeof a === 'string') ? args.join('') : undefined) },
  LENGTH: { params: ['string'], returns: 'number', apply: str((s) => s.length) },
  LOWER: { params: ['string'], returns: 'string', apply: str((s) => s.toLowerCase()) },
  UPPER: { params: ['string'], returns: 'string', apply: str((s) => s.toUpperCase()) },
  SUBSTRING: {
    params: ['string', 'number', 'number'], optional: 1, returns: 'string',
    apply: ([s, start, length]) => {
      if (typeof s !== 'string' || typeof start !== 'number' || !Number.isFinite(start)) return undefined;
      if (length !== undefined && (typeof length !== 'number' || !Number.isFinite(length))) return undefined;
      const from = Math.max(0, Math.trunc(start));
      return length === undefined ? s.slice(from) : s.slice(from, from + Math.max(0, Math.trunc(length)));
    },
  },
  INDEX_OF: { params: ['string', 'string'], returns: 'number', apply: str2((s, fragment) => s.indexOf(fragment)) },
  STARTS_WITH: { params: ['string', 'string'], returns: 'boolean', apply: str2((s, prefix) => s.startsWith(prefix)) },
  ENDS_WITH: { params: ['string', 'string'], returns: 'boolean', apply: str2((s, suffix) => s.endsWith(suffix)) },
  CONTAINS: { params: ['string', 'string'], returns: 'boolean', apply: str2((s, part) => s.includes(part)) },
};

/** The function called `name` (upper case), or undefined; own properties only, never Object.prototype's. */
export function functionNamed(name: string): QueryFunction | undefined {
  return Object.hasOwn(FUNCTIONS, name) ? FUNCTIONS[name] : undefined;
}

/** "1 argument", "2 or 3 arguments", "at least 2 arguments". */
export function arityText(fn: QueryFunction): string {
  const max = fn.params.length;
  const min = max - (fn.optional ?? 0);
  const n = (k: number) => `${k} argument${k === 1 ? '' : 's'}`;
  if (fn.variadic) return `at least ${n(min)}`;
  return min === max ? n(max) : `${min} or ${n(max)}`;
}

export function acceptsArity(fn: QueryFunction, count: number): boolean {
  const max = fn.params.length;
  const min = max - (fn.optional ?? 0);
  return count >= min && (fn.variadic || count <= max);
}

export function paramType(fn: QueryFunction, index: number): ArgType {
  return fn.params[Math.min(index, fn.params.length - 1)]!;
}
