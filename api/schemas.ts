// Shared schemas: one error body for every route, and the bounds of time and paging parameters.
import Type from 'typebox';

export const ErrorBody = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String({ description: 'The HTTP reason phrase of statusCode' }),
  message: Type.String(),
  code: Type.Optional(Type.String({ description: 'Machine-readable code, e.g. FST_ERR_VALIDATION' })),
});

export const errorResponses = {
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  409: ErrorBody,
  429: ErrorBody,
  500: ErrorBody,
  503: ErrorBody,
} as const;

/** The latest time InfluxDB can hold (2262-04-11T23:47:16.854Z, int64 ns): no query needs a later bound. */
export const latestUtcMs = 9_223_372_036_854;

/** A time in UTC ms as a query parameter: 0 (1970) to InfluxDB's latest. */
export const UtcMsParam = (description: string) => Type.Integer({ minimum: 0, maximum: latestUtcMs, description });
