/**
 * Routing-key templates: `{deviceId}`, `devices.{deviceId}.{properties.kind}` … resolved per message, so one exchange
 * can fan telemetry out by device, module, route or an application property the way Service Bus topic subscriptions
 * filter on message properties. Placeholders are checked once at start-up; a value a message lacks becomes ''.
 */
import { TributaryError } from '../../core/errors/index.ts';
import type { RoutedMessage } from '../runtime/routed-message.ts';

type Part = string | ((message: RoutedMessage) => string);

const FIELDS: Record<string, (m: RoutedMessage) => string | null | undefined> = {
  deviceId: (m) => m.deviceId,
  moduleId: (m) => m.moduleId,
  messageId: (m) => m.messageId,
  endpoint: (m) => m.endpoint,
  route: (m) => m.route,
  source: (m) => m.source,
};
const MAPS = {
  properties: (m: RoutedMessage) => m.appProperties,
  enrichments: (m: RoutedMessage) => m.enrichments,
  systemProperties: (m: RoutedMessage) => m.systemProperties,
} as const;

export const TEMPLATE_PLACEHOLDERS = [...Object.keys(FIELDS), ...Object.keys(MAPS).map((k) => `${k}.<name>`)];

/** Compiles a template once; unknown placeholders fail start-up with the list of valid ones. */
export function compileTemplate(template: string, setting: string): (message: RoutedMessage) => string {
  const parts: Part[] = [];
  let rest = template;
  for (let match = /\{([^{}]*)\}/.exec(rest); match; match = /\{([^{}]*)\}/.exec(rest)) {
    if (match.index > 0) parts.push(rest.slice(0, match.index));
    parts.push(placeholder(match[1]!, template, setting));
    rest = rest.slice(match.index + match[0].length);
  }
  if (rest) parts.push(rest);
  if (parts.every((p) => typeof p === 'string')) {
    const fixed = parts.join('');
    return () => fixed;
  }
  return (message) => parts.map((p) => (typeof p === 'string' ? p : p(message))).join('');
}

function placeholder(name: string, template: string, setting: string): (message: RoutedMessage) => string {
  const field = Object.hasOwn(FIELDS, name) ? FIELDS[name] : undefined;
  if (field) return (m) => field(m) ?? '';
  const dot = name.indexOf('.');
  const prefix = name.slice(0, dot);
  const map = dot > 0 && Object.hasOwn(MAPS, prefix) ? MAPS[prefix as keyof typeof MAPS] : undefined;
  const key = name.slice(dot + 1);
  if (map && key) return (m) => (Object.hasOwn(map(m), key) ? map(m)[key]! : '');
  throw new TributaryError('ConfigInvalid', `${setting}: unknown placeholder {${name}} in "${template}"; use one of ${TEMPLATE_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}`);
}
