/**
 * Measurements and reports: size (disk, gzip, parameters, sparsity), latency (tfjs backends
 * and onnxruntime-node, cold and warm), memory, and quality; rendered as terminal table,
 * JSON (documented schema), Markdown and self-contained HTML with SVG charts.
 */
export { benchModels, compareToBaseline } from './bench.js';
export type { BenchArgs } from './bench.js';
export { measureFiles, paramStats, paramStatsFromSummary, paramStatsFromWeights } from './size.js';
export type { FileSize, SizeReport, LayerParams, ParamStats } from './size.js';
export { percentile, summarize } from './stats.js';
export type { LatencyStats } from './stats.js';
export { measureLatency, measureColdStart, randomInput } from './latency.js';
export type { LatencyArgs, LatencyResult, ColdStart, MemoryStats } from './latency.js';
export { classificationMetrics, segmentationMetrics, evaluateQuality, looksLikeProbabilities, targetsToLabels } from './quality.js';
export type { ClassificationQuality, SegmentationQuality, Quality, ClassStats, QualityArgs } from './quality.js';
export { RUNTIMES, parseRuntimes, tfjsBackendOf } from './runner.js';
export type { ModelRunner, ModelKind, RuntimeName, RunOutput } from './runner.js';
export { openTfjsRunner, useTfjsBackend } from './runner-tfjs.js';
export type { TfjsRunnerArgs } from './runner-tfjs.js';
export { openOnnxRunner } from './runner-onnx.js';
export type { OnnxRunnerArgs } from './runner-onnx.js';
export { openBenchModel, tfjsArtifactFiles } from './source.js';
export { benchLabels, parseBenchInput } from './labels.js';
export { evaluateModel } from './evaluate-model.js';
export type { ModelScore } from './evaluate-model.js';
export type { BenchModel, ModelInput } from './source.js';
export { isContainerFile, loadContainerModel, exportOnnxFile } from './adapters.js';
export { machineInfo } from './machine.js';
export { createProgress } from './progress.js';
export type { Progress } from './progress.js';
export { BENCH_SCHEMA_VERSION } from './report/schema.js';
export type { BenchReport, ModelReport, MachineInfo, Skipped, VsBaseline, HistoryCurve } from './report/schema.js';
export { benchReportSchema } from './report/validate.js';
export { formatTable } from './report/table.js';
export { formatMarkdown } from './report/markdown.js';
export { renderHtml, slug } from './report/html.js';
export { formatJson, writeReports, readReport } from './report/write.js';
export type { WriteReportsArgs } from './report/write.js';
export { formatBytes, formatMs, formatRatio } from './report/format.js';
export { groupedBarChart, scatterChart, lineChart, niceMax } from './report/svg.js';
export type { BarChartArgs, ScatterArgs, LineChartArgs } from './report/svg.js';
