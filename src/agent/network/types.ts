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
  /**
   * This host's subnet of the cluster, as the control plane allocated it (the task's address is
   * taken inside it); absent (an older server), the network picks one on this host itself.
   */
  subnet?: string;
  /** Made ahead of any task (a prepared sandbox's): its commands run at the lowest CPU priority. */
  background?: boolean;
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
  gateway(clusterArn: string, subnet?: string): Promise<string>;
  /**
   * Releases the task's address and undoes its setup (before its namespace goes); what is
   * already gone is fine. The cluster's network is removed with its last task on this host.
   */
  detach(target: TaskNetworkTarget): Promise<void>;
  /** Every task attached now (a restarted agent releases those it no longer holds). */
  attached(): Promise<TaskAttachment[]>;
  /**
   * Hands the address attached for `preparedId` (a prepared sandbox's) to task `taskId`, which
   * then detaches it as its own. Undefined, and nothing changed, when there is no such
   * attachment or its cluster is no longer on `subnet`. Optional: no prepared sandboxes without.
   */
  claim?(preparedId: string, taskId: string, subnet?: string): Promise<TaskAddress | undefined>;
  /**
   * The cluster networks across hosts as the server last said (the whole list); optional: a
   * network without an overlay keeps each cluster to this host.
   */
  useNetworks?(networks: HostNetworks): Promise<void>;
}

/** What the server pushes: the task address space, this host's address, its clusters' views. */
export interface HostNetworks {
  taskCidr: string;
  address?: string;
  networks: Array<{
    clusterArn: string;
    vni: number;
    block: string;
    subnet: string;
    peers: Array<{ hostId: string; address: string; subnet: string }>;
  }>;
}
