// The A2A message shapes found in a task's history and a context's messages, read defensively:
// the JSON is whatever the agent wrote, so every field may be missing or of another type.

export interface FileContent {
  name?: string;
  mime_type?: string;
  mimeType?: string;
  uri?: string;
  /** Inline content, base64. */
  bytes?: string;
}

export interface Part {
  kind?: string;
  text?: string;
  file?: FileContent;
  data?: unknown;
}

export interface Message {
  role?: string;
  parts?: Part[];
  metadata?: { timestamp?: string; created_at?: string };
  message_id?: string;
}

/** A history or messages column as an array of message objects (anything else: none). */
export function messagesOf(value: unknown): Message[] {
  return Array.isArray(value) ? value.map((m) => (m && typeof m === 'object' ? (m as Message) : {})) : [];
}

/** The parts of a message that has an array of them. */
export function partsOf(m: Message): Part[] {
  return Array.isArray(m.parts) ? m.parts : [];
}

/** When the message was written, if the agent recorded it. */
export function messageTime(m: Message): string | undefined {
  const t = m.metadata?.timestamp ?? m.metadata?.created_at;
  return typeof t === 'string' ? t : undefined;
}

export const isTextPart = (p: Part): boolean => p.kind === 'text' || (p.kind === undefined && typeof p.text === 'string');

/** A file part's mime type, in either spelling. */
export const mimeOf = (f: FileContent): string | undefined => f.mime_type ?? f.mimeType;

/** One part as one text: text as is; file and data parts summarised. */
export function describePart(p: Part): string {
  if (p === null || typeof p !== 'object') return String(p);
  if (isTextPart(p)) return typeof p.text === 'string' ? p.text : p.text == null ? '' : JSON.stringify(p.text);
  if (p.kind === 'file') {
    const f = p.file ?? {};
    const mime = mimeOf(f);
    return `[file ${f.name ?? f.uri ?? '(unnamed)'}${mime ? ` ${mime}` : ''}]`;
  }
  if (p.kind === 'data') {
    const d = p.data;
    const keys = d && typeof d === 'object' && !Array.isArray(d) ? Object.keys(d) : [];
    return `[data${keys.length ? ` {${keys.slice(0, 6).join(', ')}${keys.length > 6 ? ', …' : ''}}` : ''}]`;
  }
  return `[${p.kind ?? 'part'}]`;
}
