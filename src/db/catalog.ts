// Catalog facts backup and restore share. The queries themselves are in restoreQueries.ts, backupCatalog.ts and pgClient.ts,
// on a bare pg connection (or PGlite): restore and backup no longer open knex.

/** The tables that make a schema a Bindu store. */
export const BINDU_TABLES = ['contexts', 'tasks', 'task_feedback', 'webhook_configs'] as const;
