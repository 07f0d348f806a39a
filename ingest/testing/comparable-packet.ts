import type { Packet } from 'mqtt-packet';

/**
 * A packet in a form deepEqual can compare with mqtt-packet's own: keys whose value is undefined dropped, null-prototype
 * user properties as plain objects (our decoder always sets every field; mqtt-packet leaves absent ones out).
 */
export function comparablePacket(p: Packet): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) if (v !== undefined) out[k] = v;
  const props = out.properties as Record<string, unknown> | undefined;
  if (props?.userProperties) out.properties = { ...props, userProperties: { ...props.userProperties } };
  return out;
}
