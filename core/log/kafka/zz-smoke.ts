import { Kafka, logLevel, Partitioners, CompressionTypes } from 'kafkajs';
const kafka = new Kafka({ brokers: ['127.0.0.1:9092'], clientId: 'smoke', logLevel: logLevel.WARN });
const admin = kafka.admin(); await admin.connect();
const t = 'smoke-' + Math.random().toString(36).slice(2, 8);
console.log('create', await admin.createTopics({ topics: [{ topic: t, numPartitions: 3 }] }));
console.log('create again', await admin.createTopics({ topics: [{ topic: t, numPartitions: 3 }] }));
try { console.log(await admin.fetchTopicMetadata({ topics: ['nope-' + t] })); } catch (e: any) { console.log('missing meta err', e.name, e.type, e.retriable, e.message); }
console.log(JSON.stringify(await admin.fetchTopicMetadata({ topics: [t] })));
const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
await p.connect();
const r = await p.sendBatch({ acks: -1, compression: CompressionTypes.GZIP, topicMessages: [{ topic: t, messages: [{ key: 'a', value: 'x', partition: 1 }, { key: 'b', value: null, partition: 1 }, { key: null, value: 'z', partition: 0 }] }] });
console.log(r);
try { await p.sendBatch({ acks: -1, topicMessages: [{ topic: t, messages: [{ value: Buffer.alloc(2_000_000), partition: 0 }] }] }); } catch (e: any) { console.log('big err', e.name, e.type, e.message, e.cause?.name, e.cause?.type); }
console.log(await admin.fetchTopicOffsets(t));
console.log(JSON.stringify(await admin.fetchOffsets({ groupId: 'g-' + t, topics: [t] })));
await p.disconnect(); await admin.deleteTopics({ topics: [t] }); await admin.disconnect();
