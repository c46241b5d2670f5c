// Every URL the studio serves, built in one place: each carries the token, so any page's
// address can be bookmarked or shared on its own. routes.ts reads the same paths back.

export type Query = Readonly<Record<string, string | number | undefined>>;

export interface Links {
  agents(): string;
  tasks(schema: string, query?: Query): string;
  task(schema: string, id: string, query?: Query): string;
  /** One part of one history message, whole, as text. */
  part(schema: string, id: string, message: number, part: number): string;
  artifacts(schema: string, id: string): string;
  contexts(schema: string, query?: Query): string;
  context(schema: string, id: string): string;
  stats(schema: string): string;
  asset(name: string): string;
  /** The token, for forms (a hidden field). */
  readonly token: string;
}

export function linksFor(token: string): Links {
  const url = (path: string, query: Query = {}) => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') params.set(k, String(v));
    params.set('token', token);
    return `${path}?${params}`;
  };
  const agent = (schema: string) => `/agents/${encodeURIComponent(schema)}`;
  return {
    token,
    agents: () => url('/'),
    tasks: (schema, query) => url(`${agent(schema)}/tasks`, query),
    task: (schema, id, query) => url(`${agent(schema)}/tasks/${encodeURIComponent(id)}`, query),
    part: (schema, id, message, part) => url(`${agent(schema)}/tasks/${encodeURIComponent(id)}/history/${message}/${part}`),
    artifacts: (schema, id) => url(`${agent(schema)}/tasks/${encodeURIComponent(id)}/artifacts`),
    contexts: (schema, query) => url(`${agent(schema)}/contexts`, query),
    context: (schema, id) => url(`${agent(schema)}/contexts/${encodeURIComponent(id)}`),
    stats: (schema) => url(`${agent(schema)}/stats`),
    asset: (name) => url(`/static/${name}`),
  };
}
