/**
 * The AWS managed policies Berth knows, for AttachUserPolicy / AttachRolePolicy with their
 * usual ARNs. Their documents keep to the actions Berth serves.
 */
export interface ManagedPolicyDefinition {
  arn: string;
  name: string;
  path: string;
  document: string;
}

function policy(path: string, name: string, statements: object[]): ManagedPolicyDefinition {
  return {
    arn: `arn:aws:iam::aws:policy${path}${name}`,
    name,
    path,
    document: JSON.stringify({ Version: "2012-10-17", Statement: statements }),
  };
}

export const AWS_MANAGED_POLICIES: readonly ManagedPolicyDefinition[] = [
  policy("/", "AdministratorAccess", [{ Effect: "Allow", Action: "*", Resource: "*" }]),
  policy("/", "AmazonECS_FullAccess", [
    {
      Effect: "Allow",
      Action: [
        "ecs:*",
        "ecr:*",
        "logs:*",
        "elasticloadbalancing:*",
        "application-autoscaling:*",
        "iam:PassRole",
      ],
      Resource: "*",
    },
  ]),
  policy("/", "AmazonEC2ContainerRegistryReadOnly", [
    {
      Effect: "Allow",
      Action: [
        "ecr:GetAuthorizationToken",
        "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer",
        "ecr:GetRepositoryPolicy",
        "ecr:DescribeRepositories",
        "ecr:ListImages",
        "ecr:DescribeImages",
        "ecr:BatchGetImage",
      ],
      Resource: "*",
    },
  ]),
  policy("/service-role/", "AmazonECSTaskExecutionRolePolicy", [
    {
      Effect: "Allow",
      Action: [
        "ecr:GetAuthorizationToken",
        "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchGetImage",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
      ],
      Resource: "*",
    },
  ]),
];

export function awsManagedPolicy(arn: string): ManagedPolicyDefinition | undefined {
  return AWS_MANAGED_POLICIES.find((p) => p.arn === arn);
}
