/** What every component shares: the error base, ids and ARNs, the clock, logging. */
export { BerthError, hasCode } from "./errors.js";
export { systemClock, ManualClock, type Clock } from "./clock.js";
export { createLogger, silentLogger, type Logger } from "./log.js";
export {
  cidrSize,
  contains,
  formatCidr,
  formatIpv4,
  overlaps,
  parseCidr,
  parseIpv4,
  subnetsOf,
  type Cidr,
} from "./cidr.js";
export { arn, parseArn, newRequestId, newHexId, type Identity, type Tuple } from "./ids.js";
export { lockDataDir, LOCK_FILE, type DataDirLock } from "./data-dir-lock.js";
export {
  caCertHash,
  ensureCertificateAuthority,
  issueServingCertificate,
  type CertificateAuthority,
} from "./certificate-authority.js";
export { ensurePrivateDir, PRIVATE_DIR, PRIVATE_FILE } from "./private-files.js";
export { readBodyWithin, BodyTooLarge, DRAIN_LIMIT } from "./http-body.js";
export { openMasterKey, MasterKey, MASTER_KEY_FILE, type ValueSealer } from "./sealed-values.js";
export {
  connectionBudget,
  defaultConnectionLimits,
  limitConnections,
  raiseOpenFilesLimit,
  type ConnectionBudget,
  type ConnectionLimits,
} from "./connection-limits.js";
export { SerialPass } from "./serial-pass.js";
export type { ResponseTimeTotals } from "./response-time-totals.js";
