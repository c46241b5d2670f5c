import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';

/**
 * Extracts a gzipped tar archive (ustar: regular files and directories; nothing else is
 * expected) into `dir`. Entries whose name `skip` matches are left out. Meant for archives the
 * package ships itself; a name reaching outside `dir` is still refused.
 */
export function extractTarGz(archive: Buffer, dir: string, skip: (name: string) => boolean = () => false): void {
  const tar = gunzipSync(archive);
  const field = (header: Buffer, start: number, length: number) => {
    const bytes = header.subarray(start, start + length);
    const end = bytes.indexOf(0);
    return bytes.subarray(0, end < 0 ? length : end).toString('utf8');
  };
  for (let offset = 0; offset + 512 <= tar.length; ) {
    const header = tar.subarray(offset, offset + 512);
    if (header[0] === 0) break; // the two zero blocks that end an archive
    const prefix = field(header, 345, 155);
    const name = path.posix.normalize(`${prefix ? `${prefix}/` : ''}${field(header, 0, 100)}`).replace(/^\/+/, '');
    const size = parseInt(field(header, 124, 12).trim() || '0', 8);
    const type = header[156] === 0 ? '0' : String.fromCharCode(header[156]);
    offset += 512;
    if (name.startsWith('..')) throw new Error(`archive entry ${name} points outside ${dir}`);
    const target = path.join(dir, name);
    if (!skip(name)) {
      if (type === '5') fs.mkdirSync(target, { recursive: true });
      else if (type === '0') {
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, tar.subarray(offset, offset + size));
      }
    }
    offset += Math.ceil(size / 512) * 512;
  }
}
