/**
 * clinica-nextcloud: one operation on the clinic's document store — upload, download, list, mkdir, move, copy,
 * delete, share or link (the internal link of a file, no share). Paths are built from validated segments: in "patient document" mode from msg.patientId,
 * the document type and the file name (`/Documentos_Clinicos/Pacientes/<id>/<Facturas|Recetas|Historiales>/<file>`),
 * in "path" mode from the node's path (or msg.path), confined to the node's "restrict to" folder.
 * Each operation is one function in operations/<operation>.ts, picked from the table in operations/index.ts.
 */
import type { Node, NodeAPI } from 'node-red';
import { attachToConfig } from '../lib/config-node';
import { count } from '../clients/common/metrics';
import { handleInput, logEvent, registerType, setRED, type Msg } from '../lib/node-runtime';
import { nextcloudConfigOf, notConfigured } from './types';
import type { NextcloudCredentials, NextcloudDef } from './operations/context';
import { OPERATIONS } from './operations';
import { locate, operationOf } from './operations/input';

export = function (RED: NodeAPI): void {
  setRED(RED);

  function NextcloudNode(this: Node<NextcloudCredentials>, def: NextcloudDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const config = nextcloudConfigOf(RED, def.config);
    attachToConfig(node, config);

    handleInput(node, { system: 'nextcloud' }, async (msg: Msg, send) => {
      if (!config) throw notConfigured(node);
      const op = operationOf(node, def, msg);
      const client = config.getClient();
      const started = Date.now();
      try {
        const { path, jail } = locate(def, op, msg);
        const { payload, details } = await OPERATIONS[op]({ node, def, operation: op, client, msg, path, jail });
        msg.payload = payload;
        msg.nextcloud = { operation: op, ...details, durationMs: Date.now() - started };
        config.report();
      } catch (err) {
        config.report(err);
        throw err;
      }
      count('nextcloud', 'operation', { op });
      logEvent(node, 'info', `nextcloud.${op}`, {
        correlationId: msg.correlationId,
        path: (msg.nextcloud as { path?: string }).path,
        ms: Date.now() - started,
      });
      send(msg);
    });
  }

  registerType('clinica-nextcloud', NextcloudNode, { credentials: { sharePassword: { type: 'password' } } });
};
