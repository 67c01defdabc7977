/**
 * The shipped flows live as one file per tab in `flows/` (one integration pattern per file). This reads them
 * into the single list Node-RED runs, and writes a deploy from the editor back into the same files, so an
 * instructor's change to a tab lands in that tab's file (and shows in `git diff`). Config nodes and subflows
 * go into every file whose nodes use them, so each file stays importable on its own.
 * Used by settings.ts as Node-RED's storage for flows; credentials stay encrypted in the user directory.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface FlowNode {
  id: string;
  type: string;
  z?: string;
  label?: string;
  [key: string]: unknown;
}

export interface FlowFiles {
  nodes: FlowNode[];
  /** File of each tab (and of each node that stood outside a tab), by id. */
  origin: Map<string, string>;
  /** The ids of each file in the order they stand there, so a write keeps each file's own order. */
  order: Map<string, string[]>;
}

const isTab = (n: FlowNode) => n.type === 'tab';

/** Reads every *.json of the folder (sorted by name); a node present in several files is taken once. */
export function readFlowFiles(dir: string): FlowFiles {
  const nodes: FlowNode[] = [];
  const origin = new Map<string, string>();
  const order = new Map<string, string[]>();
  const seen = new Set<string>();
  if (!fs.existsSync(dir)) return { nodes, origin, order };
  for (const file of fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const content = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as FlowNode[];
    if (!Array.isArray(content)) throw new Error(`flows/${file} is not a Node-RED flow (an array of nodes)`);
    order.set(
      file,
      content.map((n) => n.id),
    );
    for (const n of content) {
      if ((isTab(n) || !n.z) && !origin.has(n.id)) origin.set(n.id, file);
      if (seen.has(n.id)) continue;
      seen.add(n.id);
      nodes.push(n);
    }
  }
  return { nodes, origin, order };
}

function slug(label: string): string {
  const s = label
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9 ()+,._-]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return s.slice(0, 80) || 'flow';
}

/** The ids a node refers to through its properties (config nodes) and its type (subflow instances). */
function references(n: FlowNode, candidates: Map<string, FlowNode>): string[] {
  const out: string[] = [];
  if (n.type.startsWith('subflow:')) out.push(n.type.slice('subflow:'.length));
  const visit = (v: unknown) => {
    if (typeof v === 'string') {
      if (candidates.has(v) && v !== n.id) out.push(v);
    } else if (Array.isArray(v)) v.forEach(visit);
  };
  for (const [k, v] of Object.entries(n)) if (k !== 'id' && k !== 'z' && k !== 'wires') visit(v);
  return out;
}

/**
 * Lays the running flows out as files: each tab in its file (as read, or a new one named after its label);
 * the nodes outside tabs (config nodes, subflows with their inner nodes) in every file that uses them,
 * unused ones where they came from (or the first file).
 */
export function splitFlows(nodes: FlowNode[], previous: Map<string, string>, order = new Map<string, string[]>()): Map<string, FlowNode[]> {
  const tabs = nodes.filter(isTab);
  const tabIds = new Set(tabs.map((t) => t.id));
  const fileOfTab = new Map<string, string>();
  const taken = new Set<string>();
  for (const t of tabs) {
    const known = previous.get(t.id);
    if (known && !taken.has(known)) {
      fileOfTab.set(t.id, known);
      taken.add(known);
    }
  }
  for (const t of tabs) {
    if (fileOfTab.has(t.id)) continue;
    let name = `${slug(String(t.label ?? t.id))}.json`;
    for (let i = 2; taken.has(name); i++) name = `${slug(String(t.label ?? t.id))} (${i}).json`;
    fileOfTab.set(t.id, name);
    taken.add(name);
  }
  // Everything not on a tab: config nodes, subflow definitions and the nodes inside them.
  const outside = new Map(nodes.filter((n) => !isTab(n) && !(n.z && tabIds.has(n.z))).map((n) => [n.id, n]));
  const members = new Map<string, Set<string>>();
  for (const [tabId, file] of fileOfTab) members.set(file, new Set([tabId]));
  const include = (file: string, id: string) => {
    const set = members.get(file)!;
    if (set.has(id)) return;
    set.add(id);
    const n = outside.get(id);
    if (!n) return;
    for (const r of references(n, outside)) include(file, r);
    if (n.type === 'subflow') for (const inner of nodes) if (inner.z === id) include(file, inner.id);
  };
  for (const n of nodes) {
    if (!n.z || !tabIds.has(n.z)) continue;
    const file = fileOfTab.get(n.z)!;
    members.get(file)!.add(n.id);
    for (const r of references(n, outside)) include(file, r);
  }
  const placed = new Set([...members.values()].flatMap((s) => [...s]));
  const firstFile = [...members.keys()].sort()[0];
  for (const n of outside.values()) {
    if (placed.has(n.id) || (n.z && outside.has(n.z))) continue;
    let file = previous.get(n.id);
    if (!file || !members.has(file)) file = firstFile ?? 'flows.json';
    if (!members.has(file)) members.set(file, new Set());
    include(file, n.id);
  }
  const files = new Map<string, FlowNode[]>();
  for (const [file, ids] of members) {
    const content = nodes.filter((n) => ids.has(n.id));
    // Nodes keep their place in the file as it was; new ones follow in the editor's order.
    const before = new Map((order.get(file) ?? []).map((id, i) => [id, i]));
    const rank = new Map(content.map((n, i) => [n.id, before.get(n.id) ?? before.size + i]));
    files.set(
      file,
      content.sort((a, b) => rank.get(a.id)! - rank.get(b.id)!),
    );
  }
  return files;
}

/** Writes the layout: changed files only; a file whose tab was deleted is removed. */
export function writeFlowFiles(dir: string, files: Map<string, FlowNode[]>, previous: Map<string, string>): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const [file, content] of files) {
    const target = path.join(dir, file);
    const text = `${JSON.stringify(content, null, 2)}\n`;
    if (fs.existsSync(target) && fs.readFileSync(target, 'utf8') === text) continue;
    fs.writeFileSync(`${target}.tmp`, text);
    fs.renameSync(`${target}.tmp`, target);
    written.push(file);
  }
  for (const file of new Set(previous.values())) {
    if (!files.has(file) && fs.existsSync(path.join(dir, file))) {
      fs.rmSync(path.join(dir, file));
      written.push(`-${file}`);
    }
  }
  return written;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
/**
 * Node-RED's local file storage with the flows read from and written to `dir`, one file per tab; everything
 * else (credentials, settings, sessions, library) stays in the user directory.
 */
export function flowsDirStorage(dir: string): Record<string, unknown> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const local = require('@node-red/runtime/lib/storage/localfilesystem') as Record<string, any>;
  let origin = new Map<string, string>();
  let order = new Map<string, string[]>();
  return {
    ...local,
    init: (settings: unknown, runtime: unknown) => local.init(settings, runtime),
    getFlows: async () => {
      const read = readFlowFiles(dir);
      ({ origin, order } = read);
      return read.nodes;
    },
    saveFlows: async (flows: FlowNode[]) => {
      const files = splitFlows(flows, origin, order);
      writeFlowFiles(dir, files, origin);
      ({ origin, order } = readFlowFiles(dir));
    },
  };
}
