/**
 * Every AWS error code Berth answers with, in one typed table: the status (per service where
 * services differ), the services that use it and the form of its message. `AwsError` takes its
 * status (and so its fault) from here, and its message where that never varies; the Query
 * protocol takes its wire names for the front door's failures from here; and
 * docs/errors.md is written from here (`node --import tsx scripts/errors-doc.ts`).
 */

export interface AwsErrorSpec {
  /** The HTTP status on the JSON protocol; 5xx is Berth's fault, the rest the caller's. */
  status: number;
  /**
   * Services (by signing name) that answer it with another status: REST-JSON models give each
   * error its own (EKS's ResourceNotFoundException is 404 where Logs' is 400). Never crosses
   * the 500 line, so the fault stays the code's.
   */
  statusIn?: Readonly<Record<string, number>>;
  /** Who answers it: a signing name, or "*" for the front door of every service. */
  services: readonly string[];
  /** The form of its message, as AWS writes it; `<...>` stands for what varies. */
  message: string;
  /** The Query protocol's name and status, where they differ (its authentication failures). */
  query?: { code: string; status: number };
}

const FRONT_DOOR = ["*"];
/** REST-JSON services answer authentication failures with 403, as API Gateway fronts do. */
const REST_JSON_AUTH = { eks: 403, scheduler: 403 };

