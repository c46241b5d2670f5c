import * as inspect from '../core/inspect.js';
import { messagesOf, partsOf } from '../core/messages.js';
import { type Database, inSchema } from '../db/connect.js';
import { BinduError, OperationError, UsageError, isPgError, tooDeepError } from '../errors.js';
import { agentsPage } from './views/agents.js';
import { type Html, html, showControls } from './views/html.js';
import type { Links } from './views/links.js';
import { page } from './views/page.js';
import { statsPage } from './views/stats.js';
import { contextsPage } from './views/contexts.js';
import { contextPage, taskPage } from './views/task.js';
import { type TaskFilterQuery, tasksPage } from './views/tasks.js';
import { partText, prettyJson } from './views/timeline.js';

// The pages, each a read through core (the same use cases as the commands) rendered by a view.
// Paths are those views/links.ts builds. Nothing from the request reaches SQL but through
// core's parsers, which bind every value.

export interface Reply {
  status: number;
  type: 'html' | 'text';
  body: string;
}

export interface Routes {
  handle(url: URL): Promise<Reply>;
}

/** Context histories shown on a context page when its conversation lives in its tasks (Bindu's server). */
const CONTEXT_HISTORIES = 10;
const MAX_VIEWS = 1000;

/** SQLSTATEs of a table or schema that no longer exists: undefined_table, invalid_schema_name. */
const GONE = new Set(['42P01', '3F000']);

const htmlReply = (body: Html, status = 200): Reply => ({ status, type: 'html', body: body.value });
const textReply = (body: string): Reply => ({ status: 200, type: 'text', body });

class NotFound extends Error {}

/** A whole number from the query string, or the fallback. */
function index(value: string | null | undefined, fallback = 0): number {
  if (value === null || value === undefined || value === '') return fallback;
  if (!/^\d{1,9}$/.test(value)) throw new UsageError(`not a position: ${JSON.stringify(value.slice(0, 20))}`);
  return Number(value);
}

