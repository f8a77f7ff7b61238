/**
 * OTLP responses: Export*ServiceResponse with partial_success (protobuf and JSON) and the
 * google.rpc.Status body OTLP/HTTP requires for 4xx/5xx answers.
 */
import { ProtoWriter } from '../protobuf/proto-writer.js';

/** What an export did not store: `rejected` data points (or spans, log records) and why. */
export interface PartialSuccess {
  readonly rejected: number;
  readonly message: string;
}

/**
 * Export{Metrics,Logs,Trace}ServiceResponse { partial_success = 1 { int64 rejected_* = 1; string error_message = 2; } }.
 * An empty message means full success.
 */
export function encodeExportResponse(p: PartialSuccess): Buffer {
  if (p.rejected === 0 && p.message === '') return Buffer.alloc(0);
  const inner = new ProtoWriter().int(1, p.rejected).string(2, p.message).finish();
  return new ProtoWriter().bytes(1, inner).finish();
}

/** The OTLP/JSON form of the response; `rejectedField` is e.g. "rejectedDataPoints". */
export function exportResponseJson(p: PartialSuccess, rejectedField: string): Record<string, unknown> {
  if (p.rejected === 0 && p.message === '') return {};
  return { partialSuccess: { [rejectedField]: String(p.rejected), errorMessage: p.message } };
}

/** gRPC status codes used in google.rpc.Status bodies. */
export const GRPC_INVALID_ARGUMENT = 3;
export const GRPC_RESOURCE_EXHAUSTED = 8;
export const GRPC_UNAVAILABLE = 14;
export const GRPC_INTERNAL = 13;
export const GRPC_UNIMPLEMENTED = 12;

/** google.rpc.Status { int32 code = 1; string message = 2; } */
export function encodeStatus(code: number, message: string): Buffer {
  return new ProtoWriter().int(1, code).string(2, message).finish();
}
