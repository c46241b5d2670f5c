import type { Knex } from 'knex';

// A small, realistic dataset: A2A-style conversations, tasks in every status (failed ones end
// with the agent's failure reason), feedback, and a webhook config with a token.
// Fixed ids and ON CONFLICT DO NOTHING make it idempotent: run twice, same rows.

const ago = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();

function message(role: 'user' | 'agent', text: string, ids: { context: string; task?: string; n: number }, minutesAgo: number) {
  return {
    message_id: `${ids.context.slice(0, 8)}-${ids.task?.slice(0, 4) ?? 'ctx0'}-${String(ids.n).padStart(4, '0')}`,
    context_id: ids.context,
    ...(ids.task ? { task_id: ids.task } : {}),
    kind: 'message',
    role,
    parts: [{ kind: 'text', text }],
    metadata: { timestamp: ago(minutesAgo) },
  };
}

const C1 = '7a1e4c2b-3f5d-4e8a-9b1c-2d3e4f5a6b01';
const C2 = '7a1e4c2b-3f5d-4e8a-9b1c-2d3e4f5a6b02';
const C3 = '7a1e4c2b-3f5d-4e8a-9b1c-2d3e4f5a6b03';

interface TaskSeed {
  id: string;
  context: string;
  status: 'pending' | 'running' | 'completed' | 'failed' | 'input_required';
  ask: string;
  answer?: string;
  minutesAgo: number;
}

const tasks: TaskSeed[] = [
  { id: 'c0ffee00-0000-4000-8000-000000000001', context: C1, status: 'completed', ask: 'Summarise the attached paper on retrieval-augmented generation.', answer: 'The paper shows RAG improves factual accuracy by grounding answers in retrieved passages.', minutesAgo: 4 * 24 * 60 },
  { id: 'c0ffee00-0000-4000-8000-000000000002', context: C1, status: 'completed', ask: 'List three limitations the authors mention.', answer: 'Retrieval latency, index staleness, and sensitivity to chunk size.', minutesAgo: 4 * 24 * 60 - 10 },
  { id: 'c0ffee00-0000-4000-8000-000000000003', context: C1, status: 'failed', ask: 'Fetch the citations from Semantic Scholar.', answer: 'Task execution failed: HTTPError 429 Too Many Requests from api.semanticscholar.org', minutesAgo: 3 * 24 * 60 },
  { id: 'c0ffee00-0000-4000-8000-000000000004', context: C2, status: 'input_required', ask: 'Book a table for dinner on Friday.', answer: 'Which city, and for how many people?', minutesAgo: 2 * 24 * 60 },
  { id: 'c0ffee00-0000-4000-8000-000000000005', context: C2, status: 'failed', ask: 'Translate the menu PDF to German.', answer: 'Task execution failed: PDF parse error: unexpected end of stream at byte 48213', minutesAgo: 26 * 60 },
  { id: 'c0ffee00-0000-4000-8000-000000000006', context: C2, status: 'running', ask: 'Compare prices of the three restaurants.', minutesAgo: 90 },
  { id: 'c0ffee00-0000-4000-8000-000000000007', context: C3, status: 'pending', ask: 'Draft a weekly status report from the linked tickets.', minutesAgo: 30 },
  { id: 'c0ffee00-0000-4000-8000-000000000008', context: C3, status: 'completed', ask: 'What is the capital of Australia? Answer with "quotes" and a newline\nplease.', answer: 'Canberra — "Canberra"\n(not Sydney) ✓', minutesAgo: 20 },
  { id: 'c0ffee00-0000-4000-8000-000000000009', context: C3, status: 'failed', ask: 'Run the nightly data sync.', answer: 'Task execution failed: TimeoutError: the upstream agent did not answer within 300 s', minutesAgo: 8 },
];

export async function seed(knex: Knex): Promise<void> {
  const contexts = [
    { context_id: C1, title: 'Research assistant: RAG papers', minutesAgo: 4 * 24 * 60 + 5 },
    { context_id: C2, title: 'Travel planning', minutesAgo: 2 * 24 * 60 + 5 },
    { context_id: C3, title: 'Ops helper', minutesAgo: 35 },
  ].map((c) => {
    const own = tasks.filter((t) => t.context === c.context_id);
    const messages = own.flatMap((t, i) => [
      message('user', t.ask, { context: c.context_id, n: 2 * i }, t.minutesAgo),
      ...(t.answer ? [message('agent', t.answer, { context: c.context_id, n: 2 * i + 1 }, t.minutesAgo - 1)] : []),
    ]);
    return {
      context_id: c.context_id,
      messages: JSON.stringify(messages),
      metadata: JSON.stringify({ title: c.title, agent: 'research_agent', author: 'your.email@example.com' }),
      created_at: ago(c.minutesAgo),
      updated_at: ago(Math.max(0, Math.min(...own.map((t) => t.minutesAgo)) - 1)),
    };
  });
  await knex('contexts').insert(contexts).onConflict('context_id').ignore();

  await knex('tasks')
    .insert(
      tasks.map((t) => {
        const ids = { context: t.context, task: t.id };
        const history = [
          message('user', t.ask, { ...ids, n: 0 }, t.minutesAgo),
          ...(t.answer ? [message('agent', t.answer, { ...ids, n: 1 }, t.minutesAgo - 1)] : []),
        ];
        const artifacts =
          t.status === 'completed'
            ? { artifacts: [{ artifact_id: `${t.id.slice(0, 8)}-art`, name: 'answer', parts: [{ kind: 'text', text: t.answer }] }] }
            : {};
        return {
          task_id: t.id,
          context_id: t.context,
          status: t.status,
          history: JSON.stringify(history),
          artifacts: JSON.stringify(artifacts),
          created_at: ago(t.minutesAgo),
          updated_at: ago(Math.max(0, t.minutesAgo - 1)),
        };
      }),
    )
    .onConflict('task_id')
    .ignore();

  await knex('task_feedback')
    .insert([
      { feedback_id: 'fb000000-0000-4000-8000-000000000001', task_id: tasks[0].id, feedback: 'Accurate and concise summary.', rating: 5, metadata: JSON.stringify({ source: 'web-ui' }), created_at: ago(4 * 24 * 60 - 30) },
      { feedback_id: 'fb000000-0000-4000-8000-000000000002', task_id: tasks[1].id, feedback: 'Missed the evaluation-cost limitation.', rating: 3, metadata: JSON.stringify({ source: 'web-ui' }), created_at: ago(4 * 24 * 60 - 40) },
      { feedback_id: 'fb000000-0000-4000-8000-000000000003', task_id: tasks[2].id, feedback: 'It just failed, no retry.', rating: 1, metadata: JSON.stringify({ source: 'api' }), created_at: ago(3 * 24 * 60 - 5) },
      { feedback_id: 'fb000000-0000-4000-8000-000000000004', task_id: tasks[7].id, feedback: 'Correct — and polite about Sydney 😄', rating: 4, metadata: JSON.stringify({}), created_at: ago(15) },
    ])
    .onConflict('feedback_id')
    .ignore();

  await knex('webhook_configs')
    .insert({
      task_id: tasks[5].id,
      config: JSON.stringify({
        id: 'wh-7f3a',
        url: 'https://hooks.example.com/bindu/notify',
        token: 'whsec_9f8e7d6c5b4a39281706f5e4d3c2b1a0',
        authentication: { schemes: ['Bearer'] },
      }),
    })
    .onConflict('task_id')
    .ignore();
}
