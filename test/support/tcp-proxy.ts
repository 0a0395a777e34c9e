import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on loopback that can cut every connection and refuse new ones, to simulate a
 * network outage between the app and its database without touching the server, or hold back
 * everything the server sends, to simulate a server that has frozen (SIGSTOP) while its
 * connections stay open.
 */
export class TcpProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>();
  private blocked = false;
  private held = false;
  private muted = false;
  private muteTrigger?: Buffer;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      if (this.blocked) {
        client.destroy();
        return;
      }
      const upstream = connect(this.targetPort, this.targetHost);
      const pair = { client, upstream };
      this.pairs.add(pair);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => {
          this.sockets.delete(s);
          this.pairs.delete(pair);
        });
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      let tail = Buffer.alloc(0);
      client.on('data', (chunk: Buffer) => {
        if (this.muteTrigger) {
          const seen = Buffer.concat([tail, chunk]);
          if (seen.includes(this.muteTrigger)) {
            this.muted = true;
            this.muteTrigger = undefined;
          }
          tail = seen.subarray(Math.max(0, seen.length - 16));
        }
      });
      client.pipe(upstream);
      if (this.held) upstream.pause();
      // Replies are dropped while muted: the server acts on what it receives, the client never
      // hears back (a commit whose acknowledgement is lost).
      upstream.on('data', (chunk: Buffer) => {
        if (!this.muted) client.write(chunk);
      });
      upstream.on('end', () => client.end());
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
  }

  /** Resets every open connection and refuses new ones until `restore()`. */
  cut(): void {
    this.blocked = true;
    for (const s of this.sockets) s.resetAndDestroy();
    this.sockets.clear();
  }

  /** Accepts connections again (and forwards replies again). */
  restore(): void {
    this.blocked = false;
    this.muted = false;
    this.muteTrigger = undefined;
  }

  /** Keeps forwarding what clients send but drops every reply of the server until `restore()`. */
  muteReplies(): void {
    this.muted = true;
  }

  /**
   * Mutes replies (as `muteReplies`) from the moment a client sends `bytes`, e.g. the end of a
   * COPY: the server gets the whole statement and commits it, its answer is lost.
   */
  muteRepliesAfter(bytes: Buffer): void {
    this.muteTrigger = bytes;
  }

  /**
   * Forwards requests to the server but holds back its answers (connections stay open), like a
   * frozen server: statements still execute and commit, the client never hears back.
   */
  hold(): void {
    this.held = true;
    for (const { upstream } of this.pairs) upstream.pause();
  }

  /** Delivers held answers and forwards again. */
  release(): void {
    this.held = false;
    for (const { upstream } of this.pairs) upstream.resume();
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }
}
