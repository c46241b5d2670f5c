import type { Knex } from 'knex';

/** The first migration. */
export const revises = null;

// The database enforces the shapes: array vs object JSON, status values, rating range.
export async function up(knex: Knex): Promise<void> {
  // PGlite runs one statement per call, so each statement is its own query.
  for (const sql of [
    `create type task_status as enum ('pending', 'running', 'completed', 'failed', 'input_required')`,
    `-- updated_at is kept by the database, not by callers.
      create function set_updated_at() returns trigger language plpgsql as $$
      begin
        new.updated_at := now();
        return new;
      end
      $$`,
    `create table contexts (
        context_id uuid primary key default gen_random_uuid(),
        messages jsonb not null default '[]'::jsonb check (jsonb_typeof(messages) = 'array'),
        metadata jsonb not null default '{}'::jsonb check (jsonb_typeof(metadata) = 'object'),
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      )`,
    `create table tasks (
        task_id uuid primary key default gen_random_uuid(),
        context_id uuid not null references contexts (context_id) on delete cascade,
        status task_status not null default 'pending',
        history jsonb not null default '[]'::jsonb check (jsonb_typeof(history) = 'array'),
        artifacts jsonb not null default '{}'::jsonb check (jsonb_typeof(artifacts) = 'object'),
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      )`,
    `create table task_feedback (
        feedback_id uuid primary key default gen_random_uuid(),
        task_id uuid not null references tasks (task_id) on delete cascade,
        feedback text,
        rating integer check (rating between 1 and 5),
        metadata jsonb not null default '{}'::jsonb check (jsonb_typeof(metadata) = 'object'),
        created_at timestamptz not null default now()
      )`,
    `create trigger contexts_set_updated_at before update on contexts
        for each row execute function set_updated_at()`,
    `create trigger tasks_set_updated_at before update on tasks
        for each row execute function set_updated_at()`,
    `-- Inspection: newest first overall and by status (keyset on created_at, task_id),
      -- the tasks of a context, the feedback of a task.
      create index tasks_created_idx on tasks (created_at desc, task_id desc)`,
    `create index tasks_status_created_idx on tasks (status, created_at desc, task_id desc)`,
    `create index tasks_context_created_idx on tasks (context_id, created_at desc)`,
    `create index task_feedback_task_idx on task_feedback (task_id)`,
    `create index task_feedback_created_idx on task_feedback (created_at desc, feedback_id desc)`,
    `create index contexts_created_idx on contexts (created_at desc, context_id desc)`,
  ]) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  // PGlite runs one statement per call, so each statement is its own query.
  for (const sql of [
    `drop table task_feedback`,
    `drop table tasks`,
    `drop table contexts`,
    `drop function set_updated_at()`,
    `drop type task_status`,
  ]) await knex.raw(sql);
}
