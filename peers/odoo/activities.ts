/**
 * Activities in the peer's Odoo, as Odoo 18's mail module does them (mail_activity.py, mail_activity_type.py,
 * mail_templates_chatter.xml): mail.activity.type with the "To-Do" type (xmlid mail.mail_activity_data_todo),
 * mail.activity on any record — res_model_id and a non-zero res_id required, res_model the stored related
 * res_model_id.model, the assigned user by default the caller, the deadline by default today — and
 * action_feedback / action_done, which post "<type> done: <summary>" on the record (mail.message with
 * mail_activity_type_id, subtype mail.mt_activities) and then archive the activity when its type keeps done
 * activities (keep_done), else delete it.
 */
import { ValidationError, missingRecord } from './python';
import { makeModel, odooNow, type Env, type FieldDef, type FieldType, type ModelDef, type Rec, type Registry } from './store';

type F = Omit<FieldDef, 'string'> & { string?: string };
const f = (name: string, type: FieldType, extra: Partial<F> = {}): F => ({ name, type, ...extra });
const m2o = (name: string, relation: string, extra: Partial<F> = {}): F => ({ name, type: 'many2one', relation, ...extra });

export type PostMessage = (env: Env, model: string, resId: number, p: Record<string, unknown>) => number;

const TODO_TYPE = 4;
const today = (env: Env) => odooNow(env.registry.clock()).slice(0, 10);

/** Text as lxml writes it after Odoo's sanitizer: only & < > escaped. */
const escapeText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * The body of mail.message_activity_done as a real Odoo 18 stores it (the outer <div> is dropped by the
 * sanitizer): `\n    <p>\n        <span class="fa fa-check fa-fw"></span><span>To-Do</span> done\n        <span>: </span><span>SUMMARY</span>\n    </p>\n`,
 * then the feedback when there is one.
 */
function doneBody(env: Env, activity: Rec, type: Rec | undefined, feedback: unknown): string {
  const icon = type?.icon ? String(type.icon) : '';
  const assignee = activity.user_id !== env.uid ? env.registry.get(env, 'res.users', activity.user_id as number) : undefined;
  const summary = activity.summary ? String(activity.summary) : '';
  const note = typeof activity.note === 'string' && activity.note && activity.note !== '<p><br></p>' ? String(activity.note) : '';
  return (
    `\n    <p>\n        <span class="fa ${escapeText(icon)} fa-fw"></span>${type?.name ? `<span>${escapeText(String(type.name))}</span>` : ''} done\n` +
    (assignee ? `         (originally assigned to <span>${escapeText(String(assignee.name ?? ''))}</span>)\n` : '') +
    (summary ? `        <span>: </span><span>${escapeText(summary)}</span>\n` : '') +
    `    </p>\n` +
    (note ? `    <div class="o_mail_note_title fw-bold">Original note:</div>\n        <div>${note}</div>\n` : '') +
    (feedback
      ? `    <div>\n        <div class="fw-bold">Feedback:</div>\n            ${String(feedback).split('\n').map(escapeText).join('\n            <br>\n            ')}\n    </div>\n`
      : '')
  );
}

/** mail.activity._action_done: a chatter message per activity, then archive (keep_done) or delete. */
function actionDone(env: Env, ids: number[], feedback: unknown, postMessage: PostMessage): number | false {
  const reg = env.registry;
  const messages: number[] = [];
  const keep: number[] = [];
  const drop: number[] = [];
  for (const id of ids) {
    const a = reg.get(env, 'mail.activity', id);
    if (!a) throw missingRecord('mail.activity', [id], env.uid);
    const type = a.activity_type_id ? reg.get(env, 'mail.activity.type', a.activity_type_id as number) : undefined;
    const sys = { ...env, uid: 1 };
    const messageId = postMessage(env, String(a.res_model), a.res_id as number, {
      body: doneBody(env, a, type, feedback),
      message_type: 'notification',
      subtype_xmlid: 'mail.mt_activities',
    });
    reg.write(sys, 'mail.message', [messageId], { mail_activity_type_id: (a.activity_type_id as number) || false });
    messages.push(messageId);
    (type?.keep_done ? keep : drop).push(id);
  }
  if (keep.length) reg.write(env, 'mail.activity', keep, { active: false, date_done: today(env) });
  if (drop.length) reg.unlink(env, 'mail.activity', drop);
  return messages[0] ?? false;
}

