import type { Knex } from 'knex';

// Sorts before the initial schema by name but builds on it: order comes from `revises`.
export const revises = '20251207_0001_initial_schema';

export async function up(knex: Knex): Promise<void> {
  // PGlite runs one statement per call, so each statement is its own query.
  for (const sql of [
    `create table webhook_configs (
        task_id uuid primary key references tasks (task_id) on delete cascade,
        config jsonb not null check (jsonb_typeof(config) = 'object'),
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      )`,
    `create trigger webhook_configs_set_updated_at before update on webhook_configs
        for each row execute function set_updated_at()`,
  ]) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table webhook_configs');
}
