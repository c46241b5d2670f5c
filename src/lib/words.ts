// Words of the messages every layer writes (core's errors and hints, the CLI's summaries): one
// way to count things, to name a few of many, and to show a command line.

/** "1 task", "40,000 tasks": the count with thousands separators, the word singular for one. */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? word : many}`;
}

/** Names for a message: the first three, and how many more. */
export function firstFew(names: readonly string[]): string {
  return `${names.slice(0, 3).join(', ')}${names.length > 3 ? `, and ${names.length - 3} more` : ''}`;
}

/** A command line (printed for the user to run or read) as a shell would need it typed: words quoted only where they must be. */
export function shellLine(words: string[]): string {
  return words.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
}
