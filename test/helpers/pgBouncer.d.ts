import type { TestServer } from './pgServer.js';
export interface TestPooler {
  dir: string;
  port: number;
  pid: number;
}
export function startPooler(server: Pick<TestServer, 'port' | 'user' | 'password'>, parentDir: string): Promise<TestPooler>;
export function stopPooler(pooler: TestPooler): void;
