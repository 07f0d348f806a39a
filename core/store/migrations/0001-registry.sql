-- The identity registry (IoT Hub "Device", "Module" and shared access policy resources).
-- Column names are snake_case versions of IoT Hub's JSON fields, so the service API maps them one to one:
-- https://learn.microsoft.com/rest/api/iothub/service/devices/get-identity (Device, Module, AuthenticationMechanism).
-- Times IoT Hub reports as 0001-01-01T00:00:00Z ("never") are NULL here.

CREATE TABLE devices (
  -- Case-sensitive, up to 128 ASCII characters (IoT Hub identity registry rules); the service validates the charset.
  device_id                     text PRIMARY KEY CHECK (char_length(device_id) BETWEEN 1 AND 128),
  -- New on every create, so a deleted-and-recreated device is told apart from the old one.
  generation_id                 text NOT NULL,
  -- Opaque; changes on every update of the identity (If-Match on PUT/DELETE). The registry writes base64 of
  -- `version` ("MA==" for 0), as IoT Hub's etags look.
  etag                          text NOT NULL,
  -- Incremented on every change of the identity (not on connection state/activity, which IoT Hub does not version).
  version                       bigint NOT NULL DEFAULT 0 CHECK (version >= 0),
  status                        text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
  status_reason                 text CHECK (char_length(status_reason) <= 128),
  -- NULL until the status first changes (IoT Hub reports 0001-01-01T00:00:00Z for a device never enabled/disabled).
  status_updated_time           timestamptz,
  -- authentication.type: sas (symmetric keys), selfSigned (X.509 thumbprints), certificateAuthority (CA-signed,
  -- CN = device id), none (modules of edge devices, or not yet provisioned).
  auth_type                     text NOT NULL DEFAULT 'sas'
                                CHECK (auth_type IN ('sas', 'selfSigned', 'certificateAuthority', 'none')),
  -- authentication.symmetricKey: base64 keys (16–64 bytes). Secrets: never logged, never in error details.
  primary_key                   text,
  secondary_key                 text,
  -- authentication.x509Thumbprint: SHA-1 or SHA-256 hex thumbprints of self-signed certificates.
  primary_thumbprint            text,
  secondary_thumbprint          text,
  -- capabilities: { "iotEdge": boolean } — a document so later capabilities need no migration.
  capabilities                  jsonb NOT NULL DEFAULT '{"iotEdge": false}' CHECK (jsonb_typeof(capabilities) = 'object'),
  -- Edge scopes (deviceScope, parentScopes) for nested edge hierarchies.
  device_scope                  text,
  parent_scopes                 jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(parent_scopes) = 'array'),
  connection_state              text NOT NULL DEFAULT 'Disconnected' CHECK (connection_state IN ('Connected', 'Disconnected')),
  connection_state_updated_time timestamptz,
  last_activity_time            timestamptz,
  -- Pending (queued, not yet completed/rejected/expired) cloud-to-device messages; IoT Hub caps it at 50.
  cloud_to_device_message_count integer NOT NULL DEFAULT 0 CHECK (cloud_to_device_message_count >= 0),
  created_at                    timestamptz NOT NULL DEFAULT now(),
  updated_at                    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT devices_sas_has_keys CHECK (auth_type <> 'sas' OR (primary_key IS NOT NULL AND secondary_key IS NOT NULL)),
  CONSTRAINT devices_self_signed_has_thumbprint CHECK (auth_type <> 'selfSigned' OR primary_thumbprint IS NOT NULL)
);

-- Registry listings and statistics filter by these (GET /statistics/devices: total, enabled, disabled).
CREATE INDEX devices_status ON devices (status);
CREATE INDEX devices_connection_state ON devices (connection_state);

CREATE TABLE modules (
  device_id                     text NOT NULL REFERENCES devices (device_id) ON DELETE CASCADE,
  module_id                     text NOT NULL CHECK (char_length(module_id) BETWEEN 1 AND 128),
  generation_id                 text NOT NULL,
  etag                          text NOT NULL,
  version                       bigint NOT NULL DEFAULT 0 CHECK (version >= 0),
  -- managedBy: "iotEdge" for modules the edge runtime owns; modules have no enabled/disabled status in IoT Hub.
  managed_by                    text,
  auth_type                     text NOT NULL DEFAULT 'sas'
                                CHECK (auth_type IN ('sas', 'selfSigned', 'certificateAuthority', 'none')),
  primary_key                   text,
  secondary_key                 text,
  primary_thumbprint            text,
  secondary_thumbprint          text,
  connection_state              text NOT NULL DEFAULT 'Disconnected' CHECK (connection_state IN ('Connected', 'Disconnected')),
  connection_state_updated_time timestamptz,
  last_activity_time            timestamptz,
  cloud_to_device_message_count integer NOT NULL DEFAULT 0 CHECK (cloud_to_device_message_count >= 0),
  created_at                    timestamptz NOT NULL DEFAULT now(),
  updated_at                    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (device_id, module_id),
  CONSTRAINT modules_sas_has_keys CHECK (auth_type <> 'sas' OR (primary_key IS NOT NULL AND secondary_key IS NOT NULL)),
  CONSTRAINT modules_self_signed_has_thumbprint CHECK (auth_type <> 'selfSigned' OR primary_thumbprint IS NOT NULL)
);

-- Hub-level shared access policies (iothubowner, service, registryRead, …) whose keys sign service SAS tokens (skn=).
CREATE TABLE shared_access_policies (
  key_name      text PRIMARY KEY CHECK (char_length(key_name) BETWEEN 1 AND 64),
  primary_key   text NOT NULL,
  secondary_key text NOT NULL,
  -- IoT Hub's AccessRights flags; RegistryWrite implies RegistryRead when tokens are checked.
  rights        text[] NOT NULL CHECK (
                  cardinality(rights) > 0
                  AND rights <@ ARRAY['RegistryRead', 'RegistryWrite', 'ServiceConnect', 'DeviceConnect']::text[]
                ),
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
