import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from '@jest/globals';
import { startFromTemplate } from '../../src/db/embeddedTemplate.js';
import { freshDatabase } from '../helpers/databases.js';

const systemId = async (db: Awaited<ReturnType<typeof freshDatabase>>['db']) =>
  (await db.sql.query<{ id: string; sb: string }>("select system_identifier::text as id, current_setting('shared_buffers') as sb from pg_control_system()"))[0];

// initdb gives every cluster its own system identifier; copies of one template share it.
test('new embedded data directories start from the template the build made, not from initdb', async () => {
  const [a, b] = [await freshDatabase('embedded'), await freshDatabase('embedded')];
  try {
    const [x, y] = [await systemId(a.db), await systemId(b.db)];
    expect(x.id).toBe(y.id);
    expect(x.sb).toBe('16MB');
  } finally {
    await a.dispose();
    await b.dispose();
  }
});

test('a template of another PostgreSQL major, or none, is not used and leaves nothing behind', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'template-'));
  fs.mkdirSync(path.join(dir, 'src', 'base'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'src', 'PG_VERSION'), '17\n');
  execFileSync('tar', ['czf', path.join(dir, 'old.tar.gz'), '-C', path.join(dir, 'src'), '.']);
  const target = path.join(dir, 'db');
  expect(startFromTemplate(target, path.join(dir, 'old.tar.gz'))).toBe(false);
  expect(startFromTemplate(target, path.join(dir, 'missing.tar.gz'))).toBe(false);
  expect(fs.readdirSync(dir).sort()).toEqual(['old.tar.gz', 'src']);
});
