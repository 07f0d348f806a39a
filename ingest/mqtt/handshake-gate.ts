/**
 * Admission for TLS handshakes: at most `maxActive` run at once, the others wait their turn in arrival order.
 *
 * Why (issue 5, 1,000 connects/s): Node accepts every pending connection at once and advances all their handshakes
 * together, one round trip at a time, each step queued behind the steps of every other connection. When connects
 * arrive faster than the CPU completes handshakes, all of them slow down together and thousands pass the devices'
 * CONNACK timeout at about the same moment, although the CPU was busy all along. Admitting them first come, first
 * served keeps each admitted handshake fast: the backlog waits *before* its handshake starts, so a device's wait grows
 * with the number of devices ahead of it instead of with the whole burst. No device sees another difference: the
 * handshake and CONNECT are unchanged, only when they start.
 *
 * A connection asks for a slot once its first bytes (the ClientHello) arrived, so idle TCP connections hold none;
 * one that hangs up while it waits is dropped from the line, so its handshake is never computed.
 * A slot is given back when a handshake ends (secure, failed or aborted; the server reports each once) or after
 * `slotMs` at the latest, so a client that stalls mid-handshake delays the queue by that long at most.
 */
import type { Socket } from 'node:net';
import type { Server as TlsServer } from 'node:tls';

export interface HandshakeGateOptions {
  /** Handshakes in progress at once. */
  maxActive: number;
  /** A slot is released after this long even if its handshake has not ended. */
  slotMs: number;
  /** A connection that sends nothing for this long before its turn is closed (Node's TLS handshakeTimeout is 120 s). */
  firstBytesTimeoutMs: number;
  /** Starts the TLS handshake on a socket whose first bytes are back in its read buffer. */
  start: (socket: Socket) => void;
  clock?: () => number;
}

export const DEFAULT_MAX_ACTIVE_HANDSHAKES = 128;
export const DEFAULT_HANDSHAKE_SLOT_MS = 2000;
const MAX_EARLY_BYTES = 64 * 1024;

/** A connection whose first bytes arrived, held (still reading, to notice a hang-up) until its turn. */
interface Waiting {
  socket: Socket;
  chunks: Buffer[];
  bytes: number;
  onData: (chunk: Buffer) => void;
  onEnd: () => void;
}

export class HandshakeGate {
  /** Admission times of the slots in use, oldest first. */
  private readonly slots: number[] = [];
  private waiting: Waiting[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly clock: () => number;

  constructor(private readonly o: HandshakeGateOptions) {
    this.clock = o.clock ?? Date.now;
  }

  /** Connections waiting for a slot. */
  get queued(): number {
    return this.waiting.length - this.head;
  }

  /** Handshakes holding a slot. */
  get active(): number {
    return this.slots.length;
  }

  /** A new TCP connection: waits for its first bytes, then for a slot. */
  enter(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    const entry: Waiting = { socket, chunks: [], bytes: 0, onData: ignore, onEnd: ignore };
    entry.onData = (chunk: Buffer) => {
      entry.chunks.push(chunk);
      entry.bytes += chunk.length;
      // A ClientHello is a few hundred bytes; whoever sends more before its turn is not doing TLS.
      if (entry.bytes > MAX_EARLY_BYTES) return void socket.destroy();
      if (entry.chunks.length === 1) {
        this.waiting.push(entry);
        this.pump();
      }
    };
    // A device that gave up (its CONNACK timeout) closes; skipping it saves a handshake nobody waits for.
    entry.onEnd = () => socket.destroy();
    // onEnd doubles as the timeout callback so that admission can remove it again (pump).
    socket.setTimeout(this.o.firstBytesTimeoutMs, entry.onEnd);
    socket.on('error', ignore);
    socket.on('data', entry.onData);
    socket.once('end', entry.onEnd);
  }

  /** A handshake ended (secure, failed, or its client left): its slot goes to the next connection in line. */
  done(): void {
    this.slots.shift();
    this.pump();
  }

  /** Closes the connections still waiting; later ones are refused. */
  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.timer = undefined;
    for (let i = this.head; i < this.waiting.length; i++) this.waiting[i]!.socket.destroy();
    this.waiting = [];
    this.head = 0;
  }

  private pump(): void {
    const now = this.clock();
    while (this.slots.length > 0 && now - this.slots[0]! >= this.o.slotMs) this.slots.shift();
    while (this.slots.length < this.o.maxActive && this.head < this.waiting.length) {
      const { socket, chunks, onData, onEnd } = this.waiting[this.head++]!;
      if (socket.destroyed) continue;
      this.slots.push(now);
      // With its callback: a 'timeout' listener left on the socket would keep this entry, its ClientHello bytes and
      // closures alive for the connection's lifetime (~1 KB on every idle connection, issue 5).
      socket.setTimeout(0, onEnd);
      socket.off('error', ignore);
      socket.off('data', onData);
      socket.off('end', onEnd);
      // Back into the read buffer: the TLS socket that takes the handle over reads buffered bytes first.
      socket.pause();
      for (let i = chunks.length - 1; i >= 0; i--) socket.unshift(chunks[i]!);
      chunks.length = 0; // the entry may stay in `waiting` a while longer; the bytes need not
      this.o.start(socket);
    }
    if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting = this.waiting.slice(this.head);
      this.head = 0;
    }
    // While connections wait, expired slots must be noticed even if no handshake ends.
    if (this.queued > 0 && this.timer === undefined) {
      this.timer = setInterval(() => this.pump(), Math.max(10, this.o.slotMs / 4));
      this.timer.unref();
    } else if (this.queued === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}

function ignore(): void {}

/**
 * Puts a gate in front of a TLS server's handshakes: its own connection listener (which starts the handshake) runs
 * only when the gate admits the socket.
 */
export function gateTlsServer(server: TlsServer, o: { maxActive?: number; slotMs?: number; firstBytesTimeoutMs?: number } = {}): HandshakeGate {
  const startHandshake = server.listeners('connection')[0] as ((socket: Socket) => void) | undefined;
  if (startHandshake === undefined) throw new Error('the TLS server has no connection listener to gate');
  server.removeListener('connection', startHandshake);
  const gate = new HandshakeGate({
    maxActive: o.maxActive ?? DEFAULT_MAX_ACTIVE_HANDSHAKES,
    slotMs: o.slotMs ?? DEFAULT_HANDSHAKE_SLOT_MS,
    firstBytesTimeoutMs: o.firstBytesTimeoutMs ?? 120_000,
    start: (socket) => startHandshake.call(server, socket),
  });
  server.on('connection', (socket: Socket) => gate.enter(socket));
  // Node reports every handshake it started exactly once: secure, or a tlsClientError (failure, timeout, hang-up).
  server.on('secureConnection', () => gate.done());
  server.on('tlsClientError', () => gate.done());
  return gate;
}
