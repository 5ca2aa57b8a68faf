// Reports: a run's bundle (sherlock-<id>.tar.gz: manifest.json, findings.json,
// summary.md, report.html, nodes/<node>/...) streamed from Redis, and the
// self-contained report.html on its own.
export { createReportBundle, BUNDLE_FILES, type BundleStats, type ReportBundle, type ReportBundleOptions } from './bundle.js';
export { reportHtmlChunks, renderReportHtml, type HtmlRenderOptions } from './html/document.js';
export { buildManifest, planNodeFiles, MANIFEST_FORMAT, type PlannedFile } from './manifest.js';
export { prepareReport, sortFindings, type ReportContext, type ReportNode } from './model.js';
export { safeSegment, safePath, SegmentAllocator, staysInside } from './names.js';
export { redisArtifactSource, streamArtifact, readArtifact, type ArtifactSource, type FindingsLoader } from './source.js';
export { renderSummary } from './summary.js';
