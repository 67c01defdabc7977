/** The shipped flow files (flows/), as the tests and benches load them into a runtime. */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A node of a flow file: each node type carries its own properties. */
export type FlowNode = { id: string; type: string; [property: string]: any };

/** flows/ of this checkout (from dist/test/lib or dist/bench alike). */
export const FLOWS_DIR = path.resolve(__dirname, '..', '..', '..', 'flows');

export const readTab = (file: string): FlowNode[] => JSON.parse(fs.readFileSync(path.join(FLOWS_DIR, file), 'utf8')) as FlowNode[];

/** Several tabs in one runtime, as `npm start` runs the flows folder: a config node they share (one id) is taken once. */
export function shippedTabs(...files: string[]): FlowNode[] {
  return [...new Map(files.flatMap(readTab).map((n) => [n.id, n])).values()];
}
