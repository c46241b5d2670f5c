import fs from 'node:fs';

// The table of contents of a pg_dump custom archive, read from the file's head without pg_restore
// and without decompressing any data: each entry's SQL (what pg_restore runs for it) and COPY
// statement. Layout from PostgreSQL's pg_backup_archiver.c (ReadHead, ReadToc) and
// pg_backup_custom.c (_ReadExtraToc), archive versions 1.12 to 1.16 (pg_dump 11 to 17).

/** One entry: what pg_restore runs for it, and the COPY statement its rows are loaded with. */
export interface ArchiveEntry {
  id: number;
  desc: string;
  tag: string;
  namespace: string | null;
  defn: string;
  copyStmt: string | null;
}

/** How much of the file's head is read for it: a table of contents is kilobytes, even for many schemas. */
const HEAD_MAX = 64 << 20;

/** The entries, or undefined when the file is not an archive this reader knows (the caller then asks pg_restore). */
export function readArchiveToc(file: string): ArchiveEntry[] | undefined {
  const fd = fs.openSync(file, 'r');
  let buf: Buffer;
  try {
    const size = Math.min(fs.fstatSync(fd).size, HEAD_MAX);
    buf = Buffer.alloc(size);
    fs.readSync(fd, buf, 0, size, 0);
  } finally {
    fs.closeSync(fd);
  }
  try {
    return parse(buf);
  } catch {
    return undefined;
  }
}

function parse(buf: Buffer): ArchiveEntry[] | undefined {
  let pos = 0;
  const byte = () => {
    if (pos >= buf.length) throw new Error('short');
    return buf[pos++];
  };
  if (buf.toString('latin1', 0, 5) !== 'PGDMP') return undefined;
  pos = 5;
  const [maj, min] = [byte(), byte()];
  byte(); // revision
  const version = maj * 100 + min;
  if (maj !== 1 || min < 12 || min > 16) return undefined;
  const intSize = byte();
  const offSize = byte();
  if (byte() !== 1) return undefined; // format: custom
  const int = () => {
    const negative = byte() !== 0;
    let value = 0;
    for (let i = 0, mul = 1; i < intSize; i++, mul *= 256) value += byte() * mul;
    return negative ? -value : value;
  };
  const str = (): string | null => {
    const len = int();
    if (len < 0) return null;
    if (pos + len > buf.length) throw new Error('short');
    const s = buf.toString('utf8', pos, pos + len);
    pos += len;
    return s;
  };
  if (version >= 115) byte(); // compression algorithm
  else int(); // compression level
  for (let i = 0; i < 7; i++) int(); // creation time
  str(); // database name
  str(); // server version
  str(); // pg_dump version
  const count = int();
  if (count < 0 || count > 10_000_000) return undefined;
  const entries: ArchiveEntry[] = [];
  for (let n = 0; n < count; n++) {
    const id = int();
    int(); // had a data dumper
    str(); // table oid
    str(); // oid
    const tag = str() ?? '';
    const desc = str() ?? '';
    int(); // section
    const defn = str() ?? '';
    str(); // drop statement
    const copyStmt = str();
    const namespace = str();
    str(); // tablespace
    str(); // table access method
    if (version >= 116) int(); // relkind
    str(); // owner
    str(); // "with oids"
    while (str() !== null); // dependencies
    pos += 1 + offSize; // where its data is (custom format)
    if (pos > buf.length) throw new Error('short');
    entries.push({ id, desc, tag, namespace, defn, copyStmt });
  }
  return entries;
}
