/** The contract between the task state machine and whatever gives tasks their network. */

/** A task's place on its cluster's network, as the agent reports it. */
export interface TaskAddress {
  privateIPv4Address: string;
  macAddress: string;
  /** The cluster's subnet on this host (CIDR); the gateway is the host's side of it. */
  subnet: string;
  gateway: string;
}

export interface TaskNetworkTarget {
  taskId: string;
  clusterArn: string;
  /** The task sandbox's network namespace file. */
  netnsPath: string;
}

export interface TaskAttachment {
  taskId: string;
  clusterArn: string;
  address: TaskAddress;
}

export interface TaskNetwork {
  /**
   * Gives the task an address on its cluster's network inside its namespace. Idempotent: a
   * task already attached gets its address back (a restarted agent keeps a task's address).
   */
  attach(target: TaskNetworkTarget): Promise<TaskAddress>;
  /**
   * The gateway (the host's side) tasks of the cluster get on this host, known before their
   * attach finishes (the metadata endpoint's address is in a container's environment).
   */
  gateway(clusterArn: string): Promise<string>;
  /**
   * Releases the task's address and undoes its setup (before its namespace goes); what is
   * already gone is fine. The cluster's network is removed with its last task on this host.
   */
  detach(target: TaskNetworkTarget): Promise<void>;
  /** Every task attached now (a restarted agent releases those it no longer holds). */
  attached(): Promise<TaskAttachment[]>;
}
