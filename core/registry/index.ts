export { DeviceRegistry, LIST_MAX, type DeviceRegistryOptions } from './device-registry.ts';
export { BULK_MAX_ITEMS } from './bulk.ts';
export { ID_RULE, EDGE_SYSTEM_MODULES, validateDeviceId, validateModuleId, isReservedModuleId, normalizeIfMatch } from './ids.ts';
export { NEVER } from './json-mapping.ts';
export type {
  ActivityUpdate, AuthType, AuthenticationJson, BulkError, BulkResult, ConnectionState, ConnectionStateUpdate, DeviceJson,
  DeviceStatus, IdentityCredentials, ModuleJson, RegistryChange, RegistryChangeKind, RegistryStatistics,
} from './types.ts';
