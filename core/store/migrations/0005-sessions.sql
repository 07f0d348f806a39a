-- MQTT persistent sessions (CleanSession 0): the subscriptions of each client id, kept in the shared store so a device
-- that reconnects through any ingest node (behind a load balancer) gets them back. The Azure IoT device SDK relies on
-- this: after a SAS-renewal reconnect it re-subscribes to nothing (iothub-wire.md §0.4, §2.8).

CREATE TABLE mqtt_sessions (
  -- The MQTT client id as sent: `{deviceId}` or `{deviceId}/{moduleId}` (iothub-wire.md §2.1).
  client_id      text PRIMARY KEY CHECK (char_length(client_id) BETWEEN 1 AND 300),
  -- The identity that owns the session; deleting the device deletes its sessions (and its modules').
  device_id      text NOT NULL REFERENCES devices (device_id) ON DELETE CASCADE,
  -- '' for a device's own session.
  module_id      text NOT NULL DEFAULT '',
  -- [{ "topic": "devices/d1/messages/devicebound/#", "qos": 1 }, …]; at most 5 entries (IoT Hub's limit).
  subscriptions  jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(subscriptions) = 'array'),
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX mqtt_sessions_device ON mqtt_sessions (device_id);
