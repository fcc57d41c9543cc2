import { Code, ConnectError } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import {
  BadRequestSchema,
  BadRequest_FieldViolationSchema,
  ErrorInfoSchema,
  RetryInfoSchema,
} from "../../gen/google/rpc/error_details_pb.js";
import type { GatewayError, GatewayErrorKind } from "../domain/errors.js";

/** The error domain put in google.rpc.ErrorInfo. */
export const ERROR_DOMAIN = "trading-gateway";

const codes: Record<GatewayErrorKind, Code> = {
  invalid_argument: Code.InvalidArgument,
  failed_precondition: Code.FailedPrecondition,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  unauthenticated: Code.Unauthenticated,
  permission_denied: Code.PermissionDenied,
  resource_exhausted: Code.ResourceExhausted,
  unavailable: Code.Unavailable,
  deadline_exceeded: Code.DeadlineExceeded,
  aborted: Code.Aborted,
  internal: Code.Internal,
};

/**
 * The one place where domain errors become Connect errors. Details are the
 * standard google.rpc messages so that gRPC (grpc-status-details-bin),
 * gRPC-Web and Connect clients can all decode them.
 */
export function toConnectError(e: GatewayError): ConnectError {
  const details = [];
  switch (e.kind) {
    case "invalid_argument":
      details.push({
        desc: BadRequestSchema,
        value: create(BadRequestSchema, {
          fieldViolations: e.violations.map((v) =>
            create(BadRequest_FieldViolationSchema, { field: v.field, description: v.description }),
          ),
        }),
      });
      break;
    case "already_exists":
      details.push({
        desc: ErrorInfoSchema,
        value: create(ErrorInfoSchema, { reason: e.reason, domain: ERROR_DOMAIN, metadata: { ...e.metadata } }),
      });
      break;
    case "failed_precondition":
      if (e.reason !== undefined) {
        details.push({ desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason: e.reason, domain: ERROR_DOMAIN, metadata: { ...e.metadata } }) });
      }
      break;
    case "resource_exhausted":
    case "unavailable":
      if (e.retryAfterMs !== undefined) {
        details.push({
          desc: RetryInfoSchema,
          value: create(RetryInfoSchema, { retryDelay: durationFromMs(Math.max(0, Math.ceil(e.retryAfterMs))) }),
        });
      }
      break;
    default:
      break;
  }
  return new ConnectError(e.message, codes[e.kind], undefined, details);
}
