/** What a step of the shipped flows is (nodes/flow/steps.ts): a message in, what goes out of each output. */
/* eslint-disable @typescript-eslint/no-explicit-any -- messages are open-ended objects */
export type StepMsg = Record<string, any>;
export type StepOutput = StepMsg | StepMsg[] | null;
export type StepResult = StepMsg | null | StepOutput[];

export interface StepApi {
  /** Flow context of the tab (memory): what a later message of the same tab should know. */
  flowGet(key: string): unknown;
  flowSet(key: string, value: unknown): void;
  /** A structured warning in the log (event name + fields, the correlation id added). */
  warn(event: string, fields: Record<string, unknown>): void;
  /** A deep copy of a message, for a second output. */
  clone(msg: StepMsg): StepMsg;
  /** The failures logged under `event` on this tab are over: logs it once. */
  recovered(event: string): void;
}

export interface Step {
  /** Outputs of the node (1 unless the step routes). */
  outputs: number;
  run(msg: StepMsg, api: StepApi): StepResult;
}

/** A node's msg.payload as a list of records (one record, or none, as a list). */
export const records = (payload: unknown): any[] => (Array.isArray(payload) ? payload : payload === undefined || payload === null ? [] : [payload]);

/** Removes the properties a step set for the next node only. */
export const take = (msg: StepMsg, ...keys: string[]) => {
  for (const k of keys) delete msg[k];
};
