// The floor for a list command: bare node + pg, connect (PG* environment), one query, print JSON.
// argv: <sql> [json params]
import pg from 'pg';

const [sql, params = '[]'] = process.argv.slice(2);
const client = new pg.Client();
await client.connect();
const { rows } = await client.query(sql, JSON.parse(params));
await client.end();
process.stdout.write(`${JSON.stringify({ items: rows, next: null }, null, 2)}\n`);
