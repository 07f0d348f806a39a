export { TWIN_SELECT, twinDocument, twinSection, type JsonObject, type JsonValue, type TwinDocument, type TwinRow, type TwinSection } from './document.ts';
export { DEFAULT_TWIN_TOPICS, desiredNotificationBody, publishTwinChange, twinChangeRecords, twinErrorResponse, twinGetBody, twinResponseRecord, type TwinOutputRecord, type TwinResponseFields, type TwinTopics } from './events.ts';
export { parseJsonText, parseReplacement, parseServicePatch, type TwinChanges, type TwinReplacement } from './input.ts';
export { TWIN_LIMITS, checkPatch, checkSectionSize, sectionSize, type TwinSectionName } from './limits.ts';
export { applySectionPatch, diffSections, isJsonObject, parseSection, type Stamp } from './patch.ts';
export { TwinService, type TwinServiceOptions } from './twin-service.ts';
export { TwinStore, describeTwin, selectTwinDocument, type TwinTarget, type TwinWriteOptions, type TwinWriteResult } from './twin-store.ts';
