// Injected into the CommonJS bundle in place of import.meta.url (which CommonJS has not): the
// bundle's own file URL, as the ES modules it was built from would see theirs.
export const importMetaUrl = require('node:url').pathToFileURL(__filename).href;
