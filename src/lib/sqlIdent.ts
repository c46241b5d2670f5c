/** A PostgreSQL identifier, double-quoted (a quote inside doubled): the one quoter of the code base. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
