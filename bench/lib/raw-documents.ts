/**
 * The document pipeline as a plain script, the baseline of bench/documents-replicas.ts: the same steps as tabs 01 + 02
 * with the same guarantees, and none of the pack's nodes or clients.
 *
 *   webhook (node:http, answered 202 at once) → the committed invoice read by id (search_read with the trigger's
 *   domain, again until it shows) → confirmed, persistent publish to documents_exchange (message id <model>-<id>)
 *   → consumer with manual ack, prefetch as the flow's → one read of the record (name, patient, the path and link of
 *   an earlier run, its stored PDF attachment) → the PDF (the attachment, else the report route in a web session)
 *   → WebDAV PUT onto a temporary name with X-Hash (SHA-256 checked) and MOVE with `Overwrite: F` (never replaces a
 *   file; an existing one is kept) → write path and internal link on the record (unless an earlier run did) → count
 *   the notes that name the path, message_post ONE note when there is none → confirmed publish to notification.send
 *   → ack. A notification consumer acks each notification (the flow logs it, then acks).
 *
 * JSON-RPC and WebDAV with fetch (keep-alive), AMQP with amqplib (the pack's AMQP library), a confirm channel and manual acks.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as amqplib from 'amqplib';
import type { Channel, ConsumeMessage } from 'amqplib';

export interface RawDocumentsOptions {
  odoo: { url: string; db: string; login: string; apiKey: string; password: string };
  nextcloud: { url: string; user: string; password: string };
  amqpUrl: string;
  /** Unacknowledged deliveries per consumer (the flow's invoice_queue consumer: 5). */
  prefetch: number;
}

export interface RawDocuments {
  /** http://127.0.0.1:<port>: Odoo's automation rules post to <url>/odoo/webhook/invoice. */
  url: string;
  stats: {
    webhooks: number;
    published: number;
    stored: number;
    notified: number;
    failures: string[];
    odooCalls: Record<string, number>;
    davRequests: Record<string, number>;
  };
  stop(): Promise<void>;
}

