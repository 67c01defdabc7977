/** Helpers for tests against the machine's real RabbitMQ: close a named connection, inspect and clean queues. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Connection, type SyncMessage } from 'rabbitmq-client';
import { AMQP_URL } from './harness';

const run = promisify(execFile);

/** Closes, on the broker side, every connection whose client-provided name is `name` (as an operator would). */
export async function closeConnectionNamed(name: string): Promise<number> {
  const { stdout } = await run('rabbitmqctl', ['list_connections', 'pid', 'client_properties', '-q', '--no-table-headers']);
  const pids = stdout
    .split('\n')
    .filter((l) => l.includes(`{"connection_name","${name}"}`))
    .map((l) => l.split('\t')[0]);
  for (const pid of pids) await run('rabbitmqctl', ['close_connection', pid, 'closed by test']);
  return pids.length;
}

export class RabbitTool {
  readonly conn = new Connection({ url: AMQP_URL, connectionName: 'clinica-test-tool' });

  async depth(queue: string): Promise<number> {
    const ch = await this.conn.acquire();
    try {
      return (await ch.queueDeclare({ queue, passive: true })).messageCount;
    } finally {
      await ch.close();
    }
  }

  async exists(queue: string): Promise<boolean> {
    return this.depth(queue).then(
      () => true,
      () => false,
    );
  }

  /** Takes every message from a queue (acking them). */
  async drain(queue: string): Promise<SyncMessage[]> {
    const ch = await this.conn.acquire();
    const out: SyncMessage[] = [];
    try {
      for (;;) {
        const m = await ch.basicGet({ queue, noAck: true });
        if (!m) break;
        out.push(m);
      }
    } finally {
      await ch.close();
    }
    return out;
  }

  async publishRaw(queue: string, body: Buffer, props: Record<string, unknown> = {}): Promise<void> {
    const ch = await this.conn.acquire();
    try {
      await ch.basicPublish({ routingKey: queue, ...props }, body);
    } finally {
      await ch.close();
    }
  }

  async deleteQueues(...queues: string[]): Promise<void> {
    const ch = await this.conn.acquire();
    try {
      for (const queue of queues) await ch.queueDelete({ queue }).catch(() => undefined);
    } finally {
      await ch.close();
    }
  }

  close(): Promise<void> {
    return this.conn.close();
  }
}
