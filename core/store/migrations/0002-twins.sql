-- Device and module twins (IoT Hub twin document: tags, properties.desired, properties.reported, versions, etag).
-- https://learn.microsoft.com/azure/iot-hub/iot-hub-devguide-device-twins
-- The identity fields of the twin document (status, connectionState, …) are read from devices/modules, not copied.

CREATE TABLE twins (
  device_id         text NOT NULL REFERENCES devices (device_id) ON DELETE CASCADE,
  -- '' for the device's own twin, the module id for a module twin (a key column cannot be NULL).
  module_id         text NOT NULL DEFAULT '',
  -- NULL for device twins, so the foreign key below applies to module twins only (MATCH SIMPLE skips NULLs) and
  -- deleting a module deletes its twin.
  module_ref        text GENERATED ALWAYS AS (NULLIF(module_id, '')) STORED,
  -- Opaque; changes on every change to tags or desired properties (If-Match for service-side updates).
  etag              text NOT NULL,
  -- The twin's overall version: incremented on every change to any section.
  version           bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
  tags              jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(tags) = 'object'),
  -- properties.desired without $version/$metadata, which live in the columns beside it.
  desired           jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(desired) = 'object'),
  desired_version   bigint NOT NULL DEFAULT 1 CHECK (desired_version >= 1),
  -- $metadata: { "<prop>": { "$lastUpdated": …, "$lastUpdatedVersion": … }, "$lastUpdated": … }.
  desired_metadata  jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(desired_metadata) = 'object'),
  reported          jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(reported) = 'object'),
  reported_version  bigint NOT NULL DEFAULT 1 CHECK (reported_version >= 1),
  reported_metadata jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(reported_metadata) = 'object'),
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (device_id, module_id),
  CONSTRAINT twins_module FOREIGN KEY (device_id, module_ref) REFERENCES modules (device_id, module_id) ON DELETE CASCADE
);

-- IoT Hub queries filter on tags (SELECT * FROM devices WHERE tags.location.region = 'US'); jsonb_path_ops serves @>.
CREATE INDEX twins_tags ON twins USING gin (tags jsonb_path_ops);
