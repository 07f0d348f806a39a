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
 *
 * Deadlines (no first bytes in time, a handshake that never finishes) are checked by one timer for the whole gate, not
 * by `socket.setTimeout` per socket: a socket keeps its Timeout object and bound callback for its whole life even
 * after the timeout is cleared, ~170 bytes on every idle connection, twice with Node's own TLS handshake timer
 * (issue 5: ≤ 20 KB per idle TLS connection). gateTlsServer turns Node's handshake timer off for that reason and the
 * gate enforces the same deadline.
 */
import type { Socket } from 'node:net';
import type { Server as TlsServer, TLSSocket } from 'node:tls';

export interface HandshakeGateOptions {
  /** Handshakes in progress at once. */
  maxActive: number;
  /** A slot is released after this long even if its handshake has not ended. */
  slotMs: number;
  /** A connection that has not been admitted this long after it opened is closed (it sent nothing, or waited too long). */
  firstBytesTimeoutMs: number;
  /** An admitted handshake that has not ended this long after admission is closed (Node's TLS handshakeTimeout: 120 s). */
  handshakeTimeoutMs?: number;
  /** Starts the TLS handshake on a socket whose first bytes are back in its read buffer. */
  start: (socket: Socket) => void;
  clock?: () => number;
}

export const DEFAULT_MAX_ACTIVE_HANDSHAKES = 128;
export const DEFAULT_HANDSHAKE_SLOT_MS = 2000;
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 120_000;
const MAX_EARLY_BYTES = 64 * 1024;
/** How often the deadlines are checked; they are tens of seconds, so a second late is fine. */
const DEADLINE_CHECK_MS = 1000;

/** A connection whose first bytes arrived, held (still reading, to notice a hang-up) until its turn. */
interface Waiting {
  socket: Socket;
  /** clock() when the connection entered the gate. */
  at: number;
  chunks: Buffer[];
  bytes: number;
  onData: (chunk: Buffer) => void;
  onEnd: () => void;
}

export class HandshakeGate {
  /** Admission times of the slots in use, oldest first. */
  private readonly slots: number[] = [];
  /** Connections not admitted yet (silent, or in line), in arrival order: the first-bytes deadline. */
  private readonly unadmitted = new Map<Socket, Waiting>();
  /** Admitted connections whose handshake has not ended, by admission time (in admission order): the handshake deadline. */
  private readonly handshaking = new Map<Socket, number>();
  /** The line of connections with first bytes; admitted entries before `head` are cleared, not kept. */
  private waiting: Array<Waiting | undefined> = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly clock: () => number;
  private readonly handshakeTimeoutMs: number;

  constructor(private readonly o: HandshakeGateOptions) {
    this.clock = o.clock ?? Date.now;
    this.handshakeTimeoutMs = o.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  }

  /** Connections waiting for a slot. */
  get queued(): number {
    return this.waiting.length - this.head;
  }

  /** Handshakes holding a slot. */
  get active(): number {
    return this.slots.length;
  }

  /** Connections the gate watches a deadline of (not yet admitted, or admitted and still handshaking). */
  get watched(): number {
    return this.unadmitted.size + this.handshaking.size;
  }

  /** A new TCP connection: waits for its first bytes, then for a slot. */
  enter(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    const entry: Waiting = { socket, at: this.clock(), chunks: [], bytes: 0, onData: ignore, onEnd: ignore };
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
    // A device that gave up (its CONNACK timeout) closes; skipping it saves a handshake nobody waits for. On 'close' too
    // (a reset): either way the entry leaves the deadline map at once instead of when the sweep reaches it.
    entry.onEnd = () => {
      this.unadmitted.delete(socket);
      socket.destroy();
    };
    this.unadmitted.set(socket, entry);
    socket.on('error', ignore);
    socket.on('data', entry.onData);
    socket.once('end', entry.onEnd);
    socket.once('close', entry.onEnd);
    this.watch();
  }

  /**
   * A handshake ended (secure, failed, or its client left): its slot goes to the next connection in line. `socket`, the
   * TCP socket the gate admitted, ends its handshake deadline.
   */
  done(socket?: Socket): void {
    this.slots.shift();
    if (socket !== undefined) this.handshaking.delete(socket);
    this.pump();
  }

