import type { Database } from '../../db/connect.js';
import { readSchemaShape } from '../../db/fleet/catalog.js';
import { type RepairStatement, repairStatements, runRepairStatement, runRepairTransaction } from '../../db/fleet/repair.js';
import type { LayoutName } from '../../db/layouts/detect.js';
import { referenceFor } from '../../db/layouts/reference.js';
import { CancelledError, isPgError } from '../../errors.js';
import { type Finding, compareSchema } from './compare.js';
import { type SchemaDiagnosis, diagnoseSchema, selectSchemas } from './doctor.js';

/** How long one repair statement may wait for a lock before it gives up (and is retried). */
export const DEFAULT_DDL_LOCK_TIMEOUT_SECONDS = 5;
const ATTEMPTS = 3;

export interface SchemaRepairPlan {
  schema: string;
  layout: LayoutName;
  /** What will be fixed, and what repair leaves to a person (retyping, dropping, constraints). */
  fixes: Finding[];
  left: Finding[];
  statements: RepairStatement[];
}

/** Decides, without changing anything, what `schemas repair` would run on each schema. */
export async function planRepair(db: Database, names: readonly string[] = []): Promise<SchemaRepairPlan[]> {
  const plans: SchemaRepairPlan[] = [];
  for (const target of await selectSchemas(db, names)) {
    const ref = referenceFor(target.layout);
    const shape = await readSchemaShape(db.sql, target.schema);
    const findings = compareSchema(shape, ref);
    const fixes = findings.filter((f) => f.fix);
    const columnTypes = new Map(ref.tables.flatMap((t) => t.columns.map((c) => [`${t.name}.${c.name}`, c.type] as const)));
    plans.push({
      schema: target.schema,
      layout: target.layout,
      fixes,
      left: findings.filter((f) => !f.fix),
      statements: repairStatements(target.schema, fixes.map((f) => f.fix!), { concurrently: db.kind === 'postgres', functions: shape.functions, columnTypes }),
    });
  }
  return plans;
}

export interface RepairResult {
  schemas: Array<{ schema: string; statements: number }>;
  /** doctor's findings once the repair ran: what repair may not fix. */
  after: SchemaDiagnosis[];
}

/** SQLSTATE 55P03: lock_timeout expired. */
const isLockTimeout = (err: unknown) => isPgError(err) && err.code === '55P03';

async function withRetry(fn: () => Promise<void>, signal?: AbortSignal): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isLockTimeout(err) || attempt >= ATTEMPTS || signal?.aborted) throw err;
      await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
    }
  }
}

/**
 * Applies the plans: each schema's columns, defaults and triggers in one transaction under a
 * short lock_timeout (retried with backoff when it expires), then its indexes one statement at
 * a time. Stops between statements when `signal` aborts; what ran stays, and running repair
 * again goes on (every statement is idempotent; an interrupted index build is rebuilt).
 */
export async function applyRepair(db: Database, plans: readonly SchemaRepairPlan[], opts: { lockTimeoutSeconds?: number; signal?: AbortSignal; onSchema?: (schema: string) => void } = {}): Promise<RepairResult> {
  const lockTimeout = opts.lockTimeoutSeconds ?? DEFAULT_DDL_LOCK_TIMEOUT_SECONDS;
  const done: RepairResult['schemas'] = [];
  const stopIfAborted = () => {
    if (opts.signal?.aborted) throw new CancelledError(`repair interrupted; ${done.length} schema(s) done: run it again to go on`);
  };
  for (const plan of plans) {
    if (plan.statements.length === 0) continue;
    stopIfAborted();
    opts.onSchema?.(plan.schema);
    const inTx = plan.statements.filter((s) => s.transactional).map((s) => s.sql);
    // A statement cancelled because of Ctrl-C is the interruption, not a failure.
    const interruptible = (p: Promise<void>) => p.catch((err: unknown) => (stopIfAborted(), Promise.reject(err)));
    await interruptible(withRetry(() => runRepairTransaction(db.sql, plan.schema, inTx, lockTimeout), opts.signal));
    for (const s of plan.statements.filter((x) => !x.transactional)) {
      stopIfAborted();
      await interruptible(runRepairStatement(db.sql, s.sql, opts.signal));
    }
    done.push({ schema: plan.schema, statements: plan.statements.length });
  }
  // Checked by the schemas planned, not by name again: a schema named like a DID is not the one the DID derives.
  const after: SchemaDiagnosis[] = [];
  for (const plan of plans) after.push(await diagnoseSchema(db, plan));
  return { schemas: done, after };
}
