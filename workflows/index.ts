// The entry point the Temporal worker bundles: every workflow type it serves.
export { assemblyWorkflow } from './assembly-workflow.js';
export { studyWorkflow } from './study-workflow.js';
export { zooIntegrationWorkflow } from './zoo-integration-workflow.js';
