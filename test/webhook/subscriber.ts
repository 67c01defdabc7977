/**
 * A real webhook subscriber for the tests: a local HTTP server that verifies every request it receives with the
 * `standardwebhooks` package (what a subscriber would run) and answers as the test scripts it.
 */
import * as http from 'node:http';
import type * as net from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** What `new Webhook(secret).verify(body, headers)` said: the parsed event, or the error. */
  verified: boolean;
  verifyError?: string;
}

/** How the subscriber answers one request. */
export type Answer = (res: http.ServerResponse, req: http.IncomingMessage) => void;

export const reply =
  (status: number, headers: Record<string, string> = {}, body = ''): Answer =>
  (res) => {
    res.writeHead(status, headers);
    res.end(body);
  };
/** Never answers (the test's timeout must end the wait). */
export const hang: Answer = () => undefined;
/** Cuts the connection without an answer. */
export const reset: Answer = (_res, req) => req.socket.destroy();

export class Subscriber {
  readonly received: Received[] = [];
  private readonly answers: Answer[] = [];
  private readonly server: http.Server;
  url = '';

  constructor(private readonly secret: string) {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const entry: Received = { path: req.url ?? '', headers: req.headers, body, verified: false };
        try {
          new Webhook(this.secret).verify(body, req.headers as Record<string, string>, { jsonParse: false });
          entry.verified = true;
        } catch (err) {
          entry.verifyError = String(err);
        }
        this.received.push(entry);
        (this.answers.shift() ?? reply(204))(res, req);
      });
    });
  }

  /** The next answers, in order; after them every request gets 204. */
  answer(...answers: Answer[]): this {
    this.answers.push(...answers);
    return this;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    this.url = `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A port nothing listens on (bound once, then closed). */
export async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
