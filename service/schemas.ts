/**
 * JSON Schemas of the request bodies (TypeBox), used by fastify to validate before any handler runs and by
 * @fastify/swagger for the OpenAPI document. They check shape and types; the registry checks meaning (id rules, keys).
 * Extra fields are allowed because the SDK sends its whole local object (read-only fields included) and IoT Hub
 * ignores what it does not use.
 */
import { Type, type TSchema } from '@sinclair/typebox';

const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const open = { additionalProperties: true } as const;

export const AuthenticationSchema = Type.Object(
  {
    type: Type.Optional(Type.Union(['sas', 'selfSigned', 'certificateAuthority', 'none'].map((t) => Type.Literal(t)))),
    symmetricKey: Type.Optional(nullable(Type.Object({ primaryKey: Type.Optional(nullable(Type.String())), secondaryKey: Type.Optional(nullable(Type.String())) }, open))),
    x509Thumbprint: Type.Optional(nullable(Type.Object({ primaryThumbprint: Type.Optional(nullable(Type.String())), secondaryThumbprint: Type.Optional(nullable(Type.String())) }, open))),
  },
  open,
);

export const DeviceBodySchema = Type.Object(
  {
    deviceId: Type.Optional(Type.String({ description: 'Must equal the id in the path when present.' })),
    status: Type.Optional(Type.Union([Type.Literal('enabled'), Type.Literal('disabled')])),
    statusReason: Type.Optional(nullable(Type.String({ maxLength: 128 }))),
    authentication: Type.Optional(AuthenticationSchema),
    capabilities: Type.Optional(nullable(Type.Object({ iotEdge: Type.Optional(Type.Boolean()) }, open))),
    etag: Type.Optional(nullable(Type.String())),
  },
  { ...open, $id: 'Device', description: 'Device identity (IoT Hub shape; read-only fields are ignored on input).' },
);

export const ModuleBodySchema = Type.Object(
  {
    deviceId: Type.Optional(Type.String()),
    moduleId: Type.Optional(Type.String()),
    managedBy: Type.Optional(nullable(Type.String())),
    authentication: Type.Optional(AuthenticationSchema),
    etag: Type.Optional(nullable(Type.String())),
  },
  { ...open, $id: 'Module', description: 'Module identity (IoT Hub shape).' },
);

export const BulkBodySchema = Type.Array(
  Type.Object(
    {
      id: Type.String({ minLength: 1 }),
      importMode: Type.String({ description: 'create, update, updateIfMatchETag, delete or deleteIfMatchETag (any case).' }),
      eTag: Type.Optional(nullable(Type.String())),
      status: Type.Optional(Type.String()),
      authentication: Type.Optional(AuthenticationSchema),
    },
    open,
  ),
  { description: 'Bulk registry operations, 1 to 100 per request (IoT Hub\'s limit).' },
);

export const DeviceParams = Type.Object({ deviceId: Type.String({ minLength: 1 }) });
export const ModuleParams = Type.Object({ deviceId: Type.String({ minLength: 1 }), moduleId: Type.String({ minLength: 1 }) });
export const ListQuery = Type.Object({ top: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })), 'api-version': Type.Optional(Type.String()) }, open);
