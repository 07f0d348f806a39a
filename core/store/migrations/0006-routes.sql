-- Message routing (IoT Hub "routing" resource: routes, custom endpoints, the fallback route), read by the router
-- processor and written by the service API. https://learn.microsoft.com/rest/api/iothub/iot-hub-resource/create-or-update
-- (RoutingProperties, RouteProperties, FallbackRouteProperties). Each endpoint is drained from the topic
-- iot.route.<name> by the connector its type names; the built-in endpoint `events` is implicit and has no row.

CREATE TABLE route_endpoints (
  -- Also a Kafka topic suffix, so held to what both IoT Hub and Kafka accept (core/log/topics.ts routeTopic).
  name        text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_-]{1,128}$' AND name <> 'events'),
  -- Which connector drains iot.route.<name>: kafka, storage, rabbitmq, webhook, clickhouse.
  type        text NOT NULL CHECK (type IN ('kafka', 'storage', 'rabbitmq', 'webhook', 'clickhouse')),
  -- Connector settings; opaque to the router.
  settings    jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(settings) = 'object'),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE routes (
  -- IoT Hub route names: letters, digits, '-', '_', '.', up to 64. `$fallback` is the fallback route.
  name            text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_.-]{1,64}$' OR name = '$fallback'),
  source          text NOT NULL CHECK (source IN ('DeviceMessages', 'TwinChangeEvents', 'DeviceLifecycleEvents', 'DeviceConnectionStateEvents')),
  -- IoT Hub routing-query text as written; compiled by the router (processors/router/query).
  condition       text NOT NULL DEFAULT 'true',
  -- Names of route_endpoints rows or 'events'; checked by RouteStore (a jsonb array cannot hold a foreign key).
  endpoint_names  jsonb NOT NULL CHECK (jsonb_typeof(endpoint_names) = 'array' AND jsonb_array_length(endpoint_names) >= 1),
  is_enabled      boolean NOT NULL DEFAULT true,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- One row; every change to routes or endpoints bumps it in the same transaction, so a router polls one cheap
-- value to know when to reload.
CREATE TABLE routing_state (
  id       int PRIMARY KEY CHECK (id = 1),
  version  bigint NOT NULL
);
INSERT INTO routing_state (id, version) VALUES (1, 0);
