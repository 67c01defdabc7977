/**
 * The clinica-odoo node's operations as plain functions: a context in, a result out, against a stand-in client
 * that records its calls (no Odoo, no Node-RED runtime). The node tests run the same operations on the peer.
 */
import * as assert from 'node:assert/strict';
import type { Node, NodeAPI } from 'node-red';
import type { OdooClient } from '../../nodes/clients/odoo/client';
import { IntegrationError } from '../../nodes/clients/common/errors';
import { getRED, setRED, type Msg } from '../../nodes/lib/node-runtime';
import { FIXED_MODELS, OPERATIONS, operationOf } from '../../nodes/odoo/operations';
import type { OdooDef, Operation, OperationContext, OperationResult } from '../../nodes/odoo/operations/context';
import { contextOf, modelOf, parseSettings, queryOf } from '../../nodes/odoo/operations/input';

type Call = [string, ...unknown[]];
const node = { type: 'clinica-odoo', id: 'n1', name: 'Pacientes' } as Node;

/** Answers every client method with `answer` (or what `answers` names for it) and records the call. */
function stubClient(answers: Record<string, unknown> = {}): { client: OdooClient; calls: Call[] } {
  const calls: Call[] = [];
  const client = new Proxy(
    {},
    {
      get: (_t, method: string) => {
        if (method === 'protocolName') return async () => 'jsonrpc';
        if (method === 'searchReadPages') {
          return async function* (...args: unknown[]) {
            calls.push([method, ...args]);
            yield { records: [{ id: 1 }, { id: 2 }], index: 0, offset: 0, last: false };
            yield { records: [{ id: 3 }], index: 1, offset: 2, last: true };
          };
        }
        return async (...args: unknown[]) => {
          calls.push([method, ...args]);
          return answers[method];
        };
      },
    },
  ) as OdooClient;
  return { client, calls };
}

function contextFor(operation: Operation, def: Partial<OdooDef>, msg: Msg, answers: Record<string, unknown> = {}) {
  const { client, calls } = stubClient(answers);
  const settings = parseSettings(node, { operation, ...def } as OdooDef);
  const sent: Msg[] = [];
  const c: OperationContext = {
    node,
    operation,
    model: FIXED_MODELS[operation] ?? modelOf(node, { model: def.model ?? '' }, msg),
    msg,
    send: (m) => sent.push(m as Msg),
    client,
    settings,
    query: queryOf(node, settings, msg),
    context: contextOf(settings, msg),
  };
  return { c, calls, sent, run: (): Promise<OperationResult> => OPERATIONS[operation](c) };
}

const detailsOf = (r: OperationResult) => ('details' in r ? r.details : undefined);

async function rejects(p: Promise<unknown> | (() => unknown), message: RegExp): Promise<void> {
  await assert.rejects(
    async () => (typeof p === 'function' ? p() : p),
    (err: unknown) => {
      assert.ok(err instanceof IntegrationError);
      assert.equal(err.code, 'BAD_INPUT');
      assert.match(err.message, message);
      return true;
    },
  );
}

