/**
 * A TCP proxy the tests can cut and restore, to take ClickHouse "down" mid-stream without touching the shared server:
 * `stop()` closes the listener and destroys every open connection (requests in flight lose their answer, though
 * ClickHouse may have executed them), `start()` listens again on the same port. With `dropResponses` set, requests
 * still reach ClickHouse (an INSERT is executed) but its answers are thrown away, so the client times out: the
 * "written, but the writer never heard" case that idempotent sinks exist for. `dropResponsesTo` limits that to
 * connections that sent a request matching it (e.g. /query=INSERT/), so other queries still get answers.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;
  dropResponses = false;
  dropResponsesTo: RegExp | undefined;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      let matched = false;
      client.on('data', (chunk: Buffer) => {
        if (this.dropResponsesTo?.test(chunk.toString('latin1'))) matched = true;
        upstream.write(chunk);
      });
      upstream.on('data', (chunk: Buffer) => {
        const drop = this.dropResponses && (this.dropResponsesTo === undefined || matched);
        if (!drop) client.write(chunk);
      });
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
