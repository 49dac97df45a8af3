/**
 * The tables Berth keeps, as Kysely sees them. JSON columns hold AWS-shaped documents whose
 * shape the services own; the columns beside them are what queries filter and sort on.
 */
export interface ClusterTable {
  name: string;
  arn: string;
  /** ACTIVE or INACTIVE (deleted clusters stay describable, as in ECS). */
  status: string;
  /** settings, configuration, capacityProviders, defaultCapacityProviderStrategy, ... */
  document: string;
  created_at: number;
  updated_at: number;
}

export interface TaskDefinitionTable {
  family: string;
  revision: number;
  arn: string;
  /** ACTIVE, INACTIVE or DELETE_IN_PROGRESS. */
  status: string;
  /** The TaskDefinition as DescribeTaskDefinition returns it, less status and timestamps. */
  document: string;
  registered_at: number;
  deregistered_at: number | null;
}

export interface TagTable {
  resource_arn: string;
  key: string;
  value: string;
}

export interface IdempotencyTable {
  scope: string;
  token: string;
  request_hash: string;
  response: string;
  created_at: number;
}

export interface Database {
  clusters: ClusterTable;
  task_definitions: TaskDefinitionTable;
  tags: TagTable;
  idempotency: IdempotencyTable;
}