describe('odoo operations (functions, stand-in client)', function () {
  it('routes every operation of the picker to a function; an unknown one is search_read', function () {
    assert.deepEqual(Object.keys(OPERATIONS).sort(), [
      'activity',
      'call',
      'create',
      'message_post',
      'read',
      'search_count',
      'search_read',
      'stock_movement',
      'unlink',
      'write',
    ]);
    assert.equal(operationOf('unlink'), 'unlink');
    assert.equal(operationOf('drop_table'), 'search_read');
    assert.equal(operationOf('toString'), 'search_read');
    assert.equal(operationOf(undefined), 'search_read');
  });

  describe('input', function () {
    it('takes the model from the node, else msg.topic, and refuses what is not a model name', async function () {
      assert.equal(modelOf(node, { model: ' res.partner ' }, { topic: 'account.move' } as Msg), 'res.partner');
      assert.equal(modelOf(node, { model: '' }, { topic: 'account.move' } as Msg), 'account.move');
      await rejects(() => modelOf(node, { model: '' }, {} as Msg), /clinica-odoo "Pacientes": no model/);
      await rejects(() => modelOf(node, { model: 'res.partner; drop' }, {} as Msg), /is not an Odoo model name/);
    });

    it('lets the message override domain, fields, order, limit and offset, and checks them', async function () {
      const s = parseSettings(node, { domain: '[["active", "=", true]]', fields: 'name', order: ' name ', limit: '10' } as OdooDef);
      assert.deepEqual(queryOf(node, s, {} as Msg), { domain: [['active', '=', true]], fields: ['name'], order: 'name', limit: 10, offset: 0 });
      assert.deepEqual(queryOf(node, s, { domain: [], fields: ['email'], order: 'id desc', limit: 0, offset: 5 } as unknown as Msg), {
        domain: [],
        fields: ['email'],
        order: 'id desc',
        limit: 0,
        offset: 5,
      });
      await rejects(() => queryOf(node, s, { limit: 'many' } as unknown as Msg), /msg\.limit must be a whole number/);
      await rejects(() => queryOf(node, s, { offset: 'x' } as unknown as Msg), /msg\.offset must be a whole number/);
      await rejects(() => parseSettings(node, { domain: '[[' } as OdooDef), /domain setting is not valid JSON/);
    });

    it('merges msg.context over the node context; an empty one is no context', function () {
      const s = parseSettings(node, { context: '{"lang": "es_ES"}' } as OdooDef);
      assert.deepEqual(contextOf(s, { context: { tz: 'Europe/Madrid' } } as unknown as Msg), { lang: 'es_ES', tz: 'Europe/Madrid' });
      assert.equal(contextOf(parseSettings(node, {} as OdooDef), {} as Msg), undefined);
    });

    it('finds ids in the setting, msg.ids, the payload, then msg.odoo of the same model', async function () {
      const ids = async (def: Partial<OdooDef>, msg: Msg) => detailsOf(await contextFor('unlink', { model: 'res.partner', ...def }, msg).run())?.ids;
      assert.deepEqual(await ids({ ids: '4, 5' }, { ids: [9], payload: 7 } as unknown as Msg), [4, 5]);
      assert.deepEqual(await ids({}, { ids: [9], payload: 7 } as unknown as Msg), [9]);
      assert.deepEqual(await ids({}, { payload: { id: 7 } } as unknown as Msg), [7]);
      assert.deepEqual(await ids({}, { odoo: { model: 'res.partner', id: 3 } } as unknown as Msg), [3]);
      await rejects(ids({}, { odoo: { model: 'account.move', id: 3 } } as unknown as Msg), /unlink on res\.partner needs record ids/);
    });
  });

  it('search_read: one call with the query, or every page in one message', async function () {
    const one = contextFor('search_read', { model: 'res.partner', limit: 5 }, { context: { lang: 'es_ES' } } as unknown as Msg, { searchRead: [{ id: 1 }] });
    assert.deepEqual(await one.run(), { payload: [{ id: 1 }], details: { domain: [], limit: 5, offset: undefined, count: 1 } });
    assert.deepEqual(one.calls, [
      ['searchRead', 'res.partner', { domain: [], fields: undefined, order: undefined, limit: 5, offset: undefined, context: { lang: 'es_ES' } }],
    ]);
    const all = contextFor('search_read', { model: 'res.partner', paging: 'all', pageSize: 50 }, {} as Msg, { searchReadAll: [{ id: 1 }, { id: 2 }] });
    assert.deepEqual(detailsOf(await all.run()), { domain: [], limit: undefined, offset: undefined, count: 2, pageSize: 50 });
  });

  it('search_read in pages: sends one message per page with msg.parts, and nothing more', async function () {
    const { run, sent } = contextFor('search_read', { model: 'res.partner', paging: 'pages', pageSize: 2 }, { correlationId: 'c-1' } as Msg);
    const runtime = (() => {
      try {
        return getRED();
      } catch {
        return undefined;
      }
    })();
    setRED({ util: { cloneMessage: (m: Msg) => structuredClone(m) } } as unknown as NodeAPI);
    try {
      assert.deepEqual(await run(), { sent: true });
    } finally {
      if (runtime) setRED(runtime); // the Node-RED of the node tests, for the specs after this one
    }
    assert.deepEqual(
      sent.map((m) => [m.payload, (m.parts as { index: number }).index, (m.parts as { count?: number }).count, m.topic, m.correlationId]),
      [
        [[{ id: 1 }, { id: 2 }], 0, undefined, 'res.partner', 'c-1'],
        [[{ id: 3 }], 1, 2, 'res.partner', 'c-1'],
      ],
    );
    assert.deepEqual((sent[1].odoo as { page: unknown }).page, { index: 1, offset: 2, size: 2, last: true });
  });

  it('create: one record from the payload over the values setting (never its id), or one per element of a list', async function () {
    const one = contextFor('create', { model: 'res.partner', values: '{"city": "Toledo"}' }, { payload: { id: 99, name: 'Ana' } } as Msg, { create: 12 });
    assert.deepEqual(await one.run(), { payload: 12, details: { id: 12, ids: [12] } });
    assert.deepEqual(one.calls[0], ['create', 'res.partner', { city: 'Toledo', name: 'Ana' }, undefined]);
    const many = contextFor('create', { model: 'res.partner' }, { payload: [{ name: 'A' }, { name: 'B' }] } as Msg, { create: [1, 2] });
    assert.deepEqual(await many.run(), { payload: [1, 2], details: { ids: [1, 2] } });
    await rejects(contextFor('create', { model: 'res.partner' }, { payload: [] } as unknown as Msg).run(), /create on res\.partner got an empty list/);
    await rejects(contextFor('create', { model: 'res.partner' }, { payload: 'Ana' } as Msg).run(), /has no values/);
  });

  it('write: the payload values on the record of msg.payload.id, naming the fields written', async function () {
    const w = contextFor('write', { model: 'res.partner' }, { payload: { id: 5, phone: '600' } } as Msg, { write: true });
    assert.deepEqual(await w.run(), { payload: true, details: { ids: [5], id: 5, values: ['phone'] } });
    assert.deepEqual(w.calls[0], ['write', 'res.partner', [5], { phone: '600' }, undefined]);
    await rejects(contextFor('write', { model: 'res.partner' }, { payload: [5] } as unknown as Msg).run(), /write on res\.partner needs record ids/);
  });

  it('read and search_count tell ids and counts', async function () {
    const r = contextFor('read', { model: 'res.partner', fields: 'name' }, { payload: 5 } as Msg, { read: [{ id: 5, name: 'Ana' }] });
    assert.deepEqual(await r.run(), { payload: [{ id: 5, name: 'Ana' }], details: { ids: [5], count: 1, id: 5 } });
    assert.deepEqual(r.calls[0], ['read', 'res.partner', [5], ['name'], undefined]);
    const n = contextFor('search_count', { model: 'res.partner' }, { domain: [['city', '=', 'Toledo']] } as unknown as Msg, { searchCount: 3 });
    assert.deepEqual(await n.run(), { payload: 3, details: { domain: [['city', '=', 'Toledo']], count: 3 } });
  });

  it('message_post: a note or a comment on exactly one record', async function () {
    const p = contextFor(
      'message_post',
      { model: 'res.partner', subtype: 'comment' },
      { payload: { body: 'Hola', subject: 'Cita' }, ids: 5 } as unknown as Msg,
      { messagePost: 40 },
    );
    assert.deepEqual(await p.run(), { payload: 40, details: { id: 5, ids: [5], messageId: 40 } });
    assert.deepEqual(p.calls[0], [
      'messagePost',
      'res.partner',
      5,
      { body: 'Hola', subject: 'Cita', subtypeXmlid: 'mail.mt_comment', context: undefined, attachmentIds: undefined },
    ]);
    await rejects(
      contextFor('message_post', { model: 'res.partner' }, { payload: 'x', ids: [1, 2] } as unknown as Msg).run(),
      /goes on one record of res\.partner; got ids 1, 2/,
    );
    await rejects(contextFor('message_post', { model: 'res.partner' }, { payload: {}, ids: 1 } as unknown as Msg).run(), /has no text/);
  });

  it('call: a public method with the Odoo context merged into kwargs', async function () {
    const k = contextFor(
      'call',
      { model: 'account.move', method: 'action_post', context: '{"lang": "es_ES"}' },
      { args: [[7]], kwargs: { context: { tz: 'UTC' } } } as unknown as Msg,
      { call: false },
    );
    assert.deepEqual(await k.run(), { payload: false, details: { method: 'action_post', ids: [7] } });
    assert.deepEqual(k.calls[0], ['call', 'account.move', 'action_post', [[7]], { context: { lang: 'es_ES', tz: 'UTC' } }]);
    await rejects(contextFor('call', { model: 'res.partner' }, { method: '_private' } as unknown as Msg).run(), /is not a public method name/);
    await rejects(contextFor('call', { model: 'res.partner', method: 'x' }, { args: {} } as unknown as Msg).run(), /args for res\.partner\.x must be a list/);
  });

  it('stock_movement works on stock.picking whatever the node names, and needs an object payload', async function () {
    const s = contextFor('stock_movement', { model: '' }, { payload: 'ten', topic: 'res.partner' } as unknown as Msg);
    assert.equal(s.c.model, 'stock.picking');
    await rejects(s.run(), /a stock movement needs msg\.payload \{reference, product_id, type, quantity, notes\}/);
  });
});
