export { kafkaConnector } from './kafka.ts';
export { KafkaConnectorConfigSchema, type KafkaConnectorConfig } from './config.ts';
export { toJson, toKafkaRecord, type RoutedMessageJson } from './kafka-record.ts';
