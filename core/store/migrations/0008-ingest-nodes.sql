-- Live ingest nodes and their recent demand, so hub-wide throttles (limits.*PerSecond, iothub-wire.md §7.2) hold for
-- the hub rather than per node: every node writes its row every couple of seconds and takes a demand-weighted share
-- of each hub limit from the rows that are still fresh (ingest/gateway/hub-share.ts). Rows of dead nodes go stale and
-- are deleted by the survivors.

CREATE TABLE ingest_nodes (
  node_id       text PRIMARY KEY CHECK (char_length(node_id) BETWEEN 1 AND 200),
  -- Operations per second this node was asked for in its last interval, per limit: {"d2c": 812.5, "connect": 3}.
  demand        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(demand) = 'object'),
  heartbeat_at  timestamptz NOT NULL DEFAULT now()
);