/** `onError`: told of every failure that is not the request's fault (a lost connection, a bug). */
export function createRoutes(db: Database, links: Links, onError: (err: unknown) => void = () => undefined): Routes {
  // One view of the database per schema shown, so core detects each schema's layout once.
  const views = new Map<string, Database>();
  const viewOf = async (schema: string): Promise<Database> => {
    const known = views.get(schema);
    if (known) return known;
    const view = inSchema(db, schema);
    try {
      await inspect.sourceFor(view);
    } catch (err) {
      if (err instanceof UsageError) throw new NotFound(`schema "${schema}" holds no Bindu tables`);
      throw err;
    }
    if (views.size < MAX_VIEWS) views.set(schema, view);
    return view;
  };

  const tasks = async (schema: string, q: URLSearchParams): Promise<Reply> => {
    const view = await viewOf(schema);
    const { layout } = await inspect.sourceFor(view);
    const query: TaskFilterQuery = {
      status: q.getAll('status').join(',') || undefined,
      since: q.get('since') || undefined,
      until: q.get('until') || undefined,
      context: q.get('context') || undefined,
      owner: q.get('owner') || undefined,
      payment_status: q.get('payment_status') || undefined,
      limit: q.get('limit') || undefined,
    };
    const after = q.get('after') || undefined;
    const result = await inspect.listTasks(view, { ...query, paymentStatus: query.payment_status, after });
    return htmlReply(
      tasksPage(links, { schema, layout: layout.name, statuses: layout.statuses, owner: layout.tasks.ownerDid !== null, payment: layout.tasks.metadata !== null, query, after, page: result }),
    );
  };

  const task = async (schema: string, id: string) => inspect.showTask(await viewOf(schema), id);

  const part = async (schema: string, id: string, m: string, p: string): Promise<Reply> => {
    const message = messagesOf((await task(schema, id)).history)[index(m)];
    const found = message && partsOf(message)[index(p)];
    if (found === undefined) throw new NotFound(`task ${id} has no part ${p} in message ${m}`);
    return textReply(showControls(partText(found)));
  };

  const context = async (schema: string, id: string): Promise<Reply> => {
    const view = await viewOf(schema);
    const x = await inspect.showContext(view, id);
    const histories = [];
    if (messagesOf(x.messages).length === 0) {
      for (const t of x.tasks.slice(0, CONTEXT_HISTORIES).reverse()) histories.push(await inspect.showTask(view, t.task_id));
    }
    return htmlReply(contextPage(links, schema, x, histories));
  };

  const dispatch = async (url: URL): Promise<Reply> => {
    const segments = url.pathname.split('/').slice(1).map((s) => decodeURIComponent(s));
    const q = url.searchParams;
    // PostgreSQL takes no NUL in a text: bound as a schema name or a filter it failed the query as a server error.
    if ([...segments, ...q.values()].some((v) => v.includes('\0'))) throw new UsageError('malformed address: it holds a NUL character (%00)');
    if (url.pathname === '/') return htmlReply(agentsPage(links, ((await inspect.stats(db, { bySchema: true })) as { items: inspect.SchemaStatsRow[] }).items));
    if (segments[0] !== 'agents' || segments.length < 3) throw new NotFound(`no page at ${url.pathname}`);
    const [, schema, what, id, sub, m, p] = segments;
    if (what === 'stats' && segments.length === 3) return htmlReply(statsPage(links, schema, await inspect.stats(await viewOf(schema))));
    if (what === 'tasks' && segments.length === 3) return tasks(schema, q);
    if (what === 'tasks' && segments.length === 4) return htmlReply(taskPage(links, schema, await task(schema, id), index(q.get('from'))));
    if (what === 'tasks' && sub === 'artifacts' && segments.length === 5) return textReply(showControls(prettyJson((await task(schema, id)).artifacts)));
    if (what === 'tasks' && sub === 'history' && segments.length === 7) return part(schema, id, m, p);
    if (what === 'contexts' && segments.length === 3) {
      const after = q.get('after') || undefined;
      return htmlReply(contextsPage(links, schema, await inspect.listContexts(await viewOf(schema), { after, limit: q.get('limit') || undefined }), after));
    }
    if (what === 'contexts' && segments.length === 4) return context(schema, id);
    throw new NotFound(`no page at ${url.pathname}`);
  };

  // A schema (or its tables) dropped while the studio runs: what was detected there is stale.
  // Detect again, so a gone agent is a 404 page rather than an internal error.
  const dispatchFresh = async (url: URL): Promise<Reply> => {
    try {
      return await dispatch(url);
    } catch (err) {
      if (!isPgError(err) || !GONE.has(err.code ?? '')) throw err;
      views.clear();
      return dispatch(url);
    }
  };
  return {
    handle: async (url) => {
      try {
        return await dispatchFresh(url);
      } catch (thrown) {
        const err = tooDeepError(thrown) ?? thrown;
        const reply = errorReply(links, err);
        if (reply.status >= 500) onError(err);
        return reply;
      }
    },
  };
}

/** An error as a page: what the commands would print, with the status code that says which kind. */
function errorReply(links: Links, err: unknown): Reply {
  const notFound = err instanceof NotFound || err instanceof URIError || (err instanceof OperationError && / not found$/.test(err.message));
  const status = notFound ? 404 : err instanceof UsageError ? 400 : 500;
  // Unknown errors show no details (a stack or a driver's text is no business of a browser).
  const message = err instanceof BinduError || err instanceof NotFound ? err.message : err instanceof URIError ? 'malformed address' : 'internal error: see the terminal running bindu-db studio';
  const hint = err instanceof BinduError ? err.hint : undefined;
  return htmlReply(page(links, 'Error', [{ label: String(status) }], html`<h1>${status === 404 ? 'Not found' : status === 400 ? 'Bad request' : 'Error'}</h1><p class="error">${message}</p>${hint ? html`<p class="dim">${hint}</p>` : ''}<p><a href="${links.agents()}">all agents</a></p>`), status);
}
