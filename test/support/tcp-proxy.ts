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
      client.pipe(upstream);
      if (this.held) upstream.pause();
      else upstream.pipe(client);
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

  /** Accepts connections again. */
  restore(): void {
    this.blocked = false;
  }

  /**
   * Forwards requests to the server but holds back its answers (connections stay open), like a
   * frozen server: statements still execute and commit, the client never hears back.
   */
  hold(): void {
    this.held = true;
    for (const { client, upstream } of this.pairs) {
      upstream.unpipe(client);
      upstream.pause();
    }
  }

  /** Delivers held answers and forwards again. */
  release(): void {
    this.held = false;
    for (const { client, upstream } of this.pairs) {
      upstream.pipe(client);
      upstream.resume();
    }
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }
}
