import { Type, type Static } from '@sinclair/typebox';

export const KafkaConnectorConfigSchema = Type.Object(
  {
    topic: Type.String({
      pattern: '^[A-Za-z0-9._-]{1,249}$',
      description: 'Topic the routed records are re-published to — the Event Hubs role. Keyed by device id, so one device stays in order.',
    }),
    brokers: Type.Optional(Type.Array(Type.String({ minLength: 1 }), {
      minItems: 1,
      description: "Bootstrap brokers (`host:port`) of another Kafka cluster. Absent: the hub's own log (its Kafka, or the embedded log).",
    })),
    clientId: Type.String({ default: 'tributary-connector-kafka', description: 'Kafka client id used with `brokers`.' }),
    format: Type.Union([Type.Literal('json'), Type.Literal('avro')], {
      default: 'json',
      description: '`json`: the routed message as one JSON object (IoT Hub system properties, application properties, enrichments, body). ' +
        "`avro`: the original record's value unchanged (Confluent wire format, schema id of the hub's schema registry — readers need that registry).",
    }),
    createTopic: Type.Boolean({ default: true, description: 'Create the topic on connect when it does not exist (auto topic creation is off on the hub\'s Kafka).' }),
    partitions: Type.Integer({ minimum: 1, default: 3, description: 'Partitions of the topic when the connector creates it.' }),
    headers: Type.Boolean({
      default: true,
      description: 'Copy application properties and IoT Hub system properties (message-id, iothub-connection-device-id, …) to record headers, as Event Hubs exposes them.',
    }),
  },
  { additionalProperties: false },
);

export type KafkaConnectorConfig = Static<typeof KafkaConnectorConfigSchema>;