const EXCHANGE = 'documents_exchange';
const INVOICE_DOMAIN = [
  ['move_type', '=', 'out_invoice'],
  ['state', '=', 'posted'],
  ['x_nextcloud_path', '=', false],
];
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function startRawDocuments(o: RawDocumentsOptions): Promise<RawDocuments> {
  const stats: RawDocuments['stats'] = { webhooks: 0, published: 0, stored: 0, notified: 0, failures: [], odooCalls: {}, davRequests: {} };
  const odooUrl = o.odoo.url.replace(/\/+$/, '');
  const ncUrl = o.nextcloud.url.replace(/\/+$/, '');
  let rpcId = 0;

  const jsonRpc = async <T>(service: string, method: string, args: unknown[]): Promise<T> => {
    const res = await fetch(`${odooUrl}/jsonrpc`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'call', id: ++rpcId, params: { service, method, args } }),
    });
    const body = (await res.json()) as { result?: T; error?: { data?: { message?: string }; message?: string } };
    if (body.error) throw new Error(`Odoo ${method}: ${body.error.data?.message ?? body.error.message}`);
    return body.result as T;
  };
  const uid = await jsonRpc<number>('common', 'authenticate', [o.odoo.db, o.odoo.login, o.odoo.apiKey, {}]);
  if (!uid) throw new Error('raw script: Odoo refused the API key');
  const execute = <T>(model: string, method: string, args: unknown[], kwargs: Record<string, unknown> = {}): Promise<T> => {
    stats.odooCalls[method] = (stats.odooCalls[method] ?? 0) + 1;
    return jsonRpc<T>('object', 'execute_kw', [o.odoo.db, uid, o.odoo.apiKey, model, method, args, kwargs]);
  };
  // The report route needs a web session (an API key cannot open one): opened once, with the password.
  const login = await fetch(`${odooUrl}/web/session/authenticate`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'call', params: { db: o.odoo.db, login: o.odoo.login, password: o.odoo.password } }),
  });
  const session = /session_id=([^;]+)/.exec(login.headers.get('set-cookie') ?? '')?.[1];
  if (!session) throw new Error('raw script: Odoo opened no web session');

  // ------------------------------------------------------------------------------------------ WebDAV
  const davRoot = `${ncUrl}/remote.php/dav/files/${encodeURIComponent(o.nextcloud.user)}`;
  const basic = `Basic ${Buffer.from(`${o.nextcloud.user}:${o.nextcloud.password}`).toString('base64')}`;
  let ncCookie: string | undefined;
  const knownFolders = new Set<string>();
  const dav = async (method: string, path: string, headers: Record<string, string> = {}, body?: Buffer | string): Promise<Response> => {
    stats.davRequests[method] = (stats.davRequests[method] ?? 0) + 1;
    const res = await fetch(`${davRoot}${path.split('/').map(encodeURIComponent).join('/')}`, {
      method,
      headers: { Authorization: basic, ...(ncCookie ? { Cookie: ncCookie } : {}), ...headers },
      body: body as BodyInit | undefined,
    });
    // Nextcloud's session cookie spares the password check on the next requests.
    const cookies = res.headers.getSetCookie().map((c) => c.split(';')[0]);
    if (cookies.length) ncCookie = cookies.join('; ');
    return res;
  };
  const fileIdOf = async (path: string): Promise<string | undefined> => {
    const res = await dav(
      'PROPFIND',
      path,
      { Depth: '0', 'Content-Type': 'application/xml' },
      '<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><d:prop><oc:fileid/></d:prop></d:propfind>',
    );
    return /<oc:fileid>(\d+)<\/oc:fileid>/.exec(await res.text())?.[1];
  };
  /** The file at `path` without ever replacing one: PUT beside it, SHA-256 checked, MOVE with Overwrite: F. */
  const store = async (path: string, pdf: Buffer): Promise<{ status: 'created' | 'skipped'; url: string }> => {
    const folder = path.slice(0, path.lastIndexOf('/'));
    const staging = `${folder}/.raw-upload-${randomBytes(8).toString('hex')}.pdf`;
    const put = await dav(
      'PUT',
      staging,
      { 'Content-Type': 'application/pdf', 'X-Hash': 'sha256', ...(knownFolders.has(folder) ? {} : { 'X-NC-WebDAV-Auto-Mkcol': '1' }) },
      pdf,
    );
    if (put.status !== 201 && put.status !== 204) throw new Error(`PUT ${staging}: HTTP ${put.status}`);
    knownFolders.add(folder);
    if (put.headers.get('x-hash-sha256') !== createHash('sha256').update(pdf).digest('hex')) throw new Error(`PUT ${staging}: SHA-256 differs`);
    const fileId = /^0*(\d+)/.exec(put.headers.get('oc-fileid') ?? '')?.[1];
    const move = await dav('MOVE', staging, { Destination: `${davRoot}${path.split('/').map(encodeURIComponent).join('/')}`, Overwrite: 'F' });
    if (move.status === 201 && fileId) return { status: 'created', url: `${ncUrl}/index.php/f/${fileId}` };
    await dav('DELETE', staging);
    if (move.status !== 412) throw new Error(`MOVE onto ${path}: HTTP ${move.status}`);
    const existing = await fileIdOf(path); // an earlier run stored it: kept
    if (!existing) throw new Error(`${path}: taken, but no file id`);
    return { status: 'skipped', url: `${ncUrl}/index.php/f/${existing}` };
  };

  // -------------------------------------------------------------------------------------------- AMQP
  const amqp = await amqplib.connect(o.amqpUrl, { noDelay: true, clientProperties: { connection_name: 'raw-documents-bench' } });
  const setup = await amqp.createChannel();
  await setup.assertExchange(EXCHANGE, 'direct', { durable: true });
  for (const [queue, routingKey] of [
    ['invoice_queue', 'invoice.created'],
    ['notification_queue', 'notification.send'],
  ]) {
    await setup.assertQueue(queue, { durable: true });
    await setup.bindQueue(queue, EXCHANGE, routingKey);
  }
  await setup.close();
  const pub = await amqp.createConfirmChannel();
  const publish = (routingKey: string, messageId: string, correlationId: string, body: unknown) =>
    new Promise<void>((resolve, reject) =>
      pub.publish(
        EXCHANGE,
        routingKey,
        Buffer.from(JSON.stringify(body)),
        { messageId, correlationId, persistent: true, mandatory: true, contentType: 'application/json' },
        (err: unknown) => (err ? reject(err as Error) : resolve()),
      ),
    );

  // ----------------------------------------------------------------------------------- the consumer
  const cleanName = (s: string) =>
    s
      .normalize('NFC')
      .replace(/[^\p{L}\p{N}._ -]+/gu, '_')
      .replace(/_+/g, '_')
      .replace(/^[ ._]+|[ ._]+$/g, '')
      .slice(0, 120);
  const job = async (id: number, correlationId: string): Promise<void> => {
    type Move = {
      name: string | false;
      partner_id: [number, string] | false;
      x_nextcloud_path: string | false;
      x_nextcloud_url: string | false;
      invoice_pdf_report_id: [number, string] | false;
    };
    const [rec] = await execute<Move[]>('account.move', 'read', [[id], ['name', 'partner_id', 'x_nextcloud_path', 'x_nextcloud_url', 'invoice_pdf_report_id']]);
    if (!rec) throw new Error(`account.move ${id} does not exist`);
    if (!rec.partner_id) throw new Error(`account.move ${id} has no patient`);
    let pdf: Buffer;
    if (rec.invoice_pdf_report_id) {
      const [att] = await execute<Array<{ datas: string }>>('ir.attachment', 'read', [[rec.invoice_pdf_report_id[0]], ['datas']]);
      pdf = Buffer.from(att.datas, 'base64');
    } else {
      const res = await fetch(`${odooUrl}/report/pdf/account.report_invoice/${id}`, { headers: { Cookie: `session_id=${session}` } });
      stats.odooCalls.report = (stats.odooCalls.report ?? 0) + 1;
      pdf = Buffer.from(await res.arrayBuffer());
      if (res.status !== 200 || pdf.subarray(0, 5).toString('latin1') !== '%PDF-') throw new Error(`report of ${id}: HTTP ${res.status}`);
    }
    const path = `/Documentos_Clinicos/Pacientes/${rec.partner_id[0]}/Facturas/${cleanName(rec.name || '') || `account.move-${id}`}.pdf`;
    const file = await store(path, pdf);
    const url = file.status === 'skipped' && rec.x_nextcloud_path === path && rec.x_nextcloud_url ? rec.x_nextcloud_url : undefined;
    if (!url) await execute('account.move', 'write', [[id], { x_nextcloud_path: path, x_nextcloud_url: file.url }]);
    const link = url ?? file.url;
    const notes = await execute<number>('mail.message', 'search_count', [
      [
        ['model', '=', 'account.move'],
        ['res_id', '=', id],
        ['body', 'ilike', path],
      ],
    ]);
    if (notes === 0) {
      await execute('account.move', 'message_post', [[id]], {
        body: `Documento archivado en Nextcloud: ${path} · enlace: ${link}`,
        message_type: 'comment',
        subtype_xmlid: 'mail.mt_note',
      });
    }
    await publish('notification.send', `notification-account.move-${id}`, correlationId, {
      event: 'document.stored',
      patient: { id: rec.partner_id[0], name: rec.partner_id[1] },
      document: { model: 'account.move', id, name: rec.name, type: 'invoice', file: path.slice(path.lastIndexOf('/') + 1) },
      path,
      url: link,
      correlationId,
    });
    stats.stored += 1;
  };
  const consumer = async (queue: string, prefetch: number, work: (msg: ConsumeMessage) => Promise<void>): Promise<Channel> => {
    const ch = await amqp.createChannel();
    await ch.prefetch(prefetch);
    let open = true;
    ch.on('close', () => (open = false));
    await ch.consume(
      queue,
      (msg) => {
        if (!msg) return;
        work(msg).then(
          () => {
            if (open) ch.ack(msg);
          },
          (err: unknown) => {
            stats.failures.push(String((err as Error).message ?? err));
            // Tried again a second later (the flow: retry queues with back-off).
            setTimeout(() => open && ch.nack(msg, false, true), 1000);
          },
        );
      },
      { noAck: false },
    );
    return ch;
  };
  const bodyOf = (msg: ConsumeMessage) => JSON.parse(msg.content.toString('utf8')) as Record<string, unknown>;
  const invoices = await consumer('invoice_queue', o.prefetch, async (msg) => {
    const body = bodyOf(msg);
    await job(Number(body.id), (msg.properties.correlationId as string | undefined) ?? String(msg.properties.messageId));
  });
  const notifications = await consumer('notification_queue', 10, async () => {
    stats.notified += 1;
  });

  // ------------------------------------------------------------------------------------ the webhook
  /** The committed invoice (the webhook comes inside Odoo's transaction): read by id until it shows, 5 s at most. */
  const committed = async (id: number, writeDate: unknown): Promise<Record<string, unknown> | undefined> => {
    const exact = typeof writeDate === 'string' && /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/.test(writeDate) ? [['write_date', '>=', writeDate]] : [];
    const deadline = Date.now() + 5000;
    for (;;) {
      const [rec] = await execute<Array<Record<string, unknown>>>('account.move', 'search_read', [], {
        domain: [...INVOICE_DOMAIN, ['id', '=', id], ...exact],
        fields: ['name', 'partner_id', 'write_date', 'create_date'],
        limit: 1,
        context: { active_test: false },
      });
      if (rec || Date.now() > deadline) return rec;
      await sleep(20);
    }
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url?.split('?')[0] !== '/odoo/webhook/invoice') {
        res.writeHead(404).end();
        return;
      }
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        res.writeHead(400).end();
        return;
      }
      stats.webhooks += 1;
      const correlationId = randomBytes(16).toString('hex');
      res.writeHead(202, { 'Content-Type': 'application/json', 'X-Correlation-Id': correlationId }).end('{"accepted":true}');
      const id = Number(body._id);
      committed(id, body.write_date)
        .then(async (rec) => {
          if (!rec) return;
          const partner = rec.partner_id as [number, string] | false;
          await publish('invoice.created', `account.move-${id}`, correlationId, {
            model: 'account.move',
            id,
            name: rec.name || null,
            patientId: partner ? partner[0] : null,
            source: 'webhook',
          });
          stats.published += 1;
        })
        .catch((err: unknown) => stats.failures.push(`webhook ${id}: ${String((err as Error).message ?? err)}`));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stats,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await invoices.close();
      await notifications.close();
      await pub.close();
      await amqp.close();
    },
  };
}
