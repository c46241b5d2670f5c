/**
 * import() of an ES module, by name or URL. The CLI bundle runs from V8's code cache
 * (bin/bindu-db.cjs), and on Node 20 a script compiled from one has no import() of its own: the
 * bin lends its own under this symbol. Run from the sources (the tests), this module's does it.
 */
const lent = (globalThis as { [key: symbol]: unknown })[Symbol.for('bindu-db.import')] as ((specifier: string) => Promise<unknown>) | undefined;

export function importEsm<T>(specifier: string): Promise<T> {
  return (lent ? lent(specifier) : import(specifier)) as Promise<T>;
}
