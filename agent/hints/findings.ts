/** The hint engine's public face: the engine, its catalogue and its types. */
export { computeFindings, EXIT_CODES, headline, statusOf, type Status } from './engine.js';
export { catalogueEntry, destinationCauseIds, docAnchor, FINDING_IDS, FINDINGS, type FindingCategory } from './catalogue.js';
export * from './types.js';