  /** Closes the connections still waiting or handshaking; later ones are refused. */
  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.timer = undefined;
    for (const socket of this.unadmitted.keys()) socket.destroy();
    for (const socket of this.handshaking.keys()) socket.destroy();
    this.unadmitted.clear();
    this.handshaking.clear();
    this.waiting = [];
    this.head = 0;
  }

  /** Closes the connections past a deadline and reclaims expired slots (the gate's timer; tests call it with their clock). */
  checkDeadlines(): void {
    const now = this.clock();
    // Both maps are in deadline order (one timeout each, entries added as time goes on): stop at the first that is not due.
    for (const [socket, entry] of this.unadmitted) {
      if (!socket.destroyed && now - entry.at < this.o.firstBytesTimeoutMs) break;
      this.unadmitted.delete(socket);
      socket.destroy();
    }
    for (const [socket, at] of this.handshaking) {
      if (!socket.destroyed && now - at < this.handshakeTimeoutMs) break;
      this.handshaking.delete(socket);
      // The TLS socket on top of it then reports a tlsClientError (ECONNRESET), which ends its slot.
      socket.destroy();
    }
    this.pump();
  }

  private pump(): void {
    const now = this.clock();
    while (this.slots.length > 0 && now - this.slots[0]! >= this.o.slotMs) this.slots.shift();
    while (this.slots.length < this.o.maxActive && this.head < this.waiting.length) {
      const entry = this.waiting[this.head]!;
      // Cleared, not left in the array until the next compaction: it holds the socket.
      this.waiting[this.head++] = undefined;
      const { socket, chunks, onData, onEnd } = entry;
      this.unadmitted.delete(socket);
      if (socket.destroyed) continue;
      this.slots.push(now);
      this.handshaking.set(socket, now);
      socket.off('error', ignore);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      // Back into the read buffer: the TLS socket that takes the handle over reads buffered bytes first.
      socket.pause();
      for (let i = chunks.length - 1; i >= 0; i--) socket.unshift(chunks[i]!);
      this.o.start(socket);
    }
    if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting = this.waiting.slice(this.head);
      this.head = 0;
    }
    if (this.queued === 0 && this.head > 0) {
      this.waiting = [];
      this.head = 0;
    }
    this.watch();
  }

  /** One timer while anything has a deadline or waits for a slot (expired slots must be noticed even if no handshake ends). */
  private watch(): void {
    const busy = !this.closed && (this.queued > 0 || this.watched > 0);
    if (busy && this.timer === undefined) {
      this.timer = setInterval(() => this.checkDeadlines(), Math.min(DEADLINE_CHECK_MS, Math.max(10, this.o.slotMs / 4)));
      this.timer.unref();
    } else if (!busy && this.timer !== undefined) {
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
export function gateTlsServer(
  server: TlsServer,
  o: { maxActive?: number; slotMs?: number; firstBytesTimeoutMs?: number; handshakeTimeoutMs?: number; clock?: () => number } = {},
): HandshakeGate {
  const startHandshake = server.listeners('connection')[0] as ((socket: Socket) => void) | undefined;
  if (startHandshake === undefined) throw new Error('the TLS server has no connection listener to gate');
  server.removeListener('connection', startHandshake);
  const gate = new HandshakeGate({
    maxActive: o.maxActive ?? DEFAULT_MAX_ACTIVE_HANDSHAKES,
    slotMs: o.slotMs ?? DEFAULT_HANDSHAKE_SLOT_MS,
    firstBytesTimeoutMs: o.firstBytesTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
    handshakeTimeoutMs: o.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
    ...(o.clock ? { clock: o.clock } : {}),
    start: (socket) => {
      startHandshake.call(server, socket);
      // Node's TLS socket waits for a 'connect' that an accepted socket never emits; the listener (a once-wrapper, its
      // state and a closure over the TLS socket) would stay on the TCP socket for the connection's lifetime.
      socket.removeAllListeners('connect');
    },
  });
  server.on('connection', (socket: Socket) => gate.enter(socket));
  // Node reports every handshake it started exactly once: secure, or a tlsClientError (failure, timeout, hang-up).
  server.on('secureConnection', (tls: TLSSocket) => gate.done(tcpSocketOf(tls)));
  server.on('tlsClientError', (_err: Error, tls: TLSSocket) => gate.done(tcpSocketOf(tls)));
  return gate;
}

/** The TCP socket a server-side TLS socket was made from (Node keeps it as `_parent`). */
function tcpSocketOf(tls: TLSSocket): Socket | undefined {
  return (tls as TLSSocket & { _parent?: Socket })._parent ?? undefined;
}

/**
 * Options for a TLS server that gateTlsServer will gate: Node's per-socket handshake timer off (the gate enforces that
 * deadline with one timer). Node takes 0 as "the default, 120 s"; only a negative value turns its timer off.
 */
export const GATED_TLS_SERVER_OPTIONS = { handshakeTimeout: -1 } as const;
