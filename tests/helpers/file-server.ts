// A local HTTP server (127.0.0.1 only) that serves one file with Range/ETag, and misbehaves on request: drops the
// connection part-way, ignores Range, answers 404/503, never answers, or stalls. Also a CONNECT proxy.

import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface ServedRequest {
  readonly path: string;
  readonly range: string | undefined;
  readonly ifRange: string | undefined;
  /** What was answered: a status, or 'hang'. */
  status: number | 'hang';
  /** Body bytes written before the end or the drop. */
  sentBytes: number;
}

/** Each field applies to the request numbers listed in `on` (1-based), or to every request when `on` is absent. */
export interface Misbehaviour {
  /** Drop the connection after sending this many body bytes. */
  cutAfterBytes?: number;
  /** Send this many body bytes, then nothing more (the connection stays open). */
  stallAfterBytes?: number;
  /** Answer 200 with the whole file whatever Range says. */
  ignoreRange?: boolean;
  /** Answer this status with a short text body. */
  status?: number;
  /** Never answer. */
  hang?: boolean;
  on?: readonly number[];
}

export class TestFileServer {
  readonly requests: ServedRequest[] = [];
  /** Change between requests to change what the next ones get. */
  misbehaviour: Misbehaviour = {};
  readonly etag = '"vgg19-test-1"';

  private constructor(
    private readonly server: http.Server,
    private readonly bytes: Uint8Array,
  ) {}

  static async start(bytes: Uint8Array): Promise<TestFileServer> {
    const server = http.createServer();
    const instance = new TestFileServer(server, bytes);
    server.on('request', (req, res) => instance.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return instance;
  }

  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** A URL of the file; `/redirect/NAME` answers 302 to `/NAME`. */
  url(name = 'vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5'): string {
    return `${this.origin}/${name}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const record: ServedRequest = {
      path: req.url ?? '',
      range: req.headers.range,
      ifRange: req.headers['if-range'] as string | undefined,
      status: 200,
      sentBytes: 0,
    };
    this.requests.push(record);
    const n = this.requests.length;
    const m = this.misbehaviour;
    const applies = (value: unknown): boolean => value !== undefined && value !== false && (!m.on || m.on.includes(n));

    if (record.path.startsWith('/redirect/')) {
      record.status = 302;
      res.writeHead(302, { location: record.path.slice('/redirect'.length) }).end();
      return;
    }
    if (applies(m.hang)) {
      record.status = 'hang';
      return;
    }
    if (applies(m.status)) {
      record.status = m.status!;
      res.writeHead(m.status!, { 'content-type': 'text/plain' }).end(`status ${m.status}`);
      return;
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    const honour = range && !applies(m.ignoreRange) && (ifRange === undefined || ifRange === this.etag);
    const start = honour ? Number(range[1]) : 0;
    if (start > this.bytes.length) {
      record.status = 416;
      res.writeHead(416, { 'content-range': `bytes */${this.bytes.length}` }).end();
      return;
    }
    const body = this.bytes.subarray(start);
    const headers = { etag: this.etag, 'accept-ranges': 'bytes', 'content-length': body.length, 'content-type': 'application/octet-stream' };
    record.status = start > 0 ? 206 : 200;
    res.writeHead(
      record.status,
      start > 0 ? { ...headers, 'content-range': `bytes ${start}-${this.bytes.length - 1}/${this.bytes.length}` } : headers,
    );
    const cut = applies(m.cutAfterBytes) ? m.cutAfterBytes! : applies(m.stallAfterBytes) ? m.stallAfterBytes! : null;
    if (cut === null || cut >= body.length) {
      record.sentBytes = body.length;
      res.end(body);
      return;
    }
    record.sentBytes = cut;
    // Once the bytes are handed to the kernel, drop the connection (or just stop sending).
    res.write(body.subarray(0, cut), () => {
      if (applies(m.cutAfterBytes)) res.socket?.destroy();
    });
  }
}

/** An HTTP proxy that tunnels CONNECT (what undici's ProxyAgent sends) and counts the tunnels it opened. */
export class TestProxy {
  readonly tunnels: string[] = [];
  private readonly sockets = new Set<net.Socket>();

  private constructor(private readonly server: http.Server) {}

  static async start(): Promise<TestProxy> {
    const server = http.createServer((_req, res) => res.writeHead(405).end());
    const proxy = new TestProxy(server);
    server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
      proxy.tunnels.push(req.url ?? '');
      const [host = '127.0.0.1', port = '80'] = (req.url ?? '').split(':');
      const upstream = net.connect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length > 0) upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      for (const socket of [client, upstream]) {
        proxy.sockets.add(socket);
        socket.on('error', () => {});
        socket.on('close', () => proxy.sockets.delete(socket));
      }
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
