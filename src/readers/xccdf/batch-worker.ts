// Worker thread of BatchPool: reads batches of rule-results (see xccdf-batches.ts).
import { parentPort } from "node:worker_threads";
import { BatchReader, type WorkerReply, type WorkerRequest } from "./batches.js";

let reader: BatchReader | undefined;

parentPort!.on("message", (request: WorkerRequest) => {
  if ("context" in request) {
    reader = new BatchReader(request.context);
    return;
  }
  const lines = reader?.read(request.text) ?? null;
  // a copy of its own, so that its memory can be handed over rather than cloned
  const bytes = lines ? new Uint8Array(lines) : null;
  parentPort!.postMessage({ id: request.id, bytes } satisfies WorkerReply, bytes ? [bytes.buffer] : []);
});
