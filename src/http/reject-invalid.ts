import type { NextFunction, Request, Response } from 'express';
import { validationResult } from 'express-validator';
import { FlowhookError } from '../errors';

export interface BadParameter {
  readonly name: string;
  readonly in: string;
  readonly message: string;
}

/** Every validation problem of the request as one 400 invalid_request naming the parameters. */
export function rejectInvalid(req: Request, _res: Response, next: NextFunction): void {
  const problems: BadParameter[] = [];
  for (const error of validationResult(req).array()) {
    if (error.type === 'field') {
      problems.push({ name: error.path, in: error.location, message: String(error.msg) });
    } else if (error.type === 'unknown_fields') {
      for (const field of error.fields) {
        problems.push({ name: field.path, in: field.location, message: String(error.msg) });
      }
    } else {
      problems.push({ name: '(request)', in: 'query', message: String(error.msg) });
    }
  }
  next(problems.length === 0 ? undefined : invalidRequest(problems));
}

export function invalidRequest(problems: readonly BadParameter[]): FlowhookError {
  const place = (p: BadParameter) =>
    p.in === 'params' ? 'path parameter' : p.in === 'body' ? 'body field' : 'query parameter';
  return new FlowhookError(
    'invalid_request',
    problems.map((p) => `${place(p)} ${p.name}: ${p.message}`).join('; '),
    { parameters: problems },
  );
}
