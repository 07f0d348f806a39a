/** Where files go. `put` resolves once the file is durable and complete under `name`, replacing any file of that name. */
export interface FileTarget {
  /** For logs and error messages; never contains credentials. */
  describe(): string;
  /** Checks what can be checked at start-up; throws ConfigInvalid only for what no retry fixes. */
  connect(): Promise<void>;
  /** Throws SinkError: retriable when the store is unavailable, not retriable when it refuses the file itself. */
  put(name: string, body: Buffer, contentType: string): Promise<void>;
  close(): Promise<void>;
}