/** The models; called by the mail section of the catalog. */
export function defineActivities(reg: Registry, define: (d: ModelDef) => ModelDef, postMessage: PostMessage): void {
  define(makeModel(
    'mail.activity.type',
    'Activity Type',
    'mail',
    [
      f('name', 'char', { required: true }),
      f('summary', 'char', { string: 'Default Summary' }),
      f('sequence', 'integer', { default: 10 }),
      f('active', 'boolean', { default: true }),
      f('delay_count', 'integer', { string: 'Schedule' }),
      f('icon', 'char'),
      f('category', 'selection', {
        selection: [
          ['default', 'None'],
          ['upload_file', 'Upload Document'],
          ['phonecall', 'Phonecall'],
          ['meeting', 'Meeting'],
        ],
        default: 'default',
      }),
      f('res_model', 'char', { string: 'Model' }),
      f('keep_done', 'boolean', { string: 'Keep Done' }),
    ],
    { order: 'sequence, id' },
  ));

  const activity = define(
    makeModel(
      'mail.activity',
      'Activity',
      'mail',
      [
        m2o('res_model_id', 'ir.model', { required: true, string: 'Document Model' }),
        // related='res_model_id.model', store=True, readonly: set from res_model_id here.
        f('res_model', 'char', { readonly: true, string: 'Related Document Model' }),
        f('res_id', 'integer', { string: 'Related Document ID' }),
        f('res_name', 'char', {
          store: false,
          string: 'Document Name',
          compute: (env, r) => {
            const doc = r.res_model ? env.registry.get({ ...env, uid: 1 }, String(r.res_model), r.res_id as number) : undefined;
            return doc ? env.registry.displayName(env, String(r.res_model), doc) : false;
          },
        }),
        m2o('activity_type_id', 'mail.activity.type', {
          string: 'Activity Type',
          // _default_activity_type: only when the context names the model (default_res_model[_id]), as the web client does.
          default: (env: Env) =>
            (env.context.default_res_model_id || env.context.default_res_model) && env.registry.get(env, 'mail.activity.type', TODO_TYPE)?.active
              ? TODO_TYPE
              : false,
        }),
        f('summary', 'char'),
        f('note', 'html'),
        f('date_deadline', 'date', { required: true, string: 'Due Date', default: today }),
        f('date_done', 'date', { readonly: true, string: 'Done Date' }),
        m2o('user_id', 'res.users', { required: true, string: 'Assigned to', default: (env: Env) => env.uid }),
        f('automated', 'boolean', { readonly: true }),
        f('active', 'boolean', { default: true }),
        f('state', 'selection', {
          store: false,
          selection: [
            ['overdue', 'Overdue'],
            ['today', 'Today'],
            ['planned', 'Planned'],
            ['done', 'Done'],
          ],
          compute: (env, r) => {
            if (r.active === false) return 'done';
            const d = String(r.date_deadline);
            const t = today(env);
            return d < t ? 'overdue' : d === t ? 'today' : 'planned';
          },
        }),
      ],
      { order: 'date_deadline ASC, id ASC', recName: 'summary' },
    ),
  );
  const modelOf = (env: Env, modelId: unknown) =>
    modelId ? (reg.get({ ...env, uid: 1 }, 'ir.model', modelId as number)?.model as string | undefined) : undefined;
  activity.hooks.beforeCreate = (env, vals) => {
    vals.res_model = modelOf(env, vals.res_model_id) ?? false;
  };
  activity.hooks.beforeWrite = (env, _ids, vals) => {
    if (vals.res_model_id !== undefined) vals.res_model = modelOf(env, vals.res_model_id) ?? false;
  };
  activity.hooks.check = (env, ids) => {
    for (const id of ids) {
      const r = reg.get(env, 'mail.activity', id);
      // _sql_constraints check_res_id_is_set
      if (r && !r.res_id) throw ValidationError('The operation cannot be completed: Activities have to be linked to records with a not null res_id.');
    }
  };
  activity.methods.action_feedback = {
    api: 'records',
    params: ['feedback', 'attachment_ids'],
    fn: (env, ids, p) => actionDone(env, ids, p.feedback, postMessage),
  };
  activity.methods.action_done = {
    api: 'records',
    params: [],
    fn: (env, ids) => {
      const open = ids.filter((id) => reg.get(env, 'mail.activity', id)?.active !== false);
      return open.length ? actionDone(env, open, false, postMessage) : false;
    },
  };
}

/** The mail module's activity data. */
export function seedActivities(reg: Registry, xmlid: (module: string, name: string, model: string, resId: number) => void): void {
  // As a real Odoo 18 has them (mail_activity_data.xml): id, xmlid, name, icon, sequence, delay, category.
  const types: Array<[number, string, string, string, number, number, string]> = [
    [1, 'mail_activity_data_email', 'Email', 'fa-envelope', 3, 0, 'default'],
    [2, 'mail_activity_data_call', 'Call', 'fa-phone', 6, 2, 'phonecall'],
    [3, 'mail_activity_data_meeting', 'Meeting', 'fa-users', 9, 0, 'meeting'],
    [TODO_TYPE, 'mail_activity_data_todo', 'To-Do', 'fa-check', 12, 5, 'default'],
    [5, 'mail_activity_data_upload_document', 'Upload Document', 'fa-upload', 25, 5, 'upload_file'],
    [6, 'mail_activity_data_warning', 'Exception', 'fa-warning', 99, 0, 'default'],
  ];
  for (const [id, name, label, icon, sequence, delay, category] of types) {
    reg.insertRaw('mail.activity.type', { id, name: label, icon, sequence, delay_count: delay, active: true, category, keep_done: false });
    xmlid('mail', name, 'mail.activity.type', id);
  }
}
