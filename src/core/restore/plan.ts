import path from 'node:path';
import { OperationError, RefusedError } from '../../errors.js';
import type { DataTable, Dependent, SchemaHolding } from '../../db/restoreQueries.js';
import { MIGRATION_LOGS } from '../../db/restoreQueries.js';
import { type DumpEntry, isDataOnly } from '../../lib/dumpContents.js';
import type { BackupFormat } from '../backup/plan.js';
import type { Manifest } from '../backup/manifest.js';

// Deciding a restore, from facts gathered before (run.ts): pure, so every refusal is a table test.

/** What a backup file is and holds, read and checked (vet.ts) before any database is touched. */
export interface InspectedBackup {
  file: string;
  format: BackupFormat;
  /** What the dump creates, from its headers. */
  entries: DumpEntry[];
  /** The schemas it declares (its manifest's, or its headers'). */
  schemas: string[];
  manifest?: Manifest;
  /** Where psql stops reading the script (before its own closing \unrestrict). */
  bodyEnd: number;
  /** Custom archives: `pg_restore -l` output. */
  toc?: string;
}

/** What the target holds, gathered for the plan. */
export interface RestoreFacts {
  backup: InspectedBackup;
  /** Masked URL or data directory; the database's name. */
  target: string;
  database: string;
  holdings: SchemaHolding[];
  /** Data-only dumps: the tables it loads into, as the target has them. */
  dataTables?: DataTable[];
  /** What outside the backup depends on what --clean would drop or empty. */
  dependents: Dependent[];
  clean: boolean;
}

/** How a data-only dump is restored. */
export interface DataOnlyPlan {
  /** The tables whose rows are loaded, as the target has them now. */
  tables: DataTable[];
  /** Entries left out: the rows (and id sequence) of a migration log the target has filled already. */
  skip: DumpEntry[];
}

export interface RestorePlan extends InspectedBackup {
  target: string;
  database: string;
  /** What each of the dump's schemas holds now. */
  holdings: SchemaHolding[];
  /** Those that already hold Bindu tables (restore refuses them without --clean). */
  occupied: SchemaHolding[];
  /** Tasks those schemas hold now (null: no tasks table in any). */
  tasks: number | null;
  dataOnly?: DataOnlyPlan;
  clean: boolean;
}

const qualified = (t: { schema: string; name: string }) => `${t.schema}.${t.name}`;

export function sumTasks(holdings: SchemaHolding[]): number | null {
  const counts = holdings.map((h) => h.tasks ?? null);
  return counts.some((n) => n !== null) ? counts.reduce<number>((a, n) => a + (n ?? 0), 0) : null;
}

/** Refuses a --clean that would take objects outside the backup with it. */
function refuseDependents(facts: RestoreFacts): void {
  if (!facts.clean || facts.dependents.length === 0) return;
  const names = facts.dependents.map((d) => d.what);
  throw new RefusedError(
    `restore --clean would ${facts.backup.entries.length && isDataOnly(facts.backup.entries) ? 'empty' : 'drop'} what ${names.length > 1 ? 'these depend' : 'this depends'} on, and ${path.basename(facts.backup.file)} does not recreate ${names.length > 1 ? 'them' : 'it'}: ${names.slice(0, 10).join(', ')}${names.length > 10 ? `, and ${names.length - 10} more` : ''}; nothing was changed`,
    'drop or move them first (and recreate them after the restore), or restore into another database',
  );
}

/** Everything restore decides before changing anything: refusals, --clean, data-only handling. */
export function planRestore(facts: RestoreFacts): RestorePlan {
  const { backup, holdings } = facts;
  const base = { ...backup, target: facts.target, database: facts.database, holdings, tasks: sumTasks(holdings), clean: facts.clean };
  if (isDataOnly(backup.entries)) {
    const tables = facts.dataTables ?? [];
    const missing = tables.filter((t) => !t.exists);
    if (missing.length > 0) {
      const schema = missing[0].schema;
      const migrate = `bindu-db migrate up${schema === 'public' ? '' : ` --schema ${schema}`}`;
      throw new OperationError(`${path.basename(backup.file)} is a data-only backup and ${facts.target} has no table${missing.length > 1 ? 's' : ''} ${missing.map(qualified).join(', ')} to load it into: create the schema first (${migrate}); nothing was restored`);
    }
    const isLog = (t: { name: string }) => MIGRATION_LOGS.includes(t.name);
    const filled = tables.filter((t) => t.filled && !isLog(t));
    if (filled.length > 0 && !facts.clean) {
      throw new RefusedError(
        `${facts.target} already holds rows in ${filled.map(qualified).join(', ')}, which the data-only backup ${path.basename(backup.file)} would load into`,
        'restore into empty tables (e.g. just after bindu-db migrate up), or pass --clean to empty these tables first (in the same transaction; nothing is dropped)',
      );
    }
    refuseDependents(facts);
    // The migration log is the target's record of its own schema: loaded only into an empty log.
    const keptLogs = tables.filter((t) => isLog(t) && t.filled);
    const skip = backup.entries.filter((e) =>
      keptLogs.some((t) => t.schema === e.schema && ((e.type === 'TABLE DATA' && e.name === t.name) || (e.type === 'SEQUENCE SET' && e.name === `${t.name}_id_seq`))),
    );
    return { ...base, occupied: [], dataOnly: { tables: tables.filter((t) => !keptLogs.includes(t)), skip } };
  }
  const occupied = holdings.filter((h) => h.tables.length > 0 || h.layout);
  if (occupied.length > 0 && !facts.clean) {
    const what = occupied.map((h) => `"${h.schema}" (${h.tables.join(', ')}${h.layout ? `; ${h.layout} layout` : ''})`).join(', ');
    throw new RefusedError(
      `${facts.target} already holds Bindu tables in schema${occupied.length > 1 ? 's' : ''} ${what}`,
      'restore into a database without them, or pass --clean to replace them (in the same transaction)',
    );
  }
  refuseDependents(facts);
  return { ...base, occupied };
}
