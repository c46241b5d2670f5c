import type { Knex } from 'knex';

export const revises = '20250614_0001_add_webhook_configs_table';

// Indexes for the inspection queries (tasks, contexts, feedback list) on millions of rows:
// - the tasks of a context, newest first, paged by (created_at, task_id); updated_at is
//   included so a context's last activity is an index-only scan. Replaces the index without task_id.
// - the feedback of a task and feedback by rating, newest first, paged by (created_at, feedback_id);
//   the task one replaces task_feedback(task_id) (it also serves the cascade from tasks).
export async function up(knex: Knex): Promise<void> {
  // PGlite runs one statement per call, so each statement is its own query.
  for (const sql of [
    `create index tasks_context_created_id_idx on tasks (context_id, created_at desc, task_id desc) include (updated_at)`,
    `drop index tasks_context_created_idx`,
    `create index task_feedback_task_created_idx on task_feedback (task_id, created_at desc, feedback_id desc)`,
    `drop index task_feedback_task_idx`,
    `create index task_feedback_rating_created_idx on task_feedback (rating, created_at desc, feedback_id desc)`,
  ]) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  for (const sql of [
    `drop index task_feedback_rating_created_idx`,
    `create index task_feedback_task_idx on task_feedback (task_id)`,
    `drop index task_feedback_task_created_idx`,
    `create index tasks_context_created_idx on tasks (context_id, created_at desc)`,
    `drop index tasks_context_created_id_idx`,
  ]) await knex.raw(sql);
}
