/**
 * What all AWS-compatible services share: the JSON 1.1 and Query envelopes, the SigV4 check, validation
 * against the AWS models, error shapes and pagination tokens. The wire protocol lives here.
 */
export { AwsError, renderError } from "./errors.js";
export { loadServiceModel, type ServiceModel, type Shape } from "./model.js";
export { validateInput } from "./validate.js";
export {
  verifySigV4,
  type Precheck,
  type UnreadRequest,
  type Credentials,
  type CredentialLookup,
  type SignedRequest,
} from "./sigv4.js";
export { AwsJsonGateway, renderJson, renderOnce } from "./json-protocol.js";
export { AwsQueryGateway, FORM_CONTENT_TYPE, type AwsQueryService } from "./query-protocol.js";
export { decodeQueryInput, encodeQueryOutput, encodeQueryError } from "./query-codec.js";
export {
  actionTable,
  type Handlers,
  internalContext,
  type AwsJsonService,
  type Empty,
  type RequestContext,
} from "./service.js";
export { encodeToken, decodeToken, page, pageFrom, tokenOffset } from "./pagination.js";
export { AwsRestJsonGateway, type AwsRestJsonService } from "./rest-json-protocol.js";
export { verifyPresignedUrl } from "./sigv4-presigned.js";
export {
  AWS_ERROR_CODES,
  errorStatus,
  type AwsErrorCode,
  type AwsErrorSpec,
} from "./error-codes.js";
export { rootPrincipal, type Principal } from "./principal.js";
export {
  authorizeRequest,
  resources,
  resourcesByMember,
  resourcesByArnMembers,
  type Authorizer,
  type RequestedResource,
  type ResourceResolver,
  type ResourceTable,
} from "./authorization.js";
