/**
 * Who signed a request: the account's root (the key `berth up` prints), an IAM user, or a role
 * session made by STS AssumeRole. The front door finds the principal with the key; the
 * authorizer decides what it may do.
 */

export type PrincipalKind = "root" | "user" | "assumed-role";

export interface Principal {
  kind: PrincipalKind;
  /** `arn:aws:iam::ACCOUNT:root`, `...:user/NAME`, `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`. */
  arn: string;
  accountId: string;
  /** GetCallerIdentity's UserId: the account id (root), AIDA... (user), AROA...:SESSION (role). */
  userId: string;
  /** The user's or role's name; absent for root. */
  name?: string;
}

export function rootPrincipal(accountId: string): Principal {
  return { kind: "root", arn: `arn:aws:iam::${accountId}:root`, accountId, userId: accountId };
}
