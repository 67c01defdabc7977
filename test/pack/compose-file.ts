/**
 * docker-compose.yml as Docker Compose reads it, without Docker: the YAML, then Compose's variable interpolation
 * (`${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`, `${VAR:+alt}`, `${VAR+alt}`,
 * `$VAR`, `$$`), then validation against the Compose Specification's JSON schema: the copy in compose-spec/ of the
 * schema that Docker Compose itself validates with (compose-go), checked with ajv, as compose-go does after
 * interpolating.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv2020, { type ErrorObject } from 'ajv/dist/2020';
import * as yaml from 'js-yaml';

export const root = path.resolve(__dirname, '..', '..', '..');
export const COMPOSE_FILE = path.join(root, 'docker-compose.yml');

export type Env = Record<string, string | undefined>;

export interface Healthcheck {
  test: string[] | string;
  interval?: string;
  timeout?: string;
  retries?: number;
  start_period?: string;
  start_interval?: string;
  disable?: boolean;
}

export interface Service {
  image?: string;
  /** Started only with `docker compose --profile <name>` (none: always). */
  profiles?: string[];
  build?: { context: string; dockerfile?: string };
  command?: string[] | string;
  restart?: string;
  ports?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: Healthcheck;
}

export interface Compose {
  name?: string;
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

/** The file as YAML, before interpolation (anchors and merge keys resolved, as Compose does). */
export function rawCompose(text: string = fs.readFileSync(COMPOSE_FILE, 'utf8')): Compose {
  return yaml.load(text) as Compose;
}

/** The file after interpolation with `env` (the variables of the shell and of .env; none by default). */
export function loadCompose(env: Env = {}, text?: string): Compose {
  return interpolateAll(rawCompose(text), env) as Compose;
}

/** Interpolates every string value (not the keys) of a parsed Compose file. */
function interpolateAll(value: unknown, env: Env, where = ''): unknown {
  if (typeof value === 'string') return interpolate(value, env, where);
  if (Array.isArray(value)) return value.map((v, i) => interpolateAll(v, env, `${where}[${i}]`));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateAll(v, env, where ? `${where}.${k}` : k)]));
  }
  return value;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/** Compose's interpolation of one string. Throws what Compose says for `${VAR:?error}` and for a malformed reference. */
function interpolate(s: string, env: Env, where = ''): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c !== '$') {
      out += c;
      continue;
    }
    const next = s[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '{') {
      const end = closingBrace(s, i + 2);
      if (end < 0) throw new Error(`${where}: unclosed \${ in "${s}"`);
      out += substitute(s.slice(i + 2, end), env, where);
      i = end;
    } else {
      const m = NAME.exec(s.slice(i + 1));
      if (!m) {
        out += '$';
        continue;
      }
      out += env[m[0]] ?? '';
      i += m[0].length;
    }
  }
  return out;
}

function closingBrace(s: string, from: number): number {
  let depth = 1;
  for (let i = from; i < s.length; i++) {
    if (s[i] === '$' && s[i + 1] === '{') {
      depth++;
      i++;
    } else if (s[i] === '}' && --depth === 0) return i;
  }
  return -1;
}

function substitute(expr: string, env: Env, where: string): string {
  const m = NAME.exec(expr);
  if (!m) throw new Error(`${where}: invalid interpolation format "\${${expr}}"`);
  const name = m[0];
  const rest = expr.slice(name.length);
  const value = env[name];
  const set = value !== undefined;
  const nonEmpty = set && value !== '';
  const op = /^(:-|-|:\?|\?|:\+|\+)?/.exec(rest)?.[0] ?? '';
  const arg = () => interpolate(rest.slice(op.length), env, where);
  if (op === '' && rest !== '') throw new Error(`${where}: invalid interpolation format "\${${expr}}"`);
  switch (op) {
    case '':
      return value ?? '';
    case ':-':
      return nonEmpty ? value : arg();
    case '-':
      return set ? value : arg();
    case ':?':
      if (!nonEmpty) throw new Error(`${where}: required variable ${name} is missing a value: ${arg()}`);
      return value;
    case '?':
      if (!set) throw new Error(`${where}: required variable ${name} is missing a value: ${arg()}`);
      return value;
    case ':+':
      return nonEmpty ? arg() : '';
    default:
      return set ? arg() : '';
  }
}

/** The defaults a `${VAR:-default}` expression falls back to, by variable (the first one seen for each). */
export function interpolationDefaults(text: string = fs.readFileSync(COMPOSE_FILE, 'utf8')): Map<string, string> {
  const found = new Map<string, string>();
  for (const m of text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*):?-([^}]*)\}/g)) if (!found.has(m[1])) found.set(m[1], m[2]);
  return found;
}

const SCHEMA_DIR = path.join(root, 'test', 'pack', 'compose-spec');

let validator: ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

/** The schema errors of a Compose file (after interpolation); none when it is valid. */
export function schemaErrors(compose: unknown): string[] {
  if (!validator) {
    const schema = JSON.parse(fs.readFileSync(path.join(SCHEMA_DIR, 'compose-spec.json'), 'utf8')) as object;
    // compose-go registers the one format the schema uses (Go durations); the rest is plain JSON Schema 2020-12.
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    ajv.addFormat('duration', /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/);
    validator = ajv.compile(schema);
  }
  // Validate the JSON form, as compose-go does (it marshals the YAML model to JSON first).
  const data = JSON.parse(JSON.stringify(compose)) as unknown;
  return validator(data) ? [] : (validator.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}

/** depends_on in its long form (the short list form means service_started). */
export function dependencies(svc: Service): Record<string, string> {
  const d = svc.depends_on ?? {};
  if (Array.isArray(d)) return Object.fromEntries(d.map((name) => [name, 'service_started']));
  return Object.fromEntries(Object.entries(d).map(([name, v]) => [name, v.condition]));
}
