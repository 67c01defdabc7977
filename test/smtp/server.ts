/**
 * A real SMTP server in this process (the smtp-server package) for the SMTP tests: it keeps every message it
 * accepts, and can be told to require a login, refuse recipients or refuse a message with a given code.
 */
import * as net from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

export interface Captured {
  from: string;
  to: string[];
  raw: string;
  /** A header's value (unfolded), by case-insensitive name. */
  header(name: string): string | undefined;
  user?: string;
}

export interface TestSmtpServer {
  port: number;
  messages: Captured[];
  /** Connections the server saw open (to tell a pooled connection from a new one). */
  connections: number;
  close(): Promise<void>;
}

export interface TestSmtpOptions {
  /** Listen on this port (default: any free one). */
  port?: number;
  /** A login is required, and only this one is accepted. */
  auth?: { user: string; pass: string };
  /** Offer STARTTLS (with smtp-server's own self-signed certificate). Default false. */
  starttls?: boolean;
  /** The reply to RCPT TO for an address: a code >= 400 refuses it with that code. */
  rcpt?: (address: string) => number | undefined;
  /** The reply at the end of DATA: a code >= 400 refuses the message. */
  data?: (raw: string) => number | undefined;
}

export async function startSmtpServer(options: TestSmtpOptions = {}): Promise<TestSmtpServer> {
  const state = { messages: [] as Captured[], connections: 0 };
  const refuse = (code: number, text: string) => Object.assign(new Error(text), { responseCode: code });
  const config: SMTPServerOptions = {
    logger: false,
    authOptional: !options.auth,
    allowInsecureAuth: true,
    disabledCommands: options.starttls ? [] : ['STARTTLS'],
    onConnect(_session, callback) {
      state.connections += 1;
      callback();
    },
    onAuth(auth, _session, callback) {
      if (options.auth && auth.username === options.auth.user && auth.password === options.auth.pass) return callback(null, { user: auth.username });
      return callback(refuse(535, 'Authentication credentials invalid'));
    },
    onRcptTo(address, _session, callback) {
      const code = options.rcpt?.(address.address);
      if (code && code >= 400) return callback(refuse(code, code >= 500 ? `No such user ${address.address}` : `Mailbox ${address.address} busy, try later`));
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const code = options.data?.(raw);
        if (code && code >= 400) return callback(refuse(code, 'Message refused by content policy'));
        state.messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          header: (name) => headerOf(raw, name),
          user: typeof session.user === 'string' ? session.user : undefined,
        });
        callback();
      });
    },
  };
  const server = new SMTPServer(config);
  const port = await new Promise<number>((resolve, reject) => {
    server.on('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve((server.server.address() as net.AddressInfo).port));
  });
  return {
    port,
    get messages() {
      return state.messages;
    },
    get connections() {
      return state.connections;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function headerOf(raw: string, name: string): string | undefined {
  const head = raw.split(/\r?\n\r?\n/, 1)[0].replace(/\r?\n[ \t]+/g, ' ');
  const wanted = name.toLowerCase();
  for (const line of head.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && line.slice(0, i).trim().toLowerCase() === wanted) return line.slice(i + 1).trim();
  }
  return undefined;
}

/** A port where nothing listens (it was listened on, then closed). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A server that accepts connections and never says a word (no SMTP greeting). */
export async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
