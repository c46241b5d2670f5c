// Every top-level command's register function. The build makes this its own bundle
// (dist/commands.cjs), so that `bindu-db --help` loads none of it.
export { registerBackup } from './backup.js';
export { registerInspect } from './inspect.js';
export { registerMigrate } from './migrate.js';
export { registerSchemas } from './schemas.js';
export { registerSeed } from './seed.js';
export { registerStudio } from './studio.js';
