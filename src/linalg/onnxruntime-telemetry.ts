/**
 * Turns off onnxruntime's telemetry for this process. Its Linux builds start a telemetry client with their first
 * session, which leaves an empty mat-debug-<pid>.log in the temporary folder (and may try to upload). The library
 * reads ORT_DISABLE_TELEMETRY from the process's real environment, and a worker thread's `process.env` is a copy
 * that never reaches it: call this on the main thread before starting threads that may load onnxruntime.
 */
export function disableOnnxruntimeTelemetry(): void {
  process.env.ORT_DISABLE_TELEMETRY ??= '1';
}
