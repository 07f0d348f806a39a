/** The device simulator: scenarios as typed data, targets (plain MQTT, IoT Hub dialect), the multi-worker runner. */
export { validateScenario, deviceId, partition, isLoopbackV4, ScenarioSchema, type Scenario, type ScenarioInput } from './scenario.ts';
export { connectFields, telemetryTopic, telemetryBag, telemetryPayload, iotHubUsername, describeTarget, SENT_AT_PROPERTY, type Target, type MqttTarget, type IotHubTarget } from './target.ts';
export { runScenario, type RunResult, type RunOptions, type Progress } from './runner.ts';
export { progressPrinter, progressLine, resultLines } from './progress.ts';
export { summarize, type LatencySummary } from './histogram.ts';
export { TokenBucket } from './rate-limiter.ts';
export { rssKiB, cpuSeconds, pidOf, openFilesLimit, openFilesLimitOf } from './proc.ts';
