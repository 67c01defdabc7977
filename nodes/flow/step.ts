/**
 * clinica-step: one named step of the shipped flows (nodes/flow/steps.ts) — a domain rule written in tested
 * TypeScript instead of a function node: which record is a document, an Odoo record as a shared-database row,
 * a pharmacy movement checked and decided … A failed step ends in done(err) with msg.errorInfo, like every
 * node of the pack, so the tab's Catch node answers or records it.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { logFailure, logRecovery } from '../lib/failure-log';
import { handleInput, logEvent, registerType, setRED, type Msg } from '../lib/node-runtime';
import { STEPS, type StepApi } from './steps';

interface StepDef extends NodeDef {
  step: string;
}

export = function (RED: NodeAPI): void {
  setRED(RED);

  function ClinicaStep(this: Node, def: StepDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const step = STEPS[def.step];
    if (!step) {
      node.status({ fill: 'red', shape: 'ring', text: 'status.not-configured' });
      node.error(`clinica-step "${node.name || node.id}": unknown step "${def.step}"; choose one in the node`);
    }

    handleInput(node, { system: 'node-red' }, async (msg: Msg, send) => {
      if (!step) throw new Error(`unknown step "${def.step}"`);
      const api: StepApi = {
        flowGet: (key) => node.context().flow.get(key),
        flowSet: (key, value) => node.context().flow.set(key, value),
        // A failure event (…failed) is logged once, then at a backed-off pace, per tab, event, sync and code.
        warn: (event, fields) =>
          event.endsWith('.failed')
            ? logFailure(node, `${node.z}|${event}|${String(fields.sync ?? '')}|${String(fields.code ?? '')}`, event, {
                correlationId: msg.correlationId,
                ...fields,
              })
            : logEvent(node, 'warn', event, { correlationId: msg.correlationId, ...fields }),
        recovered: (event) => logRecovery(node, `${node.z}|${event}|`, event.replace(/\.failed$/, '.recovered')),
        clone: (m) => RED.util.cloneMessage(m as NodeMessage) as Record<string, unknown>,
      };
      const out = step.run(msg, api);
      if (out === null || out === undefined) return;
      send(out as NodeMessage | Array<NodeMessage | NodeMessage[] | null>);
    });
  }

  registerType('clinica-step', ClinicaStep);
};
