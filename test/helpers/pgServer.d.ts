export const TEST_PASSWORD: string;
export interface TestServer {
  dir: string;
  port: number;
  user: string;
  password: string;
  bindir: string;
  /** The self-signed certificate the server presents (CA for verify-full). */
  sslRootCert: string;
}
export function startTestServer(): Promise<TestServer>;
export function stopTestServer(server: TestServer): void;
export function freePort(): Promise<number>;
