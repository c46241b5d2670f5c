import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
export const TEST_PASSWORD = 'Tr1cky p@ss:w/rd%?#&=';
/** A TCP port nothing listens on now (the server's, PgBouncer's). */
export function freePort() {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.unref();
        srv.on('error', reject);
        srv.listen(0, '127.0.0.1', () => {
            const { port } = srv.address();
            srv.close(() => resolve(port));
        });
    });
}
function pgBindir() {
    try {
        return execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
    }
    catch {
        // No libpq-dev: take the newest server Debian installed.
        const root = '/usr/lib/postgresql';
        const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb'))) : [];
        if (versions.length === 0) throw new Error('PostgreSQL server binaries not found: run test/helpers/ensure-postgres.sh (npm test does)');
        return path.join(root, versions.sort((a, b) => Number(b) - Number(a))[0], 'bin');
    }
}
const asRoot = process.getuid?.() === 0;
/** Runs a server binary, as the postgres user when we are root (initdb refuses root). */
function runPg(bindir, tool, args) {
    const cmd = asRoot ? 'runuser' : path.join(bindir, tool);
    const argv = asRoot ? ['-u', 'postgres', '--', path.join(bindir, tool), ...args] : args;
    const result = spawnSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (result.status !== 0)
        throw new Error(`${tool} failed: ${result.stderr || result.stdout}`);
}
export async function startTestServer() {
    const bindir = pgBindir();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bindu-db-test-pg-'));
    if (asRoot)
        execFileSync('chown', ['postgres:', dir]);
    const pwfile = path.join(dir, 'pw');
    fs.writeFileSync(pwfile, TEST_PASSWORD);
    if (asRoot)
        execFileSync('chown', ['postgres:', pwfile]);
    // Password auth over TCP (so wrong passwords fail for real), trust on the socket.
    runPg(bindir, 'initdb', ['-D', path.join(dir, 'data'), '-U', 'postgres', `--pwfile=${pwfile}`, '--auth-host=scram-sha-256', '--auth-local=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
    // TLS with a self-signed certificate for localhost (not 127.0.0.1), so sslmode=require and verify-full are tested for real.
    const cert = path.join(dir, 'server.crt');
    const key = path.join(dir, 'server.key');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], { stdio: 'ignore' });
    fs.chmodSync(key, 0o600);
    if (asRoot)
        execFileSync('chown', ['postgres:', cert, key]);
    const port = await freePort();
    runPg(bindir, 'pg_ctl', ['-D', path.join(dir, 'data'), '-l', path.join(dir, 'log'), '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200 -c ssl=on -c ssl_cert_file=${cert} -c ssl_key_file=${key}`, 'start']);
    return { dir, port, user: 'postgres', password: TEST_PASSWORD, bindir, sslRootCert: cert };
}
export function stopTestServer(server) {
    try {
        runPg(server.bindir, 'pg_ctl', ['-D', path.join(server.dir, 'data'), '-m', 'immediate', '-w', 'stop']);
    }
    finally {
        fs.rmSync(server.dir, { recursive: true, force: true });
    }
}