export const AWS_ERROR_CODES = {
  // The front door: signature, envelope, input against the model.
  MissingAuthenticationTokenException: {
    status: 400,
    services: FRONT_DOOR,
    statusIn: REST_JSON_AUTH,
    message: "Missing Authentication Token",
    query: { code: "MissingAuthenticationToken", status: 403 },
  },
  IncompleteSignatureException: {
    status: 400,
    services: FRONT_DOOR,
    statusIn: REST_JSON_AUTH,
    message: "<which part of the Authorization header is missing or malformed>",
    query: { code: "IncompleteSignature", status: 403 },
  },
  UnrecognizedClientException: {
    status: 400,
    services: FRONT_DOOR,
    statusIn: REST_JSON_AUTH,
    message: "The security token included in the request is invalid.",
    query: { code: "InvalidClientTokenId", status: 403 },
  },
  InvalidSignatureException: {
    status: 400,
    services: FRONT_DOOR,
    statusIn: REST_JSON_AUTH,
    message: "The request signature we calculated does not match the signature you provided. <...>",
    query: { code: "SignatureDoesNotMatch", status: 403 },
  },
  // Temporary credentials (STS) past their expiry.
  ExpiredTokenException: {
    status: 400,
    services: FRONT_DOOR,
    statusIn: REST_JSON_AUTH,
    message: "The security token included in the request is expired",
    query: { code: "ExpiredToken", status: 403 },
  },
  // Authorization: the caller's policies do not allow the action on the resource.
  AccessDeniedException: {
    status: 400,
    services: FRONT_DOOR,
    statusIn: REST_JSON_AUTH,
    message:
      "User: <principal ARN> is not authorized to perform: <action> on resource: <ARN> because no identity-based policy allows the <action> action",
    query: { code: "AccessDenied", status: 403 },
  },
  // REST-JSON: no operation's URI template matched the path.
  UnknownOperationException: {
    status: 400,
    statusIn: { eks: 404, scheduler: 404 },
    services: FRONT_DOOR,
    message: "(none)",
  },
  SerializationException: {
    status: 400,
    services: FRONT_DOOR,
    message: "(none), or STRING_VALUE can not be converted to <type>",
  },
  RequestEntityTooLargeException: {
    status: 413,
    services: FRONT_DOOR,
    message: "Request body too large",
  },
  // More unverified request bodies in flight than the server buffers at once (a flood).
  ThrottlingException: { status: 400, services: FRONT_DOOR, message: "Rate exceeded" },
  ServerException: { status: 500, services: FRONT_DOOR, message: "An internal error occurred." },
  // Validation: each service's own code for a constraint of the model or a semantic rule.
  InvalidParameterException: {
    status: 400,
    services: ["ecs", "ecr", "logs", "eks", "secretsmanager"],
    message: "<N> validation errors detected: <...>, or what is wrong",
  },
  ValidationException: {
    status: 400,
    services: ["application-autoscaling", "ce", "logs", "scheduler", "ssm"],
    message: "<N> validation errors detected: <...>, or what is wrong",
  },
  ValidationError: {
    status: 400,
    services: ["elasticloadbalancing", "iam", "sts"],
    message: "<N> validation errors detected: <...>, or what is wrong",
  },
  ClientException: { status: 400, services: ["ecs"], message: "<what is wrong>" },
  InvalidRequestException: {
    status: 400,
    services: ["eks", "secretsmanager"],
    message: "<why the request cannot be served in this state>",
  },
  // ECS
  ClusterNotFoundException: { status: 400, services: ["ecs"], message: "Cluster not found." },
  ClusterContainsServicesException: { status: 400, services: ["ecs"], message: "<AWS's text>" },
  ClusterContainsTasksException: { status: 400, services: ["ecs"], message: "<AWS's text>" },
  ServiceNotFoundException: { status: 400, services: ["ecs"], message: "Service not found." },
  ServiceNotActiveException: {
    status: 400,
    services: ["ecs"],
    message: "Service was not ACTIVE.",
  },
  // ECR
  RepositoryNotFoundException: {
    status: 400,
    services: ["ecr"],
    message: "The repository with name '<name>' does not exist in the registry with id '<id>'",
  },
  RepositoryAlreadyExistsException: {
    status: 400,
    services: ["ecr"],
    message: "The repository with name '<name>' already exists in the registry with id '<id>'",
  },
  RepositoryNotEmptyException: {
    status: 400,
    services: ["ecr"],
    message:
      "The repository with name '<name>' in registry with id '<id>' cannot be deleted because it still contains images",
  },
  RepositoryPolicyNotFoundException: { status: 400, services: ["ecr"], message: "<AWS's text>" },
  LifecyclePolicyNotFoundException: {
    status: 400,
    services: ["ecr"],
    message:
      "Lifecycle policy does not exist for the repository with name '<name>' in the registry with id '<id>'",
  },
  LifecyclePolicyPreviewNotFoundException: {
    status: 400,
    services: ["ecr"],
    message:
      "There is no lifecycle policy preview for the repository with name '<name>' in the registry with id '<id>'",
  },
  ReferencedImagesNotFoundException: {
    status: 400,
    services: ["ecr"],
    message:
      "Some of the images referenced by the manifest list were not found in the repository with name '<name>' in the registry with id '<id>': '[<digests>]'",
  },
  ImageNotFoundException: {
    status: 400,
    services: ["ecr"],
    message:
      "The image with imageId {<id>} does not exist within the repository with name '<name>' in the registry with id '<id>'",
  },
  ImageAlreadyExistsException: { status: 400, services: ["ecr"], message: "<AWS's text>" },
  ImageTagAlreadyExistsException: { status: 400, services: ["ecr"], message: "<AWS's text>" },
  ImageDigestDoesNotMatchException: { status: 400, services: ["ecr"], message: "<AWS's text>" },
  LayersNotFoundException: { status: 400, services: ["ecr"], message: "<AWS's text>" },
  // CloudWatch Logs and EKS
  ResourceNotFoundException: {
    status: 400,
    statusIn: { eks: 404, scheduler: 404 },
    services: ["logs", "eks", "scheduler", "secretsmanager"],
    message:
      "The specified log group|stream does not exist. (EKS: No cluster|Fargate Profile found ...; Secrets Manager: Secrets Manager can't find the specified secret[ value for ...].)",
  },
  ResourceAlreadyExistsException: {
    status: 400,
    services: ["logs"],
    message: "The specified log group|stream already exists",
  },
  TooManyTagsException: {
    status: 400,
    services: ["logs"],
    message: "A resource can have at most <N> tags.",
  },
  // EventBridge Scheduler
  ConflictException: {
    status: 409,
    services: ["scheduler"],
    message: "Schedule <name> already exists. (or another conflicting change)",
  },
  // EKS
  ResourceInUseException: {
    status: 409,
    services: ["eks"],
    message: "<what is in use or being changed>",
  },
  BadRequestException: {
    status: 400,
    services: ["eks"],
    message: "<what is wrong with the tags>",
  },
  NotFoundException: {
    status: 404,
    services: ["eks"],
    message: "Resource <arn> was not found.",
  },
  // Application Auto Scaling
  ObjectNotFoundException: {
    status: 400,
    services: ["application-autoscaling"],
    message: "No scalable target registered for <resource>, or what is missing",
  },
  InvalidNextTokenException: {
    status: 400,
    services: ["application-autoscaling", "secretsmanager"],
    message: "Invalid token",
  },
  // Cost Explorer
  DataUnavailableException: { status: 400, services: ["ce"], message: "<what is missing>" },
  // Elastic Load Balancing (Query protocol: the model's codes)
  LoadBalancerNotFound: {
    status: 400,
    services: ["elasticloadbalancing"],
    message: "One or more load balancers not found",
  },
  TargetGroupNotFound: {
    status: 400,
    services: ["elasticloadbalancing"],
    message: "One or more target groups not found",
  },
  ListenerNotFound: {
    status: 400,
    services: ["elasticloadbalancing"],
    message: "One or more listeners not found",
  },
  RuleNotFound: {
    status: 400,
    services: ["elasticloadbalancing"],
    message: "One or more rules not found",
  },
  PriorityInUse: {
    status: 400,
    services: ["elasticloadbalancing"],
    message: "Priority '<N>' is currently in use",
  },
  ResourceInUse: { status: 400, services: ["elasticloadbalancing"], message: "<what uses it>" },
  OperationNotPermitted: {
    status: 400,
    services: ["elasticloadbalancing"],
    message: "<what is not permitted>",
  },
  InvalidConfigurationRequest: {
    status: 400,
    services: ["elasticloadbalancing"],
    message: "<what is wrong>",
  },
  InvalidTarget: { status: 400, services: ["elasticloadbalancing"], message: "<what is wrong>" },
  TooManyActions: {
    status: 400,
    services: ["elasticloadbalancing"],
    message: "<how many actions a rule may take>",
  },
  TooManyTags: {
    status: 400,
    services: ["elasticloadbalancing"],
    message: "You've reached the limit on the number of tags for this resource",
  },
  DuplicateTagKeys: {
    status: 400,
    services: ["elasticloadbalancing"],
    message: "Tag keys must be unique",
  },
  InvalidAction: {
    status: 400,
    services: ["elasticloadbalancing"],
    message: "Could not find operation <action> for version <version>",
  },
  DuplicateLoadBalancerName: {
    status: 400,
    services: ["elasticloadbalancing"],
    message: "A load balancer with the same name '<name>' exists, but with different settings",
  },
  DuplicateTargetGroupName: {
    status: 400,
    services: ["elasticloadbalancing"],
    message: "A target group with the same name '<name>' exists, but with different settings",
  },
  DuplicateListener: {
    status: 400,
    services: ["elasticloadbalancing"],
    message: "A listener already exists on this port for this load balancer '<arn>'",
  },
  TooManyLoadBalancers: {
    status: 400,
    services: ["elasticloadbalancing"],
    message: "The quota for the number of load balancers has been reached",
  },
  TooManyTargetGroups: {
    status: 400,
    services: ["elasticloadbalancing"],
    message: "The quota for the number of target groups has been reached, or the limit per action",
  },
  TooManyListeners: {
    status: 400,
    services: ["elasticloadbalancing"],
    message: "You've reached the limit on the number of listeners per load balancer",
  },
  TooManyRules: {
    status: 400,
    services: ["elasticloadbalancing"],
    message: "You've reached the limit on the number of rules per listener",
  },
  TooManyTargets: {
    status: 400,
    services: ["elasticloadbalancing"],
    message: "You've reached the limit on the number of targets per target group",
  },
  TargetGroupAssociationLimit: {
    status: 400,
    services: ["elasticloadbalancing"],
    message:
      "The following target groups cannot be associated with more than one load balancer: <arns>",
  },
  UnsupportedProtocol: {
    status: 400,
    services: ["elasticloadbalancing"],
    message: "<the protocol Berth does not serve>",
  },
  InvalidLoadBalancerAction: {
    status: 400,
    services: ["elasticloadbalancing"],
    message: "<the action type Berth does not serve>",
  },
  // Secrets Manager
  ResourceExistsException: {
    status: 400,
    services: ["secretsmanager"],
    message:
      "The operation failed because the secret <name> already exists., or You can't modify an existing version, you can only create a new version.",
  },
  // Systems Manager Parameter Store
  ParameterNotFound: {
    status: 400,
    services: ["ssm"],
    message: "(none, from GetParameter), or Parameter <name> not found.",
  },
  ParameterAlreadyExists: {
    status: 400,
    services: ["ssm"],
    message:
      "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.",
  },
  ParameterVersionNotFound: {
    status: 400,
    services: ["ssm"],
    message:
      "Systems Manager could not find version <n> of <name>. Verify the version and try again.",
  },
  ParameterPatternMismatchException: {
    status: 400,
    services: ["ssm"],
    message: "Parameter value, cannot be validated against allowedPattern: <pattern>",
  },
  InvalidAllowedPatternException: { status: 400, services: ["ssm"], message: "<why>" },
  HierarchyLevelLimitExceededException: {
    status: 400,
    services: ["ssm"],
    message: "A hierarchy can have a maximum of 15 levels. <...>",
  },
  InvalidResourceId: { status: 400, services: ["ssm"], message: "(none)" },
  InvalidResourceType: { status: 400, services: ["ssm"], message: "(none)" },
  InvalidFilterKey: { status: 400, services: ["ssm"], message: "<the key>" },
  InvalidFilterOption: { status: 400, services: ["ssm"], message: "<the option>" },
  InvalidNextToken: {
    status: 400,
    services: ["ssm"],
    message: "The specified nextToken is invalid.",
  },
  TooManyTagsError: { status: 400, services: ["ssm"], message: "<the limit>" },
  // IAM and STS (Query protocol: the model's codes and statuses)
  NoSuchEntity: {
    status: 404,
    services: ["iam", "sts"],
    message: "The <user|role|policy> with name <name> cannot be found.",
  },
  EntityAlreadyExists: {
    status: 409,
    services: ["iam"],
    message: "<User|Role|Policy> with name <name> already exists.",
  },
  MalformedPolicyDocument: {
    status: 400,
    services: ["iam", "sts"],
    message: "<what is wrong with the policy, in IAM's words>",
  },
  DeleteConflict: {
    status: 409,
    services: ["iam"],
    message: "Cannot delete entity, must <detach all policies|delete access keys> first.",
  },
  InvalidInput: { status: 400, services: ["iam"], message: "<what is wrong>" },
  LimitExceeded: {
    status: 409,
    services: ["iam"],
    message: "Cannot exceed quota for <AccessKeysPerUser|...>: <n>",
  },
} as const satisfies Record<string, AwsErrorSpec>;

export type AwsErrorCode = keyof typeof AWS_ERROR_CODES;

/** The spec of a code (widened, so optional members can be read). */
export function errorSpec(code: AwsErrorCode): AwsErrorSpec {
  return AWS_ERROR_CODES[code];
}

/** The status `service` answers `code` with (its own where it differs, else the code's). */
export function errorStatus(code: AwsErrorCode, service?: string): number {
  const spec = errorSpec(code);
  return (service === undefined ? undefined : spec.statusIn?.[service]) ?? spec.status;
}
