/**
 * The task kinds, in one place for the schemas that read task messages and results (task-messages.ts checks that
 * the list matches its TaskInput union). A new kind: its input type in task-messages.ts (and TaskInput), its name
 * here, its schema in task-schema.ts, its output in result-store.ts's outputSchema, its deadline in
 * nats-defaults.ts, its preparation in task-worker.ts (prepareThreadTask, backendNeeded), its thread task and run
 * in src/engine/task-thread.ts, and a dispatcher method that makes it (task-dispatcher.ts).
 */
export const TASK_KINDS = ['evaluate', 'align', 'noop', 'curve', 'study-cell', 'cost-product'] as const;

export type TaskKind = (typeof TASK_KINDS)[number];
