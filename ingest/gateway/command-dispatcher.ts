/**
 * The device-bound path (DESIGN.md §2): C2D messages, method requests, desired-property patches and twin responses are
 * produced to `iot.cloud.commands` by whichever role creates them; every ingest node reads the whole topic with its
 * own consumer group and hands each command to the device's connection if that connection is on this node. Nodes
 * without the device skip the record, so delivery does not depend on knowing where a device is connected.
 * Commands that are already expired, or addressed to another node (`targetNode`), are skipped.
 */
import { TOPICS } from '../../core/log/topics.ts';
import type { Consumer, Log, RecordBatch } from '../../core/log/types.ts';
import type { Logger } from '../../core/logging/logger.ts';
import type { AvroSerde } from '../../core/serde/avro-serde.ts';
import type { CloudCommand } from '../../core/serde/records.ts';
import type { ConnectionRegistry } from './connection-registry.ts';

export interface CommandDispatcherOptions {
  nodeId: string;
  log: Log;
  serde: AvroSerde;
  topic: string;
  connections: ConnectionRegistry;
  logger: Logger;
}

export class CommandDispatcher {
  private consumer: Consumer | undefined;
  /** Commands handed to a connection since start (metrics, tests). */
  delivered = 0;

  constructor(private readonly o: CommandDispatcherOptions) {}

  async start(): Promise<void> {
    // Each node needs every command: a consumer group of its own, starting at the end (older commands were for
    // connections that no longer exist; pending C2D messages are kept in the store by the C2D role, not here).
    this.consumer = this.o.log.consumer({ groupId: `ingest-commands-${this.o.nodeId}`, topics: [this.o.topic], fromBeginning: false });
    await this.consumer.start((batch) => this.onBatch(batch));
  }

  private async onBatch(batch: RecordBatch): Promise<void> {
    const now = Date.now();
    for (const record of batch.records) {
      if (record.value === null) continue;
      let command: CloudCommand;
      try {
        command = await this.o.serde.decode<CloudCommand>(record.value, TOPICS.cloudCommands);
      } catch (err) {
        this.o.logger.warn({ err, partition: record.partition, offset: record.offset }, 'unreadable cloud command skipped');
        continue;
      }
      if (command.targetNode && command.targetNode !== this.o.nodeId) continue;
      const handle = this.o.connections.get({ deviceId: command.deviceId, moduleId: command.moduleId });
      if (handle === undefined) continue;
      if (command.expiryTime !== null && command.expiryTime !== undefined && command.expiryTime < now) {
        this.o.logger.debug({ commandId: command.commandId, device: command.deviceId }, 'expired command not delivered');
        continue;
      }
      if (command.kind === 'Disconnect') {
        handle.close(`the service asked to disconnect the device${command.reason ? `: ${command.reason}` : ''}`);
        continue;
      }
      try {
        handle.deliver(command);
        this.delivered++;
      } catch (err) {
        this.o.logger.warn({ err, commandId: command.commandId, device: command.deviceId }, 'command not delivered');
      }
    }
    await this.consumer?.commit([{ topic: batch.topic, partition: batch.partition, offset: batch.nextOffset }]);
  }

  async close(): Promise<void> {
    await this.consumer?.stop();
  }
}
