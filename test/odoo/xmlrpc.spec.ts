/**
 * The client's XML-RPC codec against the `xmlrpc` package (an independent implementation) and against
 * the exact bytes Python's marshaller writes (the peer's writer).
 */
import * as assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { parseMethodCall, parseMethodResponse, serializeMethodCall } from '../../nodes/clients/odoo/xmlrpc';
import { faultFromXmlRpc, lastTracebackLine } from '../../nodes/clients/odoo/errors';
import { xmlFault, xmlFaultFor, xmlResponse } from '../../peers/odoo/wire';
import { TypeErr, ValueErr, missingRecord } from '../../peers/odoo/python';

const serializer = require('xmlrpc/lib/serializer') as { serializeMethodResponse(v: unknown): string; serializeFault(v: unknown): string };

const Deserializer = require('xmlrpc/lib/deserializer') as new () => {
  deserializeMethodCall(s: Readable, cb: (e: Error | null, m?: string, p?: unknown[]) => void): void;
};

const sample = {
  id: 7,
  name: 'Ana <García> & "Hijos"',
  active: true,
  archived: false,
  balance: -12.5,
  big: 2 ** 40,
  country_id: [68, 'Spain'],
  tags: [],
  nested: { deep: [1, 'two', { three: 3 }] },
  empty: '',
  unicode: 'ñandú 🐧 €',
};

describe('odoo xmlrpc codec', () => {
  it('reads what the xmlrpc package writes, values and faults', () => {
    const parsed = parseMethodResponse(serializer.serializeMethodResponse(sample));
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.value, sample);
    const fault = parseMethodResponse(serializer.serializeFault({ faultCode: 4, faultString: 'You are not allowed' }));
    assert.deepEqual(fault, { ok: false, fault: { faultCode: 4, faultString: 'You are not allowed' } });
  });

  it('reads the exact bytes Odoo (Python marshaller) writes', () => {
    const small = { ...sample, big: 5 };
    const parsed = parseMethodResponse(xmlResponse([small, small]));
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.value, [small, small]);
    const fault = parseMethodResponse(xmlFaultFor(missingRecord('res.partner', [9], 2)));
    assert.ok(!fault.ok);
    assert.equal(fault.fault.faultCode, 2);
    assert.match(fault.fault.faultString, /^Record does not exist or has been deleted/);
  });

  it('accepts untyped values, whitespace, i4/i8, nil, base64, empty data and entities', () => {
    const xml = `<?xml version="1.0"?>
      <methodResponse><params><param><value><array><data>
        <value>plain &amp; simple</value>
        <value>  </value>
        <value><i4> 42 </i4></value>
        <value><i8>-9007199254740991</i8></value>
        <value><nil/></value>
        <value><base64>aGVsbG8=</base64></value>
        <value><array><data/></array></value>
        <value><struct></struct></value>
        <value><string>&#241;&#x00E9;&lt;&gt;&quot;&apos;</string></value>
        <value><dateTime.iso8601>20250101T10:00:00</dateTime.iso8601></value>
      </data></array></value></param></params></methodResponse>`;
    const parsed = parseMethodResponse(xml);
    assert.ok(parsed.ok);
    const v = parsed.value as unknown[];
    assert.equal(v[0], 'plain & simple');
    assert.equal(v[1], '  ');
    assert.equal(v[2], 42);
    assert.equal(v[3], -9007199254740991);
    assert.equal(v[4], null);
    assert.deepEqual(v[5], Buffer.from('hello'));
    assert.deepEqual(v[6], []);
    assert.deepEqual(v[7], {});
    assert.equal(v[8], 'ñé<>"\'');
    assert.equal(v[9], '20250101T10:00:00');
  });

  it('writes calls the xmlrpc package (and so Python) reads back identically', async () => {
    const params = [
      'clinica',
      2,
      'key',
      'res.partner',
      'search_read',
      [[['name', 'ilike', 'a&b<c>']]],
      { fields: ['name'], limit: 5, context: { lang: 'es_ES' }, ratio: 0.25, none: null },
    ];
    const xml = serializeMethodCall('execute_kw', params);
    assert.deepEqual(parseMethodCall(xml), { method: 'execute_kw', params });
    const viaPackage = await new Promise<{ method: string; params: unknown[] }>((resolve, reject) => {
      new Deserializer().deserializeMethodCall(Readable.from([Buffer.from(xml)]), (err, method, p) =>
        err ? reject(err) : resolve({ method: method as string, params: p as unknown[] }),
      );
    });
    assert.deepEqual(viaPackage, { method: 'execute_kw', params });
  });

  it('rejects truncated answers with the position', () => {
    const xml = xmlResponse([{ id: 1, name: 'x' }]);
    assert.throws(() => parseMethodResponse(xml.slice(0, xml.length - 60)), /XmlRpcParseError|expected/);
    assert.throws(() => parseMethodResponse('<html>nope</html>'), /not an XML-RPC response/);
  });

  it('reads Odoo faults: codes 1–4, tracebacks and the marshal-None fault', () => {
    assert.equal(faultFromXmlRpc(3, 'Access Denied').name, 'odoo.exceptions.AccessDenied');
    assert.equal(faultFromXmlRpc(4, 'You are not allowed').name, 'odoo.exceptions.AccessError');
    assert.equal(faultFromXmlRpc(2, 'Record does not exist or has been deleted.\n(Record: x(1,), User: 2)').name, 'odoo.exceptions.MissingError');
    assert.equal(faultFromXmlRpc(2, 'The operation cannot be completed: x').name, 'odoo.exceptions.ValidationError');
    assert.equal(faultFromXmlRpc(2, 'Something is wrong').name, 'odoo.exceptions.UserError');
    const tb = (
      parseMethodResponse(xmlFaultFor(ValueErr("Invalid field 'foo' on model 'res.partner'"))) as { fault: { faultCode: number; faultString: string } }
    ).fault;
    assert.equal(tb.faultCode, 1);
    assert.deepEqual(faultFromXmlRpc(tb.faultCode, tb.faultString).name, 'builtins.ValueError');
    const none = (
      parseMethodResponse(xmlFaultFor(TypeErr('cannot marshal None unless allow_none is enabled'))) as { fault: { faultCode: number; faultString: string } }
    ).fault;
    assert.match(none.faultString, /TypeError: cannot marshal None unless allow_none is enabled/);
    assert.deepEqual(
      lastTracebackLine('Traceback (most recent call last):\n  File "x", line 1\npsycopg2.errors.InvalidTextRepresentation: invalid input syntax\nLINE 1: ...'),
      {
        name: 'psycopg2.errors.InvalidTextRepresentation',
        message: 'invalid input syntax\nLINE 1: ...',
      },
    );
    assert.deepEqual(faultFromXmlRpc('warning -- MissingError\n\nRecord does not exist', '').name, 'odoo.exceptions.MissingError');
    assert.ok(xmlFault(1, 'x').includes('<name>faultCode</name>\n<value><int>1</int></value>'));
  });
});
