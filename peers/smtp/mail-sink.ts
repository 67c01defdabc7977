/**
 * A local mail sink for the demo and for teams' own tests: a real SMTP server (the npm smtp-server) that accepts
 * every message and keeps it as an .eml file (any mail program opens it) and in memory. Nothing is relayed.
 *
 *   const sink = await MailSink.start({ port: 18025, dir: '/tmp/mail' });
 *   // SMTP_HOST=127.0.0.1 SMTP_PORT=sink.port SMTP_SECURE=none; sink.messages; await sink.stop()
 */
import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as path from 'node:path';
import { SMTPServer } from 'smtp-server';

export interface SinkMessage {
  from: string;
  to: string[];
  messageId: string;
  subject: string;
  /** Where the .eml file is (when the sink has a folder). */
  file?: string;
  raw: string;
}

export interface MailSinkOptions {
  port?: number;
  host?: string;
  /** Folder for the .eml files (created); none: memory only. */
  dir?: string;
  /** How long stop() waits for clients to hang up before it closes their connections (ms, default 500). */
  closeTimeoutMs?: number;
  /** How many messages memory keeps (oldest dropped); the files stay. */
  keep?: number;
}

/** A header of a raw message, unfolded (no MIME decoding: a sink shows what was sent). */
function headerOf(raw: string, name: string): string {
  const head = raw.split(/\r?\n\r?\n/, 1)[0];
  const m = new RegExp(`^${name}:[ \\t]*(.*(?:\\r?\\n[ \\t].*)*)`, 'im').exec(head);
  return m ? m[1].replace(/\r?\n[ \t]+/g, ' ').trim() : '';
}

export class MailSink {
  private constructor(
    private readonly server: SMTPServer,
    readonly port: number,
    /** What was received, oldest first. */
    readonly messages: SinkMessage[],
  ) {}

  static async start(o: MailSinkOptions = {}): Promise<MailSink> {
    if (o.dir) fs.mkdirSync(o.dir, { recursive: true });
    const messages: SinkMessage[] = [];
    let seq = 0;
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      // stop() waits this long for clients' open (pooled) connections, then closes them.
      closeTimeout: o.closeTimeoutMs ?? 500,
      // Any login is accepted: a demo's SMTP_USER / SMTP_PASSWORD work, nothing is checked.
      onAuth: (auth, _session, callback) => callback(null, { user: auth.username }),
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const message: SinkMessage = {
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            messageId: headerOf(raw, 'Message-ID'),
            subject: headerOf(raw, 'Subject'),
            raw,
          };
          if (o.dir) {
            message.file = path.join(o.dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${++seq}.eml`);
            fs.writeFileSync(message.file, raw);
          }
          messages.push(message);
          if (messages.length > (o.keep ?? 1000)) messages.shift();
          callback();
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve());
    });
    return new MailSink(server, (server.server.address() as net.AddressInfo).port, messages);
  }

  stop(): Promise<void> {
    return new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
