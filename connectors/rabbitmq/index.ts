export { rabbitmqConnector } from './rabbitmq.ts';
export { RabbitMqConfigSchema, type RabbitMqConfig } from './config.ts';
export { DEDUPE_HEADER, ENDPOINT_HEADER, ROUTE_HEADER, toAmqpMessage } from './amqp-message.ts';
