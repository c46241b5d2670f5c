// The data-access module for inspection: the only place that writes SQL for tasks, contexts,
// feedback and webhook configs.
export * from '../layouts/layout.js';
export * from '../layouts/ours.js';
export * from '../layouts/server.js';
export * from './keyset.js';
export * from './source.js';
export * from './tasks.js';
export * from './contexts.js';
export * from './feedback.js';
export * from './stats.js';
export * from './generate.js';
