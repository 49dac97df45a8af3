/**
 * A task's awsvpc network interface as ECS shows it: the task's `attachments` entry of type
 * ElasticNetworkInterface (subnetId, networkInterfaceId, macAddress, privateDnsName,
 * privateIPv4Address) and each container's `networkInterfaces`. RunTask creates the attachment
 * PRECREATED; the agent's report of the task's address makes it ATTACHED; it is DETACHING while
 * the task is deprovisioned and DELETED once it has stopped, as ECS shows stopped tasks.
 *
 * Subnets: a task's address comes from its cluster's subnet on its host (the agent's
 * `--task-cidr`), not from a VPC subnet; the `subnets` of `awsvpcConfiguration` are accepted and
 * the first is echoed as the attachment's subnetId (ECS requires them and checks they exist in
 * the VPC; Berth has no VPCs, so it requires none and invents a stable id per cluster).
 */
import { createHash, randomUUID } from "node:crypto";
import type { Attachment, Container, NetworkConfiguration, Task } from "@aws-sdk/client-ecs";
import { statusRank, type TaskNetworkState, type TaskState } from "../protocol/index.js";

export const ENI_ATTACHMENT = "ElasticNetworkInterface";

function hex(text: string, length: number): string {
  return createHash("sha256").update(text).digest("hex").slice(0, length);
}

/** The attachment a new task starts with. */
export function precreatedAttachment(
  clusterArn: string,
  networkConfiguration: NetworkConfiguration | undefined,
): Attachment {
  const subnetId =
    networkConfiguration?.awsvpcConfiguration?.subnets?.[0] ?? `subnet-${hex(clusterArn, 17)}`;
  return {
    id: randomUUID(),
    type: ENI_ATTACHMENT,
    status: "PRECREATED",
    details: [{ name: "subnetId", value: subnetId }],
  };
}

/** EC2's private DNS name of an address: ip-a-b-c-d.ec2.internal in us-east-1. */
function privateDnsName(address: string, region: string): string {
  const domain = region === "us-east-1" ? "ec2.internal" : `${region}.compute.internal`;
  return `ip-${address.replaceAll(".", "-")}.${domain}`;
}

function attachmentStatus(lastStatus: string, network: TaskNetworkState | undefined): string {
  if (lastStatus === "STOPPED") return "DELETED";
  if (statusRank(lastStatus) >= statusRank("DEPROVISIONING")) return "DETACHING";
  return network === undefined ? "PRECREATED" : "ATTACHED";
}

/** Brings the task's ENI attachment and its containers' interfaces up to the reported state. */
export function applyNetworkState(task: Task, state: TaskState): void {
  const attachments = task.attachments ?? [];
  let eni = attachments.find((a) => a.type === ENI_ATTACHMENT);
  if (eni === undefined) {
    // A task stored before task networking existed.
    eni = precreatedAttachment(task.clusterArn ?? "", undefined);
    attachments.push(eni);
    task.attachments = attachments;
  }
  eni.status = attachmentStatus(state.lastStatus, state.network);
  const network = state.network;
  if (network === undefined) return;
  const region = (task.taskArn ?? "").split(":")[3] ?? "us-east-1";
  const subnetId = eni.details?.find((d) => d.name === "subnetId")?.value ?? "";
  eni.details = [
    { name: "subnetId", value: subnetId },
    { name: "networkInterfaceId", value: `eni-${hex(eni.id ?? "", 17)}` },
    { name: "macAddress", value: network.macAddress },
    { name: "privateDnsName", value: privateDnsName(network.privateIPv4Address, region) },
    { name: "privateIPv4Address", value: network.privateIPv4Address },
  ];
  task.containers = (task.containers ?? []).map((container): Container => ({
    ...container,
    networkInterfaces: [{ attachmentId: eni.id, privateIpv4Address: network.privateIPv4Address }],
  }));
}
