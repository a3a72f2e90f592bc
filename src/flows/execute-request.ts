/** One call of the flow platform's execute API (README: HTTP answers), as it is sent or, in dry-run, as it would be. */
export interface ExecuteRequest {
  readonly orgId: string;
  readonly flowId: string;
  readonly variables: Readonly<Record<string, unknown>>;
  /** W3C trace context from the sender, passed on so the flow's traces join the sender's. */
  readonly traceparent?: string;
}

export interface ExecuteResult {
  readonly sessionId: string;
  readonly result: string;
}

/** The path of the execute call; every segment URL-encoded (an id may hold / or ?). */
export function executePath(orgId: string, flowId: string): string {
  return `/cgw/process/v1/orgs/${encodeURIComponent(orgId)}/flows/${encodeURIComponent(flowId)}/execute`;
}

/** An execute call as it is (or, in dry-run, would be) sent; the token is never shown. */
export function describeExecute(request: ExecuteRequest) {
  return {
    method: 'POST',
    path: executePath(request.orgId, request.flowId),
    headers: {
      'content-type': 'application/json',
      authorization: 'Bearer [FLOW_API_TOKEN]',
      ...(request.traceparent ? { traceparent: request.traceparent } : {}),
    },
    body: request.variables,
  };
}
